use super::{
    Catalog, KeyFilter, Limits, MAX_ID_CHARS, MAX_KEY_CHARS, MAX_VALUE_CHARS, Principal,
    ResourceType, Tag, Violations, Visibility,
};

/// The configured rules every request is checked against.
#[derive(Debug, Clone)]
pub struct Rules {
    pub catalog: Catalog,
    /// Lower-case; a key under one in any case is reserved.
    pub reserved_prefixes: Vec<String>,
    pub limits: Limits,
}

impl Rules {
    pub fn visibility(&self, caller: &Principal) -> Visibility {
        Visibility {
            hidden_prefixes: if caller.system {
                Vec::new()
            } else {
                self.reserved_prefixes.clone()
            },
            while_live: caller.unconfirmed_token.clone(),
            at_least: None,
        }
    }

    pub fn resource_type(&self, v: &mut Violations, input: &str) -> Option<&ResourceType> {
        if input.is_empty() {
            v.add("resource_type", "is required");
            return None;
        }
        let found = self.catalog.resolve(input);
        if found.is_none() {
            let known: Vec<&str> = self.catalog.names().collect();
            v.add(
                "resource_type",
                format!("`{input}` is not a known resource type; expected one of {known:?}"),
            );
        }
        found
    }

    pub fn resource_id(&self, v: &mut Violations, field: &str, id: &str) {
        text(v, field, id, 1, MAX_ID_CHARS);
    }

    pub fn resource_name(&self, v: &mut Violations, field: &str, name: &str) {
        text(v, field, name, 1, MAX_ID_CHARS);
    }

    /// `expected_revision`, when given: 0 ("must not exist") or a revision, for one resource.
    pub fn expected_revision(&self, v: &mut Violations, expected: Option<i64>, resources: usize) {
        let Some(expected) = expected else {
            return;
        };
        if expected < 0 {
            v.add(
                "expected_revision",
                "must be 0 (the resource must not exist yet) or a revision, not negative",
            );
        }
        if resources != 1 {
            v.add(
                "expected_revision",
                format!("is allowed with exactly one resource, got {resources}"),
            );
        }
    }

    /// A list of resource ids: distinct, each valid, within the limit; `required` means at least one.
    pub fn resource_ids(&self, v: &mut Violations, ids: &[String], required: bool) {
        if required && ids.is_empty() {
            v.add("resource_ids", "at least one resource id is required");
        }
        if ids.len() > self.limits.max_resource_ids {
            v.add(
                "resource_ids",
                format!(
                    "at most {} resource ids per request, got {}",
                    self.limits.max_resource_ids,
                    ids.len()
                ),
            );
            return;
        }
        for (i, id) in ids.iter().enumerate() {
            self.resource_id(v, &format!("resource_ids[{i}]"), id);
            if ids[..i].contains(id) {
                v.add(
                    format!("resource_ids[{i}]"),
                    format!("`{id}` is listed twice"),
                );
            }
        }
    }

    /// A tag key: 1-128 characters, not blank, no surrounding spaces, and under a reserved prefix
    /// only for system callers.
    pub fn tag_key(&self, v: &mut Violations, field: &str, key: &str, caller: &Principal) {
        if !text(v, field, key, 1, MAX_KEY_CHARS) {
            return;
        }
        if !caller.system
            && let Some(prefix) = self
                .reserved_prefixes
                .iter()
                .find(|p| starts_with_ignoring_case(key, p))
        {
            v.add(
                field,
                format!("the prefix `{prefix}` is reserved for system tags; only a system token may use it"),
            );
        }
    }

    /// A tag value: 0-255 characters, no control characters.
    pub fn tag_value(&self, v: &mut Violations, field: &str, value: &str) {
        check_tag_value(v, field, value);
    }

    /// Tags to write: 1 to the request limit, distinct keys, each key and value valid.
    pub fn tags_to_write(&self, v: &mut Violations, tags: &[Tag], caller: &Principal) {
        if tags.is_empty() {
            v.add("tags", "at least one tag is required");
        }
        self.tag_list(v, tags, caller);
    }

