-- The scope's resources in id order, for the statements that walk them, which say `pk > 0`
-- (every id is). Partial, so that a lookup by address or by name, which does not say it, cannot
-- take this index: without statistics PostgreSQL estimated a scope's range of it at one row, as
-- it does a probe of the address, and on that tie read the whole scope to find one resource.
CREATE INDEX resources_scope_walk ON resources (project_id, resource_type, pk) WHERE pk > 0;
DROP INDEX resources_scope_pk;
