-- The batcher looks for due work after every batch: each (connection, model) group with queued
-- rows, and its oldest row. This index answers both with one probe per group (a skip scan), so
-- the look-up costs the number of groups with work, not the size of the backlog.
CREATE INDEX sync_queue_group_due_idx ON sync_queue (connection_id, model, due_at);
