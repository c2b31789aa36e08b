//! The tagging domain: its types and every rule a request must satisfy, checked once, here.

pub(crate) mod catalog;
mod change;
mod consistency;
mod error;
mod filter;
mod limits;
mod page_token;
mod principal;
mod rules;
pub mod time;
mod visibility;

pub use catalog::{Catalog, ResourceType};
pub use change::{Author, Change, ChangeFilter, ChangeKind, ChangeOf};
pub use consistency::{CONSISTENCY_HEADER, ConsistencyToken};
pub use error::{Error, FieldViolation, SignatureFault, Violations};
pub use filter::{KeyFilter, ResourceFilter, TagRowQuery};
pub use limits::{Limits, MAX_ID_CHARS, MAX_KEY_CHARS, MAX_VALUE_CHARS};
pub use page_token::{Cursor, PageTokens, QueryBinding};
pub use principal::{
    Access, Caller, CredentialIds, MAX_PROJECT_ID_CHARS, Principal, ProjectScope, SignedOnce,
    check_project_id,
};
pub use rules::{Rules, check_tag_value};
pub use visibility::Visibility;

/// A key/value pair attached to a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Where a resource lives: one project and one resource type (its catalog name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub project_id: String,
    pub resource_type: String,
}

/// How a single resource is addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    Id(String),
    Name(String),
}
