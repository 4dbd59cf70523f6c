-- Domain events the relay has published, kept for a while (72 hours, purged by the relay): after
-- a loss of RabbitMQ's data, `matterhook outbox republish --since` publishes them again, and
-- consumers skip the ones they had applied (processed_events). The outbox itself stays small:
-- the relay moves each row here in the transaction that would have deleted it.
CREATE TABLE outbox_published (
    id           BIGINT PRIMARY KEY,
    routing_key  TEXT NOT NULL,
    message      JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX outbox_published_at_idx ON outbox_published (published_at, id);
