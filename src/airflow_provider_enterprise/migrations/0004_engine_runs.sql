-- Where an attempt ran: the `auto` routing decision (engine, reason, the cost model's numbers) and, set as
-- soon as a Spark application is submitted, its external id (so a retry can re-attach instead of resubmitting).

ALTER TABLE enterprise_job_attempts ADD COLUMN routing JSONB;
CREATE INDEX enterprise_job_attempts_external_id ON enterprise_job_attempts (job_id, external_id)
    WHERE external_id IS NOT NULL;
