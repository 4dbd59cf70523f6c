-- A bill's amounts are minor units of its own currency (cents for USD and EUR, whole yen for
-- JPY, thousandths for BHD), with the currency Clio gives it; before, they were cents of an
-- assumed dollar. Rows mirrored before this keep their values (cents are USD's minor units) and
-- take USD until their next read.
ALTER TABLE clio_bills RENAME COLUMN total_cents TO total_minor;
ALTER TABLE clio_bills RENAME COLUMN paid_cents TO paid_minor;
ALTER TABLE clio_bills RENAME COLUMN balance_cents TO balance_minor;
ALTER TABLE clio_bills ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$');
ALTER TABLE clio_bills ADD COLUMN currency_sign TEXT;
