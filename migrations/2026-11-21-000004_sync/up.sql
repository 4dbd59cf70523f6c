-- Sync stage: a mirror of each firm's Clio records, the re-read queue that feeds it, the sweep
-- cursors, and the transactional outbox of domain events.

-- A Clio record to re-read. The event handler appends a row per event; the batcher takes the due
-- rows of one connection and model together, so duplicates of a record collapse into one read.
CREATE TABLE sync_queue (
    id               BIGSERIAL PRIMARY KEY,
    connection_id    BIGINT NOT NULL REFERENCES connections (id),
    model            TEXT NOT NULL CHECK (model IN ('matter', 'contact', 'bill')),
    record_id        BIGINT NOT NULL,
    event_id         TEXT NOT NULL,
    -- The event as it arrived, so work given up on can be dead-lettered and replayed.
    envelope         JSONB NOT NULL,
    enqueued_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    due_at           TIMESTAMPTZ NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    first_failed_at  TIMESTAMPTZ,
    last_error       TEXT
);
CREATE INDEX sync_queue_due_idx ON sync_queue (due_at);
CREATE INDEX sync_queue_record_idx ON sync_queue (connection_id, model, record_id);

-- Per connection: how its sync is going.
-- A 429 from Clio holds this connection's sync work (and only this connection's) until then.
ALTER TABLE connections ADD COLUMN sync_not_before TIMESTAMPTZ;
-- Clio refused to show custom field definitions (403): synced without them, recorded here.
ALTER TABLE connections ADD COLUMN custom_fields_forbidden_at TIMESTAMPTZ;

-- The sweep of one model of a connection: where the last complete one started (the next one asks
-- for records updated since then), and the page a running one has reached.
CREATE TABLE sync_cursors (
    connection_id    BIGINT NOT NULL REFERENCES connections (id),
    model            TEXT NOT NULL CHECK (model IN ('matter', 'contact', 'bill', 'user', 'custom_field')),
    swept_until      TIMESTAMPTZ,
    started_at       TIMESTAMPTZ,
    -- Clio's `meta.paging.next` of the page to read next, while a sweep is under way.
    next_page        TEXT,
    -- Taken by one sweeper at a time; a crashed sweeper's lease runs out.
    lease_until      TIMESTAMPTZ,
    last_finished_at TIMESTAMPTZ,
    last_seen        INTEGER NOT NULL DEFAULT 0,
    last_missed      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    -- The start of the last complete listing of every record (a full sweep, or the baseline):
    -- only such a listing shows what was deleted without a webhook saying so.
    last_full_at     TIMESTAMPTZ,
    PRIMARY KEY (connection_id, model)
);

-- Mirrors, keyed by the Clio account (firm) and the Clio id: every connection of a firm shares
-- them. `clio_updated_at` and `etag` are the version: an older read never overwrites a newer one.
CREATE TABLE clio_matters (
    clio_account_id          BIGINT NOT NULL,
    clio_id                  BIGINT NOT NULL,
    etag                     TEXT,
    clio_updated_at          TIMESTAMPTZ,
    display_number           TEXT,
    description              TEXT,
    status                   TEXT,
    open_date                DATE,
    pending_date             DATE,
    close_date               DATE,
    client_id                BIGINT,
    client_name              TEXT,
    client_email             TEXT,
    responsible_attorney_id  BIGINT,
    originating_attorney_id  BIGINT,
    responsible_staff_id     BIGINT,
    practice_area            TEXT,
    matter_stage             TEXT,
    custom_field_values      JSONB NOT NULL DEFAULT '[]',
    data                     JSONB NOT NULL,
    deleted_at               TIMESTAMPTZ,
    synced_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (clio_account_id, clio_id)
);
CREATE INDEX clio_matters_client_idx ON clio_matters (clio_account_id, client_id);
CREATE INDEX clio_matters_client_email_idx ON clio_matters (clio_account_id, client_email);

