DROP TABLE queue_progress;
DROP TABLE console_sessions;
DROP TABLE dead_letter_history;
ALTER TABLE dead_letters DROP COLUMN headers;
DROP INDEX dead_letters_connection_idx;
DROP INDEX dead_letters_failed_id_idx;
CREATE INDEX dead_letters_failed_idx ON dead_letters (last_failed_at);
DROP INDEX dead_letters_error_trgm_idx;
DROP INDEX dead_letters_reason_trgm_idx;
