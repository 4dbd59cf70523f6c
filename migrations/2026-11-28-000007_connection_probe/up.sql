-- When Clio last accepted the connection's grant (the connect itself, or the scheduler's daily
-- probe): a grant revoked inside Clio is noticed within a day, not at the next refresh.
ALTER TABLE connections ADD COLUMN verified_at TIMESTAMPTZ;
CREATE INDEX connections_verify_idx ON connections (verified_at NULLS FIRST) WHERE status = 'connected';
