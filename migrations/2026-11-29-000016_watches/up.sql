-- Watches: matters a user imported from Clio as records (the obituary-monitoring product), whose
-- Clio-sourced fields re-sync field by field while the user's edits and local fields stay theirs.
CREATE TABLE watches (
    id               BIGSERIAL PRIMARY KEY,
    -- The user's connection it was imported through: syncs read Clio with its token.
    connection_id    BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    user_id          BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    clio_account_id  BIGINT NOT NULL,
    matter_id        BIGINT NOT NULL,
    -- The matter's client as last synced: a change to that contact re-syncs the watch.
    client_id        BIGINT,
    -- Clio-sourced fields by name (matterhook_domain::watches::WatchField).
    fields           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(fields) = 'object'),
    -- Fields the user edited since they were last synced (protected under keep_local).
    edited           TEXT[] NOT NULL DEFAULT '{}',
    -- Clio values kept out by the user's edits, for the user to see and accept.
    conflicts        JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(conflicts) = 'array'),
    -- Local only: never touched by sync.
    notes            TEXT NOT NULL DEFAULT '' CHECK (char_length(notes) <= 10000),
    tags             TEXT[] NOT NULL DEFAULT '{}',
    priority         TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high')),
    -- What Clio says of the matter: a closed or deleted matter marks the watch, never removes it.
    clio_status      TEXT,
    clio_deleted_at  TIMESTAMPTZ,
    last_synced_at   TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Importing a matter twice is the same watch.
    UNIQUE (connection_id, matter_id)
);
CREATE INDEX watches_matter_idx ON watches (clio_account_id, matter_id);
CREATE INDEX watches_client_idx ON watches (clio_account_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX watches_user_idx ON watches (user_id, id);

-- Every change to a watch's Clio-sourced fields: who or what made it, from what, to what.
CREATE TABLE watch_changes (
    id          BIGSERIAL PRIMARY KEY,
    watch_id    BIGINT NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- import, sync (a button or a job), event (a Clio change), edit (the user), accept (a
    -- conflict accepted).
    source      TEXT NOT NULL CHECK (source IN ('import', 'sync', 'event', 'edit', 'accept')),
    field       TEXT NOT NULL,
    from_value  TEXT,
    to_value    TEXT
);
CREATE INDEX watch_changes_watch_idx ON watch_changes (watch_id, id);

-- Syncing every watch of a connection is a job with progress, like a CRM projection.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('crm_projection', 'watches_sync'));

-- When the user last logged in to the product (`POST /api/sessions`): sync on login.
ALTER TABLE users ADD COLUMN last_login_at TIMESTAMPTZ;
