"""Event-driven jobs: job submissions as messages on a stream, through an asset watcher (docs/events.md)."""
