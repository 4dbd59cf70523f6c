DROP TRIGGER outbox_wakeup ON outbox;
DROP TRIGGER sync_queue_wakeup ON sync_queue;
DROP FUNCTION matterhook_notify();
