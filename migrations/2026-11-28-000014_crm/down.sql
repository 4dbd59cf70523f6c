DROP INDEX IF EXISTS clio_matters_relationships_idx;
ALTER TABLE connections DROP COLUMN crm_projected_at;
DROP TABLE jobs;
DROP TABLE crm_events;
DROP TABLE crm_contacts;
DROP SEQUENCE crm_change_seq;
