-- Each change names its resource's internal id as well, so that a reader following the log can
-- apply it to what it keeps per internal id (the filter postings, src/store/postings) even after
-- the resource is deleted. Changes written before this migration have none: a reader that meets
-- one reads the tags themselves again.
ALTER TABLE tag_changes ADD COLUMN resource_pk BIGINT;
