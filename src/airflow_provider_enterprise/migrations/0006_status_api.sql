-- Where a cluster-mode application's status can be read and the application stopped: {"backend", "url",
-- "conn_id"} (no credentials). The reconciliation sweep stops the application of an attempt whose task
-- instance ended without it (marked failed while deferred, before a triggerer ran its trigger).

ALTER TABLE enterprise_job_attempts ADD COLUMN status_api JSONB;
