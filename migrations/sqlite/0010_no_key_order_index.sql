-- The key-order index goes: every tag written paid an entry in it, a fifth of the ingest's
-- time, and only a large key-only filter (or one of many values) read it, for its resources in
-- order. Those pages now come from the key's set in the filter postings (src/store/postings),
-- and a key's set is read from the (key, value) index, whose range for a key is the key's
-- resources in another order.
DROP INDEX tags_scope_key;
