//! The terms a filter is made of, the set of resources a filter matches given its terms' sets,
//! and what each logged change does to a term's set. Pure: the store reads and keeps the sets.

use std::collections::HashMap;

use roaring::RoaringTreemap;

use crate::{
    domain::{ChangeKind, KeyFilter, ResourceFilter},
    store::changes::Unpacked,
};

/// What a set holds: the internal ids of a scope's resources that carry…
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Term {
    /// …anything at all: every resource of the scope.
    Resources,
    /// …the key, with any value.
    Key(String),
    /// …the key with this value.
    Pair(String, String),
}

/// A change as replay reads it from the log: of the resource `resource_pk` at `revision`.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub revision: i64,
    /// `None` for changes logged before the log kept it.
    pub resource_pk: Option<i64>,
    pub change: Unpacked,
}

/// The terms whose sets answer `filter`; `None` when sets cannot: a name, or "no visible tag",
/// which depends on the caller.
pub fn needed(filter: &ResourceFilter) -> Option<Vec<Term>> {
    if filter.name.is_some() || filter.untagged {
        return None;
    }
    let mut terms: Vec<Term> = [&filter.all, &filter.any, &filter.not_all, &filter.not_any]
        .into_iter()
        .flatten()
        .flat_map(terms_of)
        .collect();
    if filter.all.is_empty() && filter.any.is_empty() {
        terms.push(Term::Resources);
    }
    terms.sort();
    terms.dedup();
    Some(terms)
}

fn terms_of(f: &KeyFilter) -> Vec<Term> {
    if f.values.is_empty() {
        vec![Term::Key(f.key.clone())]
    } else {
        f.values
            .iter()
            .map(|v| Term::Pair(f.key.clone(), v.clone()))
            .collect()
    }
}

/// The resources `filter` matches, from the sets of every term [`needed`] named.
pub fn matching(filter: &ResourceFilter, sets: &HashMap<Term, &RoaringTreemap>) -> RoaringTreemap {
    let one = |f: &KeyFilter| -> RoaringTreemap {
        terms_of(f)
            .iter()
            .fold(RoaringTreemap::new(), |acc, t| acc | sets[t])
    };
    let mut groups: Vec<RoaringTreemap> = filter.all.iter().map(one).collect();
    if !filter.any.is_empty() {
        groups.push(
            filter
                .any
                .iter()
                .map(one)
                .fold(RoaringTreemap::new(), |acc, s| acc | s),
        );
    }
    let mut result = groups
        .into_iter()
        .reduce(|acc, s| acc & s)
        .unwrap_or_else(|| sets[&Term::Resources].clone());
    if let Some((first, rest)) = filter.not_all.split_first() {
        result -= rest.iter().fold(one(first), |acc, f| acc & one(f));
    }
    for f in &filter.not_any {
        result -= one(f);
    }
    result
}

