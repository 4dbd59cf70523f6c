-- The Clio user's own time zone (who_am_i), the default of time-zone-dependent settings.
ALTER TABLE connections ADD COLUMN clio_time_zone TEXT;

-- Per-connection settings: one typed document (matterhook_domain::settings), validated before it
-- is stored; absent sections and keys take their defaults.
CREATE TABLE connection_settings (
    connection_id  BIGINT PRIMARY KEY REFERENCES connections (id),
    document       JSONB NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by     BIGINT NOT NULL REFERENCES users (id)
);

-- Every change to a connection's settings: who, when, before and after.
CREATE TABLE connection_settings_history (
    id             BIGSERIAL PRIMARY KEY,
    connection_id  BIGINT NOT NULL REFERENCES connections (id),
    changed_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    changed_by     BIGINT NOT NULL REFERENCES users (id),
    before         JSONB NOT NULL,
    after          JSONB NOT NULL
);
CREATE INDEX connection_settings_history_idx ON connection_settings_history (connection_id, id);

-- Review requests: one per (connection, matter, status trigger); manual ones as often as asked.
CREATE TABLE review_requests (
    id                       BIGSERIAL PRIMARY KEY,
    connection_id            BIGINT NOT NULL REFERENCES connections (id),
    clio_account_id          BIGINT NOT NULL,
    matter_id                BIGINT NOT NULL,
    trigger                  TEXT NOT NULL CHECK (trigger IN ('closed', 'pending', 'open', 'manual')),
    -- When the matter entered the trigger status (or the button was pressed).
    triggered_at             TIMESTAMPTZ NOT NULL,
    due_at                   TIMESTAMPTZ NOT NULL,
    state                    TEXT NOT NULL CHECK (state IN ('scheduled', 'due', 'sent', 'restricted', 'cancelled')),
    -- Why a request is restricted or cancelled.
    reason                   TEXT,
    CHECK ((reason IS NULL) = (state IN ('scheduled', 'due', 'sent'))),
    client_id                BIGINT,
    first_name               TEXT,
    last_name                TEXT,
    email                    TEXT,
    phone                    TEXT,
    location                 TEXT,
    business_id              TEXT,
    display_number           TEXT,
    responsible_attorney_id  BIGINT,
    -- A manual request made past the cooldown on purpose.
    forced                   BOOLEAN NOT NULL DEFAULT false,
    created_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at                  TIMESTAMPTZ
);
CREATE UNIQUE INDEX review_requests_once_idx ON review_requests (connection_id, matter_id, trigger)
    WHERE trigger <> 'manual';
CREATE INDEX review_requests_due_idx ON review_requests (due_at) WHERE state = 'scheduled';
CREATE INDEX review_requests_list_idx ON review_requests (connection_id, state, id);
-- The cooldown: the last request that went (or will go) to a client.
CREATE INDEX review_requests_client_idx ON review_requests (connection_id, client_id)
    INCLUDE (state, due_at, sent_at);

-- A due request's notification points at it (one per request, unlike a connection's alerts).
ALTER TABLE notifications ADD COLUMN review_request_id BIGINT REFERENCES review_requests (id);

-- The daily reconciliation's progress per connection: the last local day it covered.
CREATE TABLE review_reconciliations (
    connection_id  BIGINT PRIMARY KEY REFERENCES connections (id),
    covered_day    DATE NOT NULL,
    ran_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
