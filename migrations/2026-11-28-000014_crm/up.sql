-- The CRM contact feed: each connection's projection of its firm's contacts, a change feed over
-- it, the new-client events; and jobs with progress (the first: recomputing a projection).

-- Positions in the change feed: every projection write takes the next one, so a CRM that read up
-- to position N reads what changed since with `seq > N`.
CREATE SEQUENCE crm_change_seq;

CREATE TABLE crm_contacts (
    connection_id    BIGINT NOT NULL REFERENCES connections (id),
    contact_id       BIGINT NOT NULL,
    clio_account_id  BIGINT NOT NULL,
    -- The contact as the CRM sees it; NULL once removed (out of scope, deleted in Clio).
    projection       JSONB,
    tags             TEXT[] NOT NULL DEFAULT '{}',
    owner            BIGINT,
    -- added, changed or removed: what the feed says of its last write.
    change           TEXT NOT NULL CHECK (change IN ('added', 'changed', 'removed')),
    seq              BIGINT NOT NULL DEFAULT nextval('crm_change_seq'),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, contact_id)
);
CREATE INDEX crm_contacts_feed_idx ON crm_contacts (connection_id, seq);
CREATE INDEX crm_contacts_tags_idx ON crm_contacts USING GIN (tags);
CREATE INDEX crm_contacts_owner_idx ON crm_contacts (connection_id, owner, contact_id);

-- `contact.new_client`, once per connection and contact, ever. Contacts already clients when the
-- connection's projection is first computed are recorded as baseline: never shown as events, and
-- never fired later.
CREATE TABLE crm_events (
    id              BIGSERIAL PRIMARY KEY,
    connection_id   BIGINT NOT NULL REFERENCES connections (id),
    contact_id      BIGINT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('contact.new_client')),
    baseline        BOOLEAN NOT NULL DEFAULT false,
    at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (connection_id, contact_id, kind)
);
CREATE INDEX crm_events_feed_idx ON crm_events (connection_id, id) WHERE NOT baseline;

-- Long work a user started, with its progress (`GET /api/jobs/{id}`): recomputing a connection's
-- CRM projection (its settings changed, or it was turned on).
CREATE TABLE jobs (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('crm_projection')),
    connection_id   BIGINT NOT NULL REFERENCES connections (id),
    user_id         BIGINT NOT NULL REFERENCES users (id),
    state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    total           INTEGER,
    done            INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    lease_until     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at      TIMESTAMPTZ,
    finished_at     TIMESTAMPTZ
);
CREATE INDEX jobs_waiting_idx ON jobs (kind, id) WHERE state IN ('queued', 'running');

-- The connection's projection is current from this time on (its first job finished): until then
-- events for it are left to the job.
ALTER TABLE connections ADD COLUMN crm_projected_at TIMESTAMPTZ;

-- Contacts related to a matter (Clio's relationships, read with the matter): found by contact.
CREATE INDEX clio_matters_relationships_idx ON clio_matters
    USING GIN ((data -> 'relationships') jsonb_path_ops);
