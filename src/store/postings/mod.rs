//! Filter postings: for the terms of tag filters (a key and value, a key, every resource of a
//! scope), the set of resources that carry them, kept in memory as compressed bitmaps of internal
//! ids, each at the project revision it reflects. A count or a negation then costs set
//! operations on what matches instead of reading every matching index entry or probing every
//! candidate (`filtered.rs` decides when).
//!
//! The sets are never trusted beyond their revision: a read takes the project's revision in its
//! snapshot, brings each set it needs to exactly that revision by replaying the change log after
//! the set's own (`sync.rs`), or reads it again from the tags when the log no longer reaches back.
//! So every process, and every replica, answers from the same truth, and nothing here needs to be
//! told of writes. The sets are shared by the primary and its replicas: a set at revision N is the
//! project's state at N wherever it was read.

mod sync;
pub mod terms;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use roaring::RoaringTreemap;

pub use terms::Term;

/// A term of one scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TermKey {
    pub project_id: String,
    pub resource_type: String,
    pub term: Term,
}

impl TermKey {
    /// What the key holds beside itself.
    fn heap_bytes(&self) -> usize {
        let term = match &self.term {
            Term::Resources => 0,
            Term::Key(k) => k.len(),
            Term::Pair(k, v) => k.len() + v.len(),
        };
        self.project_id.len() + self.resource_type.len() + term + size_of::<TermKey>()
    }
}

/// A set at the revision it reflects.
#[derive(Debug, Clone)]
pub struct Posting {
    pub set: Arc<RoaringTreemap>,
    pub revision: i64,
}

struct Entry {
    posting: Posting,
    bytes: usize,
    used: u64,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<TermKey, Entry>,
    bytes: usize,
    clock: u64,
}

impl Cache {
    /// Drops the least recently used sets, other than `keep`, until they take at most `target`
    /// bytes: down to seven eighths of the budget at once, so that filling it again costs one
    /// sort per eighth rather than a scan per set.
    fn evict(&mut self, target: usize, keep: &TermKey) {
        let mut by_age: Vec<(u64, TermKey)> = self
            .entries
            .iter()
            .filter(|(k, _)| *k != keep)
            .map(|(k, e)| (e.used, k.clone()))
            .collect();
        by_age.sort_unstable_by_key(|(used, _)| *used);
        for (_, key) in by_age {
            if self.bytes <= target {
                break;
            }
            if let Some(dropped) = self.entries.remove(&key) {
                self.bytes -= dropped.bytes;
            }
        }
    }
}

/// How a read found a set it needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// At the read's revision already.
    Current,
    /// Brought forward by replaying the log.
    Advanced,
    /// Read from the tags.
    Built,
}

/// How the sets reads needed were found, since the start.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PostingStats {
    /// At the read's revision already.
    pub current: u64,
    /// Brought forward by replaying the log.
    pub advanced: u64,
    /// Read from the tags.
    pub built: u64,
    /// Bytes the kept sets take.
    pub bytes: u64,
}

/// The kept sets, least recently used dropped first beyond `budget` bytes.
pub struct Postings {
    budget: usize,
    cache: Mutex<Cache>,
    current: AtomicU64,
    advanced: AtomicU64,
    built: AtomicU64,
}

impl Postings {
    /// Keeps up to `budget` bytes of sets; 0 keeps none and turns their use off.
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            cache: Mutex::default(),
            current: AtomicU64::new(0),
            advanced: AtomicU64::new(0),
            built: AtomicU64::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    pub fn stats(&self) -> PostingStats {
        PostingStats {
            current: self.current.load(Ordering::Relaxed),
            advanced: self.advanced.load(Ordering::Relaxed),
            built: self.built.load(Ordering::Relaxed),
            bytes: self.lock().bytes as u64,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic while holding the lock leaves the map itself intact.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The kept set of `key`, if any, marked as used.
    fn get(&self, key: &TermKey) -> Option<Posting> {
        let mut cache = self.lock();
        cache.clock += 1;
        let now = cache.clock;
        let entry = cache.entries.get_mut(key)?;
        entry.used = now;
        Some(entry.posting.clone())
    }

    /// Keeps `posting` for `key` unless a set of a later revision is kept already, then drops the
    /// least recently used sets beyond the budget (never the one just kept).
    fn put(&self, key: TermKey, posting: Posting) {
        let bytes = posting.set.serialized_size() + size_of::<Entry>() + key.heap_bytes();
        if bytes > self.budget {
            return;
        }
        let mut cache = self.lock();
        if let Some(kept) = cache.entries.get(&key)
            && kept.posting.revision >= posting.revision
        {
            return;
        }
        cache.clock += 1;
        let used = cache.clock;
        if let Some(old) = cache.entries.insert(
            key.clone(),
            Entry {
                posting,
                bytes,
                used,
            },
        ) {
            cache.bytes -= old.bytes;
        }
        cache.bytes += bytes;
        if cache.bytes > self.budget {
            cache.evict(self.budget - self.budget / 8, &key);
        }
    }

    fn found(&self, how: Found) {
        let counter = match how {
            Found::Current => &self.current,
            Found::Advanced => &self.advanced,
            Found::Built => &self.built,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> TermKey {
        TermKey {
            project_id: "p".into(),
            resource_type: "t".into(),
            term: Term::Key(k.into()),
        }
    }

    fn posting(ids: impl IntoIterator<Item = u64>, revision: i64) -> Posting {
        Posting {
            set: Arc::new(ids.into_iter().collect()),
            revision,
        }
    }

    #[test]
    fn keeps_the_latest_revision() {
        let postings = Postings::new(1 << 20);
        postings.put(key("a"), posting([1, 2], 5));
        postings.put(key("a"), posting([1], 4));
        assert_eq!(postings.get(&key("a")).unwrap().revision, 5);
        postings.put(key("a"), posting([3], 6));
        let kept = postings.get(&key("a")).unwrap();
        assert_eq!((kept.revision, kept.set.len()), (6, 1));
    }

    #[test]
    fn drops_the_least_recently_used_beyond_the_budget() {
        let one = posting(0..1000, 1);
        let size = one.set.serialized_size() + size_of::<Entry>() + key("a").heap_bytes();
        let postings = Postings::new(size * 3);
        for k in ["a", "b", "c"] {
            postings.put(key(k), one.clone());
        }
        postings.get(&key("a"));
        // Over the budget: down to seven eighths of it, the least recently used first.
        postings.put(key("d"), one);
        let kept: Vec<bool> = ["a", "b", "c", "d"]
            .iter()
            .map(|k| postings.get(&key(k)).is_some())
            .collect();
        assert_eq!(kept, [true, false, false, true]);
        assert_eq!(postings.stats().bytes as usize, size * 2);
    }
}
