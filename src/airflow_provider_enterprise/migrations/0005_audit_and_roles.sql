-- The audit trail and least privilege.
--
-- Every attempt records who or what triggered its DAG run and which inputs it read. When the attempt finishes
-- (the operator, or the reconciliation sweep for a task that died), a trigger appends exactly one audit event
-- in the same transaction: who, what was read and written (paths, row counts), when, and the outcome.
-- Audit events have no foreign key: they outlive the jobs they describe.
--
-- enterprise_app is the role the application connects as (grant it to a login role): it reads and writes the
-- registry but cannot change its schema, and can only read and append audit events. Migrations run as the
-- database's owner (`enterprise-orchestrator migrate`), which needs CREATEROLE the first time, or the role
-- created beforehand (docs/security.md).

ALTER TABLE enterprise_job_attempts ADD COLUMN triggered_by TEXT;
ALTER TABLE enterprise_job_attempts ADD COLUMN run_type TEXT;
ALTER TABLE enterprise_job_attempts ADD COLUMN inputs JSONB;

CREATE TABLE enterprise_audit_events (
    audit_id      BIGSERIAL PRIMARY KEY,
    attempt_id    BIGINT NOT NULL UNIQUE,
    job_id        BIGINT NOT NULL,
    dag_id        TEXT NOT NULL,
    run_id        TEXT NOT NULL,
    task_id       TEXT NOT NULL,
    map_index     INTEGER NOT NULL,
    try_number    INTEGER NOT NULL,
    job_name      TEXT NOT NULL,
    triggered_by  TEXT NOT NULL,
    run_type      TEXT,
    engine        TEXT,
    hostname      TEXT,
    inputs        JSONB NOT NULL,
    rows_in       BIGINT,
    output_path   TEXT,
    rows_out      BIGINT,
    bad_rows      BIGINT,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ NOT NULL,
    outcome       TEXT NOT NULL,
    error_class   TEXT,
    recorded_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX enterprise_audit_events_recorded ON enterprise_audit_events (recorded_at DESC, audit_id DESC);
CREATE INDEX enterprise_audit_events_user ON enterprise_audit_events (triggered_by);

CREATE FUNCTION enterprise_audit_finished_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO enterprise_audit_events (
        attempt_id, job_id, dag_id, run_id, task_id, map_index, try_number, job_name, triggered_by, run_type,
        engine, hostname, inputs, rows_in, output_path, rows_out, bad_rows, started_at, finished_at, outcome,
        error_class)
    SELECT NEW.attempt_id, j.job_id, j.dag_id, j.run_id, j.task_id, j.map_index, NEW.try_number, j.job_name,
           COALESCE(NEW.triggered_by, NEW.run_type, 'unknown'), NEW.run_type, NEW.engine, NEW.hostname,
           COALESCE(NEW.inputs, '[]'::jsonb), NEW.rows_in, COALESCE(NEW.output_path, NEW.spec ->> 'output_path'),
           NEW.rows_out, NEW.bad_rows, NEW.started_at, NEW.finished_at, NEW.status, NEW.error_class
    FROM enterprise_jobs j WHERE j.job_id = NEW.job_id
    ON CONFLICT (attempt_id) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER enterprise_audit_finished_attempt
    AFTER UPDATE OF status ON enterprise_job_attempts
    FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status <> 'running')
    EXECUTE FUNCTION enterprise_audit_finished_attempt();

-- The application role's rights; run again (as the owner) after creating enterprise_app by hand.
CREATE FUNCTION enterprise_grant_app_role() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO enterprise_app', current_schema());
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO enterprise_app', current_schema());
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO enterprise_app', current_schema());
    -- tables and sequences later migrations create get the same rights (an append-only one revokes its own)
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES'
                   ' TO enterprise_app', current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE ON SEQUENCES TO enterprise_app',
                   current_schema());
    REVOKE ALL ON enterprise_audit_events FROM enterprise_app;
    GRANT SELECT, INSERT ON enterprise_audit_events TO enterprise_app;
    REVOKE ALL ON enterprise_schema_migrations FROM enterprise_app;
    GRANT SELECT ON enterprise_schema_migrations TO enterprise_app;
END
$$;

REVOKE ALL ON enterprise_audit_events, enterprise_schema_migrations FROM PUBLIC;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'enterprise_app') THEN
        BEGIN
            CREATE ROLE enterprise_app NOLOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'role enterprise_app not created: % may not create roles. Create it '
                '(CREATE ROLE enterprise_app NOLOGIN), then run SELECT enterprise_grant_app_role() as %',
                current_user, current_user;
            RETURN;
        END;
    END IF;
    PERFORM enterprise_grant_app_role();
END
$$;
