-- The writeback worker's schedule. Each connection's queued activities are written in its own
-- lane, paced to its token's budget; the table is the queue, so a token waiting for Clio's rate
-- window holds no broker delivery and slows no other connection.
--
-- Clio has no idempotency key, so each activity is written exactly once by: a lease (two workers
-- never write one activity at once), and the time a write went out whose answer was never seen
-- (the next attempt then looks for the activity's marker in Clio before writing again).
ALTER TABLE activities
    ADD COLUMN due_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- Waiting for its connection to be reauthorized (not due until then).
    ADD COLUMN parked        BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN lease_until   TIMESTAMPTZ,
    ADD COLUMN write_sent_at TIMESTAMPTZ,
    ADD COLUMN written_at    TIMESTAMPTZ;
CREATE INDEX activities_due_idx ON activities (connection_id, due_at, id)
    WHERE state = 'queued' AND NOT parked;
