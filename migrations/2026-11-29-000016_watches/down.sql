ALTER TABLE users DROP COLUMN last_login_at;
DELETE FROM jobs WHERE kind = 'watches_sync';
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('crm_projection'));
DROP TABLE watch_changes;
DROP TABLE watches;
