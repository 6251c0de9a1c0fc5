-- Malformed input rows: how many each attempt found (dropped or quarantined beside the output).

ALTER TABLE enterprise_job_attempts ADD COLUMN bad_rows BIGINT CHECK (bad_rows >= 0);
