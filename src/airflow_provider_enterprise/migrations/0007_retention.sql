-- Retention (airflow_provider_enterprise.retention): the purge walks old jobs in (created_at, job_id) order, a
-- batch at a time, each batch starting where the last ended. This index serves that walk and, read backwards,
-- the newest-first job listings the created_at index served.

CREATE INDEX enterprise_jobs_created_id ON enterprise_jobs (created_at, job_id);
DROP INDEX enterprise_jobs_created;
