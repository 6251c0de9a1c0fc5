-- Resilience: the retry decision of each attempt, circuit breakers shared by all workers, dead letters.

ALTER TABLE enterprise_job_attempts ADD COLUMN retry_decision TEXT;
ALTER TABLE enterprise_job_attempts ADD COLUMN pid INTEGER;  -- the task process, for operators and chaos tests

-- Times are epoch seconds from the caller's clock (injectable in tests), not the server's now().
CREATE TABLE enterprise_circuit_breakers (
    name                  TEXT PRIMARY KEY,
    state                 TEXT NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open')),
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    total_failures        BIGINT NOT NULL DEFAULT 0,
    total_successes       BIGINT NOT NULL DEFAULT 0,
    generation            BIGINT NOT NULL DEFAULT 0,   -- bumped on every state change; stale permits are ignored
    opened_at             DOUBLE PRECISION,
    probe_leases          JSONB NOT NULL DEFAULT '{}', -- half-open probe token -> lease expiry
    probe_successes       INTEGER NOT NULL DEFAULT 0,
    updated_at            DOUBLE PRECISION NOT NULL
);

CREATE TABLE enterprise_dead_letters (
    dead_letter_id     BIGSERIAL PRIMARY KEY,
    job_id             BIGINT NOT NULL REFERENCES enterprise_jobs (job_id) ON DELETE CASCADE,
    try_number         INTEGER NOT NULL,
    dag_id             TEXT NOT NULL,
    run_id             TEXT NOT NULL,
    task_id            TEXT NOT NULL,
    map_index          INTEGER NOT NULL,
    spec               JSONB,
    error_class        TEXT NOT NULL,
    error_message      TEXT NOT NULL,
    traceback          TEXT,
    attempt_count      INTEGER NOT NULL,
    first_failure_at   TIMESTAMPTZ NOT NULL,
    last_failure_at    TIMESTAMPTZ NOT NULL,
    status             TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed', 'superseded', 'discarded')),
    replay_run_id      TEXT,
    replayed_at        TIMESTAMPTZ,
    resolved_at        TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT enterprise_dead_letters_final_failure UNIQUE (job_id, try_number)
);

CREATE INDEX enterprise_dead_letters_open ON enterprise_dead_letters (created_at) WHERE status = 'open';
