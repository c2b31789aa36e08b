-- Writing a tag costs less: two index entries instead of three, and no foreign-key check.
--
-- The key-order index goes: only a large key-only filter (or one of many values) read it, for
-- its resources in order. Those pages now come from the key's set in the filter postings
-- (src/store/postings), and a key's set is read from the (key, value) index, whose range for a
-- key holds the key's resources in another order.
DROP INDEX tags_scope_key;

-- The foreign key to resources goes: its check ran once per tag written (about as long as the
-- insert itself). Every write of tags holds its resources' rows locked first, a tag is only
-- ever inserted for a resource that the same statement finds, and deleting a resource deletes its
-- tags in the same transaction, so no tag outlives its resource without it.
ALTER TABLE tags DROP CONSTRAINT tags_resource_pk_fkey;
