-- Caller lookup: the firm's users' phone numbers (the staff a call is handed to), and the keys a
-- phone receptionist looks callers up with instead of a user's full token.
ALTER TABLE clio_users ADD COLUMN phone_number TEXT;

CREATE TABLE lookup_keys (
    id             BIGSERIAL PRIMARY KEY,
    -- The key looks up callers of this connection's firm only.
    connection_id  BIGINT NOT NULL REFERENCES connections (id),
    created_by     BIGINT NOT NULL REFERENCES users (id),
    name           TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- SHA-256 of the key. The key itself is shown once and never stored.
    key_hash       BYTEA NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    -- Its first characters, so a list can tell keys apart.
    key_prefix     TEXT NOT NULL,
    -- The key's budget: lookups per minute, as a token bucket.
    per_minute     INTEGER NOT NULL CHECK (per_minute BETWEEN 1 AND 1000000),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX lookup_keys_connection_idx ON lookup_keys (connection_id);
