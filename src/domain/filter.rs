/// A condition on one tag key: the key with any of `values`, or with any value when empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFilter {
    pub key: String,
    pub values: Vec<String>,
}

/// What ListTagResources selects: resources among `resource_ids` (when any are given) that
/// satisfy every filter in `tags`.
#[derive(Debug, Clone, Default)]
pub struct TagRowQuery {
    pub resource_ids: Vec<String>,
    pub tags: Vec<KeyFilter>,
}

/// SMN's resource-instance filter; every part that is set must hold.
#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    /// Every one of these matches.
    pub all: Vec<KeyFilter>,
    /// At least one of these matches.
    pub any: Vec<KeyFilter>,
    /// Not every one of these matches.
    pub not_all: Vec<KeyFilter>,
    /// None of these matches.
    pub not_any: Vec<KeyFilter>,
    /// The resource's name equals this.
    pub name: Option<String>,
    /// The resource has no visible tag.
    pub untagged: bool,
}
