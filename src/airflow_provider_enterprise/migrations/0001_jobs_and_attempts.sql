-- Jobs and their attempts. A job is one Airflow task instance identity (dag_id, run_id, task_id, map_index);
-- every try of it (retry, clear, replay) is an attempt. A job's status is its latest attempt's status.

CREATE TABLE enterprise_jobs (
    job_id      BIGSERIAL PRIMARY KEY,
    dag_id      TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    map_index   INTEGER NOT NULL DEFAULT -1,
    job_name    TEXT NOT NULL,
    job_type    TEXT NOT NULL,
    priority    TEXT NOT NULL DEFAULT 'normal',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT enterprise_jobs_job_key UNIQUE (dag_id, run_id, task_id, map_index)
);

CREATE TABLE enterprise_job_attempts (
    attempt_id       BIGSERIAL PRIMARY KEY,
    job_id           BIGINT NOT NULL REFERENCES enterprise_jobs (job_id) ON DELETE CASCADE,
    try_number       INTEGER NOT NULL CHECK (try_number >= 0),  -- `airflow tasks test` runs try 0
    status           TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    engine           TEXT,
    external_id      TEXT,
    hostname         TEXT,
    spec             JSONB,
    started_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at      TIMESTAMPTZ,
    rows_in          BIGINT,
    rows_out         BIGINT,
    output_path      TEXT,
    error_class      TEXT,
    error_message    TEXT,
    CONSTRAINT enterprise_job_attempts_attempt_key UNIQUE (job_id, try_number),
    CONSTRAINT enterprise_job_attempts_finished CHECK ((status = 'running') = (finished_at IS NULL))
);

CREATE INDEX enterprise_job_attempts_running ON enterprise_job_attempts (heartbeat_at) WHERE status = 'running';
CREATE INDEX enterprise_jobs_created ON enterprise_jobs (created_at DESC);

CREATE VIEW enterprise_job_status AS
SELECT j.*,
       COALESCE(a.status, 'registered') AS status,
       a.try_number AS latest_try_number,
       a.attempt_id AS latest_attempt_id,
       (SELECT count(*) FROM enterprise_job_attempts c WHERE c.job_id = j.job_id) AS attempt_count
FROM enterprise_jobs j
LEFT JOIN LATERAL (
    SELECT status, try_number, attempt_id
    FROM enterprise_job_attempts
    WHERE job_id = j.job_id
    ORDER BY try_number DESC
    LIMIT 1
) a ON TRUE;
