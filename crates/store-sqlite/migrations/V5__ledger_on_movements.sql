-- A customer's ledger after a chunk now rides on the customer's last movement of
-- that chunk instead of rewriting the customer's row: a chunk of 1,000 movements
-- appends to the tail of `movements` rather than dirtying a page of `customers`
-- per customer, which at a million customers was a page per movement.
-- The current ledger of a customer is the `ledger` of its highest-id movement;
-- where that is NULL (movements written before this migration) or there is no
-- movement, `customers.ledger` holds it.
ALTER TABLE movements ADD COLUMN ledger TEXT;
