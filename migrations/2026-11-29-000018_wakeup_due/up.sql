-- A sync_queue wake-up says when the earliest row it wrote falls due (microseconds since the
-- epoch): a batcher already waking earlier need not look at the queue at all, which under a burst
-- of webhooks (one notification per handled event) saved it a query or two per event.
DROP TRIGGER sync_queue_wakeup ON sync_queue;

CREATE FUNCTION matterhook_notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    earliest timestamptz;
BEGIN
    SELECT min(due_at) INTO earliest FROM written;
    IF earliest IS NOT NULL THEN
        PERFORM pg_notify(TG_ARGV[0],
            (floor(extract(epoch FROM earliest) * 1000000))::bigint::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER sync_queue_wakeup_insert AFTER INSERT ON sync_queue
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION matterhook_notify_due('matterhook_sync_queue');
CREATE TRIGGER sync_queue_wakeup_update AFTER UPDATE ON sync_queue
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION matterhook_notify_due('matterhook_sync_queue');
