"""The registry's schema: the packaged SQL migrations, applied in order under an advisory lock."""

from __future__ import annotations

from importlib import resources

from airflow_provider_enterprise.registry.connection import RegistryConnection, reconnecting

#: Key of the transaction-level advisory lock that serialises migration runs.
MIGRATION_LOCK_KEY = 7_346_108_413


def migration_files() -> list[tuple[str, str]]:
    """Return ``(version, sql)`` for every packaged migration, in version order."""
    folder = resources.files("airflow_provider_enterprise.migrations")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name.removesuffix(".sql"), f.read_text()) for f in files]


class RegistryMigrations(RegistryConnection):
    """Apply and list the registry's schema migrations."""

    @reconnecting
    def migrate(self) -> list[str]:
        """
        Apply pending migrations in one transaction under an advisory lock.

        A concurrent run waits for the lock, then finds nothing left to apply.

        :return: the versions applied by this call.
        """
        applied: list[str] = []
        with self.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            cur.execute("SELECT to_regclass('enterprise_schema_migrations') IS NOT NULL")
            if not cur.fetchone()[0]:  # checked first: the application role may not create tables
                cur.execute(
                    "CREATE TABLE enterprise_schema_migrations ("
                    " version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
            cur.execute("SELECT version FROM enterprise_schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for version, sql in migration_files():
                if version in done:
                    continue
                cur.execute(sql)
                cur.execute("INSERT INTO enterprise_schema_migrations (version) VALUES (%s)", (version,))
                applied.append(version)
        if applied:
            self.log.info("Applied registry migrations %s", ", ".join(applied))
        return applied

    @reconnecting
    def applied_migrations(self) -> list[str]:
        """Return the versions already applied (empty on a fresh database)."""
        with self.transaction() as cur:
            cur.execute("SELECT to_regclass('enterprise_schema_migrations') IS NOT NULL")
            if not cur.fetchone()[0]:
                return []
            cur.execute("SELECT version FROM enterprise_schema_migrations ORDER BY version")
            return [row[0] for row in cur.fetchall()]
