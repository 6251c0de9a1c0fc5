"""Operating an installation: health checks, the audit trail, registry retention, task placement, policies."""
