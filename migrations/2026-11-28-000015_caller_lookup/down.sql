DROP TABLE lookup_keys;
ALTER TABLE clio_users DROP COLUMN phone_number;
