-- The fee schedule a deposit's fees were computed with (a Pricing.Code),
-- so that its statement shows each item's fee as it was charged even
-- after the merchant's pricing changes. '' : the merchant's pricing.
ALTER TABLE deposits ADD COLUMN pricing TEXT NOT NULL DEFAULT '';
