-- Single-use OAuth states: one per connect started, bound to the user who started it and the
-- region they chose. Only a hash is stored, so a leaked table cannot finish anyone's flow.
CREATE TABLE oauth_states (
    state_hash  BYTEA PRIMARY KEY CHECK (octet_length(state_hash) = 32),
    user_id     BIGINT NOT NULL REFERENCES users (id),
    region      TEXT NOT NULL CHECK (region IN ('us', 'eu', 'ca', 'au')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX oauth_states_expires_idx ON oauth_states (expires_at);

-- Bumped whenever the access token changes: a caller that got a 401 refreshes only if the token
-- it used is still the current one, so a burst of 401s costs one refresh.
ALTER TABLE connections ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN clio_user_name TEXT;
ALTER TABLE connections ADD COLUMN status_reason TEXT;
ALTER TABLE connections ADD COLUMN disconnected_at TIMESTAMPTZ;

-- What a user should know about their connections (a refresh that failed, ...).
CREATE TABLE notifications (
    id             BIGSERIAL PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id),
    connection_id  BIGINT REFERENCES connections (id),
    kind           TEXT NOT NULL,
    message        TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    read_at        TIMESTAMPTZ
);
-- One unread notification of a kind per connection: a refresh failing again adds nothing.
CREATE UNIQUE INDEX notifications_unread_key ON notifications (connection_id, kind)
    WHERE read_at IS NULL;
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at);

-- The public base URL a subscription was created under: when MATTERHOOK_PUBLIC_URL changes, the
-- renewal task moves every subscription whose base differs.
ALTER TABLE webhook_subscriptions ADD COLUMN public_url TEXT NOT NULL DEFAULT '';
-- When Clio last confirmed the webhook enabled and unexpired: the start of any gap found later.
ALTER TABLE webhook_subscriptions ADD COLUMN checked_at TIMESTAMPTZ;
-- Why a subscription was deleted (disconnected, expired, suspended, moved, ...).
ALTER TABLE webhook_subscriptions ADD COLUMN deleted_reason TEXT;
CREATE INDEX webhook_subscriptions_live_idx ON webhook_subscriptions (connection_id, model)
    WHERE status <> 'deleted';

-- A request to re-read a connection's records changed since `since`: webhooks may have missed
-- them (a lapsed or suspended webhook, a reconnect). The sweep task takes and completes them.
CREATE TABLE sweep_requests (
    id             BIGSERIAL PRIMARY KEY,
    connection_id  BIGINT NOT NULL REFERENCES connections (id),
    model          TEXT NOT NULL CHECK (model IN ('matter', 'contact', 'bill')),
    since          TIMESTAMPTZ NOT NULL,
    reason         TEXT NOT NULL,
    requested_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    done_at        TIMESTAMPTZ
);
CREATE INDEX sweep_requests_pending_idx ON sweep_requests (connection_id) WHERE done_at IS NULL;
