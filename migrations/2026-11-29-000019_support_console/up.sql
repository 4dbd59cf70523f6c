-- The support console: what a dead letter arrived with, what was done to each one, sessions for
-- the browser, and how far each worker queue's consumers have got.

-- Text search on reasons and error chains at a million rows: `ILIKE '%text%'` uses trigram
-- indexes (pg_trgm is a trusted extension: the database owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX dead_letters_reason_trgm_idx ON dead_letters USING gin (reason gin_trgm_ops);
CREATE INDEX dead_letters_error_trgm_idx ON dead_letters USING gin (error gin_trgm_ops);
CREATE INDEX dead_letters_connection_idx ON dead_letters (connection_id, id);
-- The console lists newest failures first, paging on (last_failed_at, id): one index serves the
-- first page, a page deep in the list and any time range.
DROP INDEX dead_letters_failed_idx;
CREATE INDEX dead_letters_failed_id_idx ON dead_letters (last_failed_at, id);

-- The message's properties and AMQP headers when it was given up on (attempts, first failure,
-- the broker's x-death), shown on the console's detail page.
ALTER TABLE dead_letters ADD COLUMN headers JSONB NOT NULL DEFAULT '{}'::jsonb;

-- Each replay or discard of each row, with who did it (dead_letter_actions keeps the operation
-- as a whole: its selection and count).
CREATE TABLE dead_letter_history (
    id             BIGSERIAL PRIMARY KEY,
    dead_letter_id BIGINT NOT NULL REFERENCES dead_letters (id) ON DELETE CASCADE,
    action         TEXT NOT NULL CHECK (action IN ('replay', 'discard')),
    actor          TEXT NOT NULL,
    at             TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX dead_letter_history_letter_idx ON dead_letter_history (dead_letter_id, id);

-- Console sessions: the cookie's value is stored only as its SHA-256; the CSRF token every form
-- posts back is the session's own.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);

-- Each bulk action's confirmation, used once: a double click or a resubmitted form does not start
-- the same bulk replay twice.
CREATE TABLE console_confirmations (
    nonce      TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The newest sent-at of a message each worker queue's consumers took, and when: quorum queues
-- do not report their head message's timestamp, so this is how the console estimates the
-- oldest waiting message's age.
CREATE TABLE queue_progress (
    queue         TEXT PRIMARY KEY,
    last_sent_at  TIMESTAMPTZ NOT NULL,
    last_taken_at TIMESTAMPTZ NOT NULL
);
