DROP INDEX sync_queue_group_due_idx;
