-- matterhook's own users: the lawyers and support staff who call our API.
CREATE TABLE users (
    id          BIGSERIAL PRIMARY KEY,
    email       TEXT NOT NULL CHECK (email = lower(btrim(email)) AND email LIKE '%_@_%'),
    -- SHA-256 of the API token. The token itself is shown once and never stored.
    token_hash  BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    is_admin    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- One user's link to one Clio user (several of our users may connect the same Clio firm).
CREATE TABLE connections (
    id                 BIGSERIAL PRIMARY KEY,
    user_id            BIGINT NOT NULL REFERENCES users (id),
    region             TEXT NOT NULL CHECK (region IN ('us', 'eu', 'ca', 'au')),
    clio_user_id       BIGINT NOT NULL,
    clio_account_id    BIGINT NOT NULL,
    account_name       TEXT NOT NULL,
    -- AES-256-GCM ciphertexts (nonce || ciphertext || tag); NULL once disconnected.
    access_token_enc   BYTEA,
    refresh_token_enc  BYTEA,
    token_expires_at   TIMESTAMPTZ,
    status             TEXT NOT NULL DEFAULT 'connected'
                       CHECK (status IN ('connected', 'needs_reauth', 'disconnected')),
    last_synced_at     TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Reconnecting the same Clio user finds and resumes this row.
    UNIQUE (user_id, region, clio_user_id)
);
CREATE INDEX connections_account_idx ON connections (region, clio_account_id);
