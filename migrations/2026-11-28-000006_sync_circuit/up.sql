-- A per-connection circuit for the sync stage's reads: consecutive failed reads (Clio's 5xx,
-- timeouts) of a connection; at the threshold its reads pause (`sync_not_before`) and then
-- half-open with one probe.
ALTER TABLE connections ADD COLUMN sync_failures INTEGER NOT NULL DEFAULT 0;
