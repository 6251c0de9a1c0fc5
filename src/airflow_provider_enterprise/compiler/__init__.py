"""Compile a ProcessingLogic into an engine's plan."""