CREATE TABLE clio_contacts (
    clio_account_id      BIGINT NOT NULL,
    clio_id              BIGINT NOT NULL,
    etag                 TEXT,
    clio_updated_at      TIMESTAMPTZ,
    kind                 TEXT,
    name                 TEXT,
    first_name           TEXT,
    middle_name          TEXT,
    last_name            TEXT,
    title                TEXT,
    company_id           BIGINT,
    company_name         TEXT,
    date_of_birth        DATE,
    is_client            BOOLEAN,
    primary_email        TEXT,
    custom_field_values  JSONB NOT NULL DEFAULT '[]',
    data                 JSONB NOT NULL,
    deleted_at           TIMESTAMPTZ,
    synced_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (clio_account_id, clio_id)
);

-- Lookups by email and phone: lower-cased, trimmed emails; phones as E.164 (when the country is
-- known), national digits and last four.
CREATE TABLE clio_contact_emails (
    clio_account_id  BIGINT NOT NULL,
    contact_id       BIGINT NOT NULL,
    email            TEXT NOT NULL,
    PRIMARY KEY (clio_account_id, contact_id, email),
    FOREIGN KEY (clio_account_id, contact_id) REFERENCES clio_contacts (clio_account_id, clio_id)
        ON DELETE CASCADE
);
CREATE INDEX clio_contact_emails_email_idx ON clio_contact_emails (clio_account_id, email);

CREATE TABLE clio_contact_phones (
    clio_account_id  BIGINT NOT NULL,
    contact_id       BIGINT NOT NULL,
    position         INTEGER NOT NULL,
    raw              TEXT NOT NULL,
    e164             TEXT,
    national         TEXT NOT NULL,
    last_four        TEXT NOT NULL,
    PRIMARY KEY (clio_account_id, contact_id, position),
    FOREIGN KEY (clio_account_id, contact_id) REFERENCES clio_contacts (clio_account_id, clio_id)
        ON DELETE CASCADE
);
CREATE INDEX clio_contact_phones_e164_idx ON clio_contact_phones (clio_account_id, e164);
CREATE INDEX clio_contact_phones_national_idx ON clio_contact_phones (clio_account_id, national);
CREATE INDEX clio_contact_phones_last_four_idx ON clio_contact_phones (clio_account_id, last_four);

CREATE TABLE clio_bills (
    clio_account_id  BIGINT NOT NULL,
    clio_id          BIGINT NOT NULL,
    etag             TEXT,
    clio_updated_at  TIMESTAMPTZ,
    number           TEXT,
    state            TEXT,
    -- Amounts in cents: no floating point in money columns.
    total_cents      BIGINT,
    paid_cents       BIGINT,
    balance_cents    BIGINT,
    paid_at          TIMESTAMPTZ,
    client_id        BIGINT,
    matter_ids       BIGINT[] NOT NULL DEFAULT '{}',
    data             JSONB NOT NULL,
    deleted_at       TIMESTAMPTZ,
    synced_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (clio_account_id, clio_id)
);
CREATE INDEX clio_bills_matters_idx ON clio_bills USING GIN (matter_ids);

CREATE TABLE clio_users (
    clio_account_id    BIGINT NOT NULL,
    clio_id            BIGINT NOT NULL,
    name               TEXT,
    email              TEXT,
    enabled            BOOLEAN,
    subscription_type  TEXT,
    synced_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (clio_account_id, clio_id)
);

CREATE TABLE clio_custom_fields (
    clio_account_id  BIGINT NOT NULL,
    clio_id          BIGINT NOT NULL,
    parent_type      TEXT NOT NULL,
    name             TEXT,
    field_type       TEXT,
    data             JSONB NOT NULL,
    synced_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (clio_account_id, clio_id)
);

-- Domain events written in the same transaction as the mirror change that implies them; the
-- relay publishes each with a publisher confirm, then deletes it.
CREATE TABLE outbox (
    id           BIGSERIAL PRIMARY KEY,
    routing_key  TEXT NOT NULL,
    message      JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
