DROP INDEX connections_verify_idx;
ALTER TABLE connections DROP COLUMN verified_at;
