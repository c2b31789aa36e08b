//! What a caller's read may show.

/// Which tags a caller may see: all but those under `hidden_prefixes`, and none at all once the
/// token `while_live` names (a token recognised from memory) is revoked; and how fresh what it
/// sees must be.
#[derive(Debug, Clone, Default)]
pub struct Visibility {
    pub hidden_prefixes: Vec<String>,
    pub while_live: Option<String>,
    /// The project revision a read must reflect (a consistency token's): a server that has not
    /// reached it does not answer the read.
    pub at_least: Option<i64>,
}

impl Visibility {
    /// Whether a tag of `key` is visible: under no hidden prefix, in any case.
    pub fn shows(&self, key: &str) -> bool {
        !self.hidden_prefixes.iter().any(|prefix| {
            key.chars()
                .take(prefix.chars().count())
                .map(|c| c.to_ascii_lowercase())
                .eq(prefix.chars())
        })
    }
}
