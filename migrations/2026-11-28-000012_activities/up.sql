-- Activities a user posts for writeback to Clio: each is kept with the answer it got, so the
-- same Idempotency-Key returns it again, and with what became of it in Clio.
CREATE TABLE activities (
    id               BIGSERIAL PRIMARY KEY,
    user_id          BIGINT NOT NULL REFERENCES users (id),
    connection_id    BIGINT NOT NULL REFERENCES connections (id),
    -- The caller's Idempotency-Key, and the SHA-256 of the body it came with.
    idempotency_key  TEXT NOT NULL,
    request_hash     BYTEA NOT NULL CHECK (octet_length(request_hash) = 32),
    clio_account_id  BIGINT NOT NULL,
    contact_id       BIGINT NOT NULL,
    matter_id        BIGINT,
    -- email, note, call, card or text.
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    occurred_at      TIMESTAMPTZ NOT NULL,
    -- inbound or outbound (email, call and text).
    direction        TEXT,
    -- queued, written, skipped or failed.
    state            TEXT NOT NULL DEFAULT 'queued',
    -- What it became in Clio: note or communication, and its id.
    clio_record      TEXT,
    clio_id          BIGINT,
    -- Why it failed or was skipped, and the dead letter when there is one.
    reason           TEXT,
    dead_letter_id   BIGINT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX activities_contact_idx ON activities (user_id, contact_id, id);
CREATE INDEX activities_state_idx ON activities (user_id, state, id);
