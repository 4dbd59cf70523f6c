ALTER TABLE notifications DROP COLUMN review_request_id;
DROP TABLE review_reconciliations;
DROP TABLE review_requests;
DROP TABLE connection_settings_history;
DROP TABLE connection_settings;
ALTER TABLE connections DROP COLUMN clio_time_zone;
