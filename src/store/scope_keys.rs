//! Each scope's key, kept by the process once read, so that a write need not read it again.
//! A scope's row is never changed or deleted, so a key read from a committed row stays right for
//! the life of the process; a key a write has just inserted is not kept, since that write may
//! yet roll back.

use std::{collections::HashMap, sync::Mutex};

use crate::domain::Scope;

/// More scopes than a process meets in practice (a project has one per resource type); past it,
/// a scope not kept is read each time rather than a caller's new projects growing the map.
const MAX_SCOPES: usize = 100_000;

#[derive(Default)]
pub struct ScopeKeys(Mutex<HashMap<Scope, i64>>);

impl ScopeKeys {
    pub fn get(&self, scope: &Scope) -> Option<i64> {
        self.0.lock().expect("scope keys lock").get(scope).copied()
    }

    /// Keeps `pk` as the key of `scope`: only a key read from a committed row.
    pub fn keep(&self, scope: &Scope, pk: i64) {
        let mut keys = self.0.lock().expect("scope keys lock");
        if keys.len() < MAX_SCOPES {
            keys.insert(scope.clone(), pk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(project: &str) -> Scope {
        Scope {
            project_id: project.into(),
            resource_type: "cluster".into(),
        }
    }

    #[test]
    fn keys_are_kept_per_scope_up_to_the_bound() {
        let keys = ScopeKeys::default();
        keys.keep(&scope("p1"), 7);
        assert_eq!(keys.get(&scope("p1")), Some(7));
        assert_eq!(keys.get(&scope("p2")), None);
        for i in 0..MAX_SCOPES {
            keys.keep(&scope(&format!("q{i}")), 1);
        }
        assert_eq!(keys.get(&scope(&format!("q{}", MAX_SCOPES - 2))), Some(1));
        assert_eq!(keys.get(&scope(&format!("q{}", MAX_SCOPES - 1))), None);
    }
}
