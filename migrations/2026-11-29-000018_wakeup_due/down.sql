DROP TRIGGER sync_queue_wakeup_insert ON sync_queue;
DROP TRIGGER sync_queue_wakeup_update ON sync_queue;
DROP FUNCTION matterhook_notify_due();
CREATE TRIGGER sync_queue_wakeup AFTER INSERT OR UPDATE ON sync_queue
    FOR EACH STATEMENT EXECUTE FUNCTION matterhook_notify('matterhook_sync_queue');
