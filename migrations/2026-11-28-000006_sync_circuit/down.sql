ALTER TABLE connections DROP COLUMN sync_failures;