    /// Tags of an ACK filter: at most the request limit, distinct keys; an empty value means any.
    pub fn tag_filter(
        &self,
        v: &mut Violations,
        tags: &[Tag],
        caller: &Principal,
    ) -> Vec<KeyFilter> {
        self.tag_list(v, tags, caller);
        tags.iter()
            .map(|t| KeyFilter {
                key: t.key.clone(),
                values: if t.value.is_empty() {
                    Vec::new()
                } else {
                    vec![t.value.clone()]
                },
            })
            .collect()
    }

    fn tag_list(&self, v: &mut Violations, tags: &[Tag], caller: &Principal) {
        let max = self.limits.max_tags_per_request;
        if tags.len() > max {
            v.add(
                "tags",
                format!("at most {max} tags per request, got {}", tags.len()),
            );
            return;
        }
        for (i, tag) in tags.iter().enumerate() {
            self.tag_key(v, &format!("tags[{i}].key"), &tag.key, caller);
            self.tag_value(v, &format!("tags[{i}].value"), &tag.value);
            if tags[..i].iter().any(|t| t.key == tag.key) {
                v.add(
                    format!("tags[{i}].key"),
                    format!("key `{}` is given twice", tag.key),
                );
            }
        }
    }

    /// Keys to remove: at most the request limit, each a valid key the caller may touch.
    pub fn tag_keys(&self, v: &mut Violations, keys: &[String], caller: &Principal) {
        let max = self.limits.max_tags_per_request;
        if keys.len() > max {
            v.add(
                "tag_keys",
                format!("at most {max} keys per request, got {}", keys.len()),
            );
            return;
        }
        for (i, key) in keys.iter().enumerate() {
            self.tag_key(v, &format!("tag_keys[{i}]"), key, caller);
        }
    }

    /// One list of an SMN resource filter: distinct keys, distinct values, within the limits.
    pub fn key_filters(
        &self,
        v: &mut Violations,
        field: &str,
        filters: &[KeyFilter],
        caller: &Principal,
    ) {
        let max = self.limits.max_filter_entries;
        if filters.len() > max {
            v.add(
                field,
                format!("at most {max} entries, got {}", filters.len()),
            );
            return;
        }
        for (i, f) in filters.iter().enumerate() {
            let entry = format!("{field}[{i}]");
            self.tag_key(v, &format!("{entry}.key"), &f.key, caller);
            if filters[..i].iter().any(|g| g.key == f.key) {
                v.add(
                    format!("{entry}.key"),
                    format!("key `{}` is given twice", f.key),
                );
            }
            if f.values.len() > max {
                v.add(
                    format!("{entry}.values"),
                    format!("at most {max} values, got {}", f.values.len()),
                );
                continue;
            }
            for (j, value) in f.values.iter().enumerate() {
                let field = format!("{entry}.values[{j}]");
                self.tag_value(v, &field, value);
                if f.values[..j].contains(value) {
                    v.add(field, format!("value `{value}` is given twice"));
                }
            }
        }
    }

    /// The page size to use: the default for 0, else 1 to the maximum.
    pub fn page_size(&self, v: &mut Violations, requested: i32) -> u32 {
        let max = self.limits.max_page_size;
        match u32::try_from(requested) {
            Ok(0) => self.limits.default_page_size,
            Ok(n) if n <= max => n,
            _ => {
                v.add(
                    "page_size",
                    format!(
                        "must be between 0 (the default, {}) and {max}",
                        self.limits.default_page_size
                    ),
                );
                self.limits.default_page_size
            }
        }
    }
}

/// A tag value: 0-255 characters, no control characters. The same for every caller and catalog, so
/// a form can check a value it otherwise ignores (SMN's batch `delete` reads only the keys).
pub fn check_tag_value(v: &mut Violations, field: &str, value: &str) {
    if value.chars().count() > MAX_VALUE_CHARS {
        v.add(
            field,
            format!("must be at most {MAX_VALUE_CHARS} characters"),
        );
    } else if value.chars().any(char::is_control) {
        v.add(field, "must not contain control characters");
    }
}

