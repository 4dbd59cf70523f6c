DROP INDEX activities_due_idx;
ALTER TABLE activities
    DROP COLUMN due_at,
    DROP COLUMN attempts,
    DROP COLUMN parked,
    DROP COLUMN lease_until,
    DROP COLUMN write_sent_at,
    DROP COLUMN written_at;
