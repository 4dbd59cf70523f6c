-- The custom actions (buttons inside Clio) each connection registered, so they can be kept,
-- moved when our public address changes, and removed when their feature is turned off or the
-- connection disconnects.
CREATE TABLE custom_actions (
    connection_id  BIGINT NOT NULL REFERENCES connections (id),
    -- What it is for (send_review).
    purpose        TEXT NOT NULL,
    -- Clio's id: a click names it as custom_action_id.
    clio_id        BIGINT NOT NULL,
    -- Where a click lands, as registered.
    target_url     TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- When Clio last showed it to us as registered.
    checked_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, purpose)
);
CREATE UNIQUE INDEX custom_actions_clio_idx ON custom_actions (clio_id);
