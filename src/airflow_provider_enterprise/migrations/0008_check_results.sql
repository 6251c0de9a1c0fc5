-- Data-quality checks (airflow_provider_enterprise.check_results): one row per check per attempt, written when the
-- attempt ends (a failed `fail` check fails the attempt, and its rows say which). `observed` is the measured value
-- (failing rows, rows, the newest timestamp, the columns) the next run's row_count change is judged against.

CREATE TABLE enterprise_check_results (
    attempt_id   BIGINT NOT NULL REFERENCES enterprise_job_attempts (attempt_id) ON DELETE CASCADE,
    position     INTEGER NOT NULL CHECK (position >= 0),  -- the check's place in the spec's checks
    check_name   TEXT NOT NULL,
    check_type   TEXT NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('warn', 'fail')),
    target       TEXT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('passed', 'warned', 'failed')),
    observed     JSONB,
    failing_rows BIGINT CHECK (failing_rows >= 0),
    message      TEXT NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (attempt_id, check_name)
);
