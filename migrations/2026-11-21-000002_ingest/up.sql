-- One Clio webhook of one connection. Clio delivers to /webhooks/clio/{token}: the URL names the
-- subscription, so neither the handshake nor a delivery needs anything from the body to find it.
CREATE TABLE webhook_subscriptions (
    id               BIGSERIAL PRIMARY KEY,
    -- 256 random bits, URL-safe base64.
    token            TEXT NOT NULL UNIQUE CHECK (length(token) >= 22),
    connection_id    BIGINT NOT NULL REFERENCES connections (id),
    -- Known once Clio has answered the create call (the handshake may arrive first).
    clio_webhook_id  BIGINT,
    model            TEXT NOT NULL CHECK (model IN ('matter', 'contact', 'bill')),
    events           TEXT[] NOT NULL CHECK (cardinality(events) > 0),
    fields           TEXT NOT NULL,
    -- AES-256-GCM of the X-Hook-Secret the handshake carried; NULL until then.
    secret_enc       BYTEA,
    status           TEXT NOT NULL DEFAULT 'awaiting_handshake'
                     CHECK (status IN ('awaiting_handshake', 'active', 'deleted')),
    expires_at       TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (status <> 'active' OR secret_enc IS NOT NULL)
);
CREATE INDEX webhook_subscriptions_connection_idx ON webhook_subscriptions (connection_id);

-- Idempotency: a consumer's effect and this row commit in one transaction, so a redelivered
-- event has no second effect.
CREATE TABLE processed_events (
    consumer      TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    processed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX processed_events_age_idx ON processed_events (processed_at);

-- Every message a worker gave up on, for support staff to inspect and replay.
CREATE TABLE dead_letters (
    id               BIGSERIAL PRIMARY KEY,
    -- The dead-lettering's own id: recording the same dead letter twice is a no-op.
    dead_letter_id   TEXT NOT NULL UNIQUE,
    queue            TEXT NOT NULL,
    routing_key      TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    envelope         JSONB NOT NULL,
    model            TEXT,
    event            TEXT,
    connection_id    BIGINT,
    reason           TEXT NOT NULL,
    error            TEXT NOT NULL,
    attempts         INT NOT NULL CHECK (attempts >= 1),
    first_failed_at  TIMESTAMPTZ NOT NULL,
    last_failed_at   TIMESTAMPTZ NOT NULL,
    state            TEXT NOT NULL DEFAULT 'dead' CHECK (state IN ('dead', 'replayed', 'discarded')),
    replays          INT NOT NULL DEFAULT 0,
    state_changed_by TEXT,
    state_changed_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_state_idx ON dead_letters (state, id);
CREATE INDEX dead_letters_queue_idx ON dead_letters (queue, id);
CREATE INDEX dead_letters_failed_idx ON dead_letters (last_failed_at);

-- Who replayed or discarded what, and how many.
CREATE TABLE dead_letter_actions (
    id        BIGSERIAL PRIMARY KEY,
    action    TEXT NOT NULL CHECK (action IN ('replay', 'discard')),
    actor     TEXT NOT NULL,
    selection JSONB NOT NULL,
    count     INT NOT NULL,
    at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- What the journal worker (the first consumer on the ingest runtime) records: one row per Clio
-- event, so support can answer "did we receive it?".
CREATE TABLE event_journal (
    event_id         TEXT PRIMARY KEY,
    subscription_id  BIGINT NOT NULL,
    connection_id    BIGINT NOT NULL,
    model            TEXT NOT NULL,
    event            TEXT NOT NULL,
    record_id        BIGINT,
    received_at      TIMESTAMPTZ NOT NULL,
    recorded_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
