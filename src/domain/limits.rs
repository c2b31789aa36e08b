//! How large requests and what is stored may be.

/// Size limits of requests and of what is stored.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Tags one resource may carry; tags under reserved prefixes do not count.
    pub max_tags_per_resource: usize,
    /// Tags (or tag keys) one request may name.
    pub max_tags_per_request: usize,
    /// Resource ids one request may name.
    pub max_resource_ids: usize,
    /// Entries of one filter list, and values of one filter entry.
    pub max_filter_entries: usize,
    pub default_page_size: u32,
    pub max_page_size: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_tags_per_resource: 20,
            max_tags_per_request: 20,
            max_resource_ids: 50,
            max_filter_entries: 20,
            default_page_size: 50,
            max_page_size: 1000,
        }
    }
}

/// The longest tag key, in characters.
pub const MAX_KEY_CHARS: usize = 128;
/// The longest tag value, in characters.
pub const MAX_VALUE_CHARS: usize = 255;
/// The longest resource id or resource name, in characters.
pub const MAX_ID_CHARS: usize = 256;
