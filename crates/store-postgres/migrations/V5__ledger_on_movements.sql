-- A customer's ledger after a chunk rides on the customer's last movement of
-- that chunk instead of rewriting the customer's row (the layout SQLite took in
-- its V4, V5 since the renumbering): a chunk appends movements instead of updating a row per customer.
-- The current ledger of a customer is the `ledger` of its highest-id movement;
-- where that is NULL (movements written before this migration) or there is no
-- movement, `customers.ledger` holds it.
ALTER TABLE movements ADD COLUMN ledger TEXT;