/// Text of `min..=max` characters without control characters or surrounding white space.
/// Returns whether it passed.
fn text(v: &mut Violations, field: &str, s: &str, min: usize, max: usize) -> bool {
    let len = s.chars().count();
    let problem = if len < min {
        Some("is required".to_owned())
    } else if len > max {
        Some(format!("must be at most {max} characters, got {len}"))
    } else if s.chars().any(char::is_control) {
        Some("must not contain control characters".to_owned())
    } else if s.trim().is_empty() {
        Some("must not be blank".to_owned())
    } else if s.trim() != s {
        Some("must not start or end with white space".to_owned())
    } else {
        None
    };
    match problem {
        Some(p) => {
            v.add(field, p);
            false
        }
        None => true,
    }
}

/// Whether `key` starts with `prefix` in any case: `ACS:evil` is under the reserved `acs:`.
fn starts_with_ignoring_case(key: &str, prefix: &str) -> bool {
    let mut key = key.chars().flat_map(char::to_lowercase);
    prefix
        .chars()
        .flat_map(char::to_lowercase)
        .all(|p| key.next() == Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProjectScope;

    fn rules() -> Rules {
        Rules {
            catalog: Catalog::default(),
            reserved_prefixes: vec!["acs:".into(), "aliyun".into(), "_sys_".into()],
            limits: Limits::default(),
        }
    }

    fn user(system: bool) -> Principal {
        Principal {
            scope: ProjectScope::One("p".into()),
            read_only: false,
            system,
            unconfirmed_token: None,
            once: None,
            credentials: Default::default(),
        }
    }

    fn fields(v: Violations) -> Vec<String> {
        match v.finish() {
            Ok(()) => Vec::new(),
            Err(crate::domain::Error::InvalidArgument(list)) => {
                list.into_iter().map(|f| f.field).collect()
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn key_length_counts_characters_not_bytes() {
        let r = rules();
        let mut v = Violations::default();
        r.tag_key(&mut v, "k", &"é".repeat(128), &user(false));
        assert!(v.is_empty());
        r.tag_key(&mut v, "k", &"é".repeat(129), &user(false));
        assert_eq!(fields(v), ["k"]);
    }

    #[test]
    fn value_allows_empty_and_255_characters_only() {
        let r = rules();
        let mut v = Violations::default();
        r.tag_value(&mut v, "v", "");
        r.tag_value(&mut v, "v", &"中".repeat(255));
        assert!(v.is_empty());
        r.tag_value(&mut v, "v", &"中".repeat(256));
        assert_eq!(fields(v), ["v"]);
    }

    #[test]
    fn keys_must_not_be_blank_or_padded() {
        let r = rules();
        for bad in ["", "   ", " env", "env ", "a\u{0}b"] {
            let mut v = Violations::default();
            r.tag_key(&mut v, "k", bad, &user(false));
            assert_eq!(fields(v), ["k"], "{bad:?}");
        }
    }

    #[test]
    fn reserved_prefixes_need_a_system_caller() {
        let r = rules();
        let mut v = Violations::default();
        r.tag_key(&mut v, "k", "acs:rm:rgId", &user(true));
        assert!(v.is_empty());
        r.tag_key(&mut v, "k", "aliyunX", &user(false));
        assert_eq!(fields(v), ["k"]);
    }

    #[test]
    fn page_size_defaults_and_bounds() {
        let r = rules();
        let mut v = Violations::default();
        assert_eq!(r.page_size(&mut v, 0), 50);
        assert_eq!(r.page_size(&mut v, 1000), 1000);
        assert!(v.is_empty());
        r.page_size(&mut v, 1001);
        r.page_size(&mut v, -1);
        assert_eq!(fields(v), ["page_size", "page_size"]);
    }

    #[test]
    fn duplicate_keys_and_ids_are_named_by_index() {
        let r = rules();
        let mut v = Violations::default();
        let t = |k: &str| Tag {
            key: k.into(),
            value: String::new(),
        };
        r.tags_to_write(&mut v, &[t("a"), t("b"), t("a")], &user(false));
        r.resource_ids(&mut v, &["x".into(), "x".into()], true);
        assert_eq!(fields(v), ["tags[2].key", "resource_ids[1]"]);
    }
}
