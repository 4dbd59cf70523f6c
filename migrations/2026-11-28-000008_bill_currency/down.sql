ALTER TABLE clio_bills DROP COLUMN currency_sign;
ALTER TABLE clio_bills DROP COLUMN currency;
ALTER TABLE clio_bills RENAME COLUMN balance_minor TO balance_cents;
ALTER TABLE clio_bills RENAME COLUMN paid_minor TO paid_cents;
ALTER TABLE clio_bills RENAME COLUMN total_minor TO total_cents;
