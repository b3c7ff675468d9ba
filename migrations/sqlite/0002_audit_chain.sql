-- The audit log becomes tamper-evident: each record carries the hash of the one before it and its own
-- hash over its fields and that link, plus the address the action came from. Records written before this
-- migration have no hash; `careline audit verify` reports them as unchained.
ALTER TABLE audit ADD COLUMN ip TEXT;
ALTER TABLE audit ADD COLUMN prev_hash BLOB;
ALTER TABLE audit ADD COLUMN hash BLOB;
