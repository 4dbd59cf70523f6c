-- Referrals: who sent a client to whom, linked to the Clio matter it became.

CREATE TABLE referrals (
    id                 BIGSERIAL PRIMARY KEY,
    user_id            BIGINT NOT NULL REFERENCES users (id),
    direction          TEXT NOT NULL CHECK (direction IN ('received', 'sent')),
    partner_name       TEXT NOT NULL CHECK (length(trim(partner_name)) > 0),
    partner_email      TEXT,
    client_first_name  TEXT,
    client_last_name   TEXT,
    client_email       TEXT,
    client_company     TEXT,
    status             TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost')),
    -- A commission is an amount (cents) or a share (basis points), or none.
    commission_cents   BIGINT CHECK (commission_cents >= 0),
    commission_bp      INTEGER CHECK (commission_bp BETWEEN 0 AND 10000),
    CHECK (commission_cents IS NULL OR commission_bp IS NULL),
    -- Normalised keys matching looks up (see matterhook_domain::referrals::keys).
    email_key          TEXT,
    name_key           TEXT,
    company_key        TEXT,
    name_tokens        TEXT[] NOT NULL DEFAULT '{}',
    -- The matter it is linked to.
    clio_account_id    BIGINT,
    matter_id          BIGINT,
    linked_at          TIMESTAMPTZ,
    linked_by          TEXT CHECK (linked_by IN ('match', 'user')),
    CHECK ((matter_id IS NULL) = (clio_account_id IS NULL)),
    -- When the status last changed, as the event that changed it saw it: older events lose.
    status_changed_at  TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX referrals_user_idx ON referrals (user_id, id);
-- Matching reads only unlinked received referrals, by one of three keys.
CREATE INDEX referrals_match_email_idx ON referrals (user_id, email_key)
    WHERE direction = 'received' AND matter_id IS NULL;
CREATE INDEX referrals_match_name_idx ON referrals (user_id, name_key)
    WHERE direction = 'received' AND matter_id IS NULL;
CREATE INDEX referrals_match_company_idx ON referrals (user_id, company_key)
    WHERE direction = 'received' AND matter_id IS NULL;
CREATE INDEX referrals_matter_idx ON referrals (clio_account_id, matter_id)
    WHERE matter_id IS NOT NULL;

-- What happened to a referral, for its timeline.
CREATE TABLE referral_events (
    id           BIGSERIAL PRIMARY KEY,
    referral_id  BIGINT NOT NULL REFERENCES referrals (id),
    at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    kind         TEXT NOT NULL,
    message      TEXT NOT NULL
);
CREATE INDEX referral_events_referral_idx ON referral_events (referral_id, id);

-- Possible matches offered to the user, each confirmable with one click.
CREATE TABLE referral_suggestions (
    id               BIGSERIAL PRIMARY KEY,
    referral_id      BIGINT NOT NULL REFERENCES referrals (id),
    clio_account_id  BIGINT NOT NULL,
    matter_id        BIGINT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at       TIMESTAMPTZ,
    -- confirmed (linked by its one click), dismissed (the user said no), superseded (the referral
    -- was linked otherwise). A decided suggestion is never offered again for the same matter.
    outcome          TEXT CHECK (outcome IN ('confirmed', 'dismissed', 'superseded')),
    CHECK ((decided_at IS NULL) = (outcome IS NULL)),
    UNIQUE (referral_id, clio_account_id, matter_id)
);

-- The user's action queue: drafts the system prepared and never sends by itself.
CREATE TABLE action_items (
    id               BIGSERIAL PRIMARY KEY,
    user_id          BIGINT NOT NULL REFERENCES users (id),
    referral_id      BIGINT NOT NULL REFERENCES referrals (id),
    kind             TEXT NOT NULL CHECK (kind IN ('thank_you_draft')),
    clio_account_id  BIGINT NOT NULL,
    bill_id          BIGINT NOT NULL,
    to_name          TEXT NOT NULL,
    to_email         TEXT,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'dismissed')),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at       TIMESTAMPTZ,
    -- One draft per bill and referral, however often the event repeats.
    UNIQUE (referral_id, clio_account_id, bill_id)
);
CREATE INDEX action_items_user_idx ON action_items (user_id, state, id);

-- Notifications about a referral (linked, possible match) point at it.
ALTER TABLE notifications ADD COLUMN referral_id BIGINT REFERENCES referrals (id);
ALTER TABLE notifications ADD COLUMN suggestion_id BIGINT REFERENCES referral_suggestions (id);
