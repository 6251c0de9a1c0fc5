-- Event-driven jobs (airflow_provider_enterprise.events.ledger): one row per message read from a stream, whatever
-- became of it. `admitted`: it started the job run `job_run_id` (at most one admitted message per idempotency key,
-- the exactly-once guard); `duplicate`: its key was admitted before, for the same job; `dead_letter`: it could not
-- become a job (`reason` says why). `dag_id`/`run_id` name the run of the queue-fed DAG that read it. The stream
-- is read on from its newest recorded message (Redis ids are <milliseconds>-<sequence>, ordered by the numbers).

CREATE TABLE enterprise_event_messages (
    stream          TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('admitted', 'duplicate', 'dead_letter')),
    idempotency_key TEXT,
    conf_digest     TEXT,
    job_run_id      TEXT,
    reason          TEXT,
    dag_id          TEXT NOT NULL,
    run_id          TEXT NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    id_ms           BIGINT GENERATED ALWAYS AS (split_part(message_id, '-', 1)::bigint) STORED,
    id_seq          BIGINT GENERATED ALWAYS AS (split_part(message_id, '-', 2)::bigint) STORED,
    PRIMARY KEY (stream, message_id),
    CHECK ((status = 'dead_letter') = (reason IS NOT NULL)),
    CHECK (status = 'dead_letter' OR (idempotency_key IS NOT NULL AND job_run_id IS NOT NULL))
);

CREATE UNIQUE INDEX enterprise_event_messages_admitted_key
    ON enterprise_event_messages (idempotency_key) WHERE status = 'admitted';
CREATE INDEX enterprise_event_messages_position ON enterprise_event_messages (stream, id_ms, id_seq);
CREATE INDEX enterprise_event_messages_received ON enterprise_event_messages (received_at);
