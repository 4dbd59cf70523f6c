-- Wake-ups: writing work for the batcher (sync_queue) or the relay (outbox) notifies a channel,
-- delivered when the transaction commits and folded into one per transaction and channel. The
-- batcher and the relay sleep until then instead of polling (matterhook_store::wakeups).
CREATE FUNCTION matterhook_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_ARGV[0], '');
    RETURN NULL;
END
$$;

CREATE TRIGGER sync_queue_wakeup AFTER INSERT OR UPDATE ON sync_queue
    FOR EACH STATEMENT EXECUTE FUNCTION matterhook_notify('matterhook_sync_queue');
CREATE TRIGGER outbox_wakeup AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION matterhook_notify('matterhook_outbox');
