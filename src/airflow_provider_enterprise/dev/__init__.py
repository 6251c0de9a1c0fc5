"""Development defaults: the embedded PostgreSQL and the bundled sample data."""
