//! Between the API's messages and the domain's types.

use crate::{
    domain::{KeyFilter, Tag},
    proto::pb,
};

impl From<pb::Tag> for Tag {
    fn from(pb::Tag { key, value }: pb::Tag) -> Self {
        Self { key, value }
    }
}

impl From<Tag> for pb::Tag {
    fn from(Tag { key, value }: Tag) -> Self {
        Self { key, value }
    }
}

impl From<pb::TagFilter> for KeyFilter {
    fn from(pb::TagFilter { key, values }: pb::TagFilter) -> Self {
        Self { key, values }
    }
}

pub fn tags_in(tags: Vec<pb::Tag>) -> Vec<Tag> {
    tags.into_iter().map(Tag::from).collect()
}

pub fn tags_out(tags: Vec<Tag>) -> Vec<pb::Tag> {
    tags.into_iter().map(pb::Tag::from).collect()
}

pub fn filters_in(filters: Vec<pb::TagFilter>) -> Vec<KeyFilter> {
    filters.into_iter().map(KeyFilter::from).collect()
}
