//! The change log's entries: what one write did to one resource, and which of them a reader asks
//! for.

use super::{Error, Visibility};

/// What a change did. The numbers are those of the API's `ChangeKind` and of the log's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    TagSet = 1,
    TagRemoved = 2,
    ResourceCreated = 3,
    ResourceRenamed = 4,
    ResourceDeleted = 5,
}

impl TryFrom<i64> for ChangeKind {
    type Error = Error;

    fn try_from(n: i64) -> Result<Self, Error> {
        Ok(match n {
            1 => Self::TagSet,
            2 => Self::TagRemoved,
            3 => Self::ResourceCreated,
            4 => Self::ResourceRenamed,
            5 => Self::ResourceDeleted,
            _ => return Err(Error::Internal(format!("the change log holds kind {n}"))),
        })
    }
}

/// One change of one resource, as a write makes it: the revision, author and time are the
/// write's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeOf {
    pub resource_id: String,
    pub kind: ChangeKind,
    /// `None` for a change of the resource itself.
    pub key: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// A recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub revision: i64,
    /// The position of the change within its revision.
    pub seq: i64,
    pub resource_type: String,
    pub change: ChangeOf,
    pub credential_id: String,
    pub request_id: String,
    /// Unix milliseconds.
    pub changed_at: i64,
}

/// Who made a write: what the log records beside each of its changes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Author<'a> {
    pub credential_id: &'a str,
    pub request_id: &'a str,
}

/// Which changes of a project a reader asks for. Empty lists select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeFilter {
    /// The resource type's catalog name.
    pub resource_type: Option<String>,
    pub resource_ids: Vec<String>,
    pub keys: Vec<String>,
}

impl ChangeFilter {
    /// Whether `change` is selected and visible: a change of a hidden key is the system's.
    pub fn admits(&self, change: &Change, visibility: &Visibility) -> bool {
        let c = &change.change;
        self.resource_type
            .as_ref()
            .is_none_or(|t| *t == change.resource_type)
            && (self.resource_ids.is_empty() || self.resource_ids.contains(&c.resource_id))
            && match &c.key {
                None => self.keys.is_empty(),
                Some(key) => {
                    (self.keys.is_empty() || self.keys.contains(key)) && visibility.shows(key)
                }
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(key: Option<&str>) -> Change {
        Change {
            revision: 7,
            seq: 0,
            resource_type: "CLUSTER".into(),
            change: ChangeOf {
                resource_id: "c1".into(),
                kind: ChangeKind::TagSet,
                key: key.map(Into::into),
                old_value: None,
                new_value: Some("v".into()),
            },
            credential_id: String::new(),
            request_id: "r".into(),
            changed_at: 0,
        }
    }

    #[test]
    fn a_filter_selects_by_type_id_and_key_and_hides_the_systems_keys() {
        let everyone = Visibility::default();
        let user = Visibility {
            hidden_prefixes: vec!["acs:".into()],
            while_live: None,
            at_least: None,
        };
        let all = ChangeFilter::default();
        assert!(all.admits(&change(Some("env")), &user));
        assert!(all.admits(&change(None), &user));
        assert!(!all.admits(&change(Some("ACS:owner")), &user));
        assert!(all.admits(&change(Some("acs:owner")), &everyone));
        let keys = ChangeFilter {
            keys: vec!["env".into()],
            ..ChangeFilter::default()
        };
        assert!(keys.admits(&change(Some("env")), &user));
        assert!(!keys.admits(&change(Some("tier")), &user));
        assert!(!keys.admits(&change(None), &user));
        let other = ChangeFilter {
            resource_type: Some("smn_topic".into()),
            ..ChangeFilter::default()
        };
        assert!(!other.admits(&change(Some("env")), &user));
        let ids = ChangeFilter {
            resource_ids: vec!["c2".into()],
            ..ChangeFilter::default()
        };
        assert!(!ids.admits(&change(Some("env")), &user));
    }
}