/// Applies `change` to `term`'s set; false when it concerns the term but names no resource, so
/// the set must be read again.
pub fn apply(term: &Term, set: &mut RoaringTreemap, replayed: &Replayed) -> bool {
    let change = &replayed.change;
    let key = change.key.as_deref();
    let (add, remove) = match (term, change.kind) {
        (Term::Resources, ChangeKind::ResourceCreated) => (true, false),
        (Term::Resources, ChangeKind::ResourceDeleted) => (false, true),
        (Term::Key(k), ChangeKind::TagSet) if key == Some(k) => (true, false),
        (Term::Key(k), ChangeKind::TagRemoved) if key == Some(k) => (false, true),
        (Term::Pair(k, v), ChangeKind::TagSet | ChangeKind::TagRemoved) if key == Some(k) => (
            change.new_value.as_deref() == Some(v),
            change.old_value.as_deref() == Some(v),
        ),
        _ => (false, false),
    };
    if !add && !remove {
        return true;
    }
    let Some(pk) = replayed.resource_pk.and_then(|pk| u64::try_from(pk).ok()) else {
        return false;
    };
    if add {
        set.insert(pk);
    } else {
        set.remove(pk);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kf(key: &str, values: &[&str]) -> KeyFilter {
        KeyFilter {
            key: key.into(),
            values: values.iter().map(|v| (*v).into()).collect(),
        }
    }

    fn change(
        kind: ChangeKind,
        pk: i64,
        key: &str,
        old: Option<&str>,
        new: Option<&str>,
    ) -> Replayed {
        Replayed {
            revision: 1,
            resource_pk: Some(pk),
            change: Unpacked {
                seq: 0,
                kind,
                key: Some(key.into()),
                old_value: old.map(Into::into),
                new_value: new.map(Into::into),
            },
        }
    }

    #[test]
    fn a_filter_is_its_terms_combined() {
        let set = |ids: &[u64]| ids.iter().copied().collect::<RoaringTreemap>();
        let all = set(&[1, 2, 3, 4, 5, 6]);
        let prod = set(&[1, 2, 3]);
        let dev = set(&[4]);
        let web = set(&[2, 3, 4]);
        let tier = set(&[2, 3, 4, 6]);
        let sets: HashMap<Term, &RoaringTreemap> = [
            (Term::Resources, &all),
            (Term::Pair("env".into(), "prod".into()), &prod),
            (Term::Pair("env".into(), "dev".into()), &dev),
            (Term::Pair("tier".into(), "web".into()), &web),
            (Term::Key("tier".into()), &tier),
        ]
        .into_iter()
        .collect();
        let ids = |f: &ResourceFilter| matching(f, &sets).iter().collect::<Vec<_>>();
        let dense_not = ResourceFilter {
            all: vec![kf("env", &["prod", "dev"])],
            not_any: vec![kf("tier", &["web"])],
            ..Default::default()
        };
        assert_eq!(ids(&dense_not), vec![1]);
        let not_only = ResourceFilter {
            not_all: vec![kf("env", &["prod"]), kf("tier", &[])],
            ..Default::default()
        };
        assert_eq!(ids(&not_only), vec![1, 4, 5, 6]);
        let any = ResourceFilter {
            all: vec![kf("tier", &[])],
            any: vec![kf("env", &["dev"]), kf("tier", &["web"])],
            ..Default::default()
        };
        assert_eq!(ids(&any), vec![2, 3, 4]);
        assert_eq!(needed(&not_only).unwrap().len(), 3);
        assert!(
            needed(&ResourceFilter {
                untagged: true,
                ..Default::default()
            })
            .is_none()
        );
    }

    #[test]
    fn changes_move_resources_between_sets() {
        let prod = Term::Pair("env".into(), "prod".into());
        let env = Term::Key("env".into());
        let mut p = RoaringTreemap::new();
        let mut k = RoaringTreemap::new();
        let set = change(ChangeKind::TagSet, 7, "env", None, Some("prod"));
        assert!(apply(&prod, &mut p, &set) && apply(&env, &mut k, &set));
        assert!(p.contains(7) && k.contains(7));
        let moved = change(ChangeKind::TagSet, 7, "env", Some("prod"), Some("dev"));
        assert!(apply(&prod, &mut p, &moved) && apply(&env, &mut k, &moved));
        assert!(!p.contains(7) && k.contains(7));
        let removed = change(ChangeKind::TagRemoved, 7, "env", Some("dev"), None);
        assert!(apply(&env, &mut k, &removed));
        assert!(k.is_empty());
        let unnamed = Replayed {
            resource_pk: None,
            ..change(ChangeKind::TagSet, 0, "env", None, Some("prod"))
        };
        assert!(!apply(&prod, &mut p, &unnamed));
        let other_key = Replayed {
            resource_pk: None,
            ..change(ChangeKind::TagSet, 0, "tier", None, Some("prod"))
        };
        assert!(apply(&prod, &mut p, &other_key));
    }
}
