//! Which index a filtered read walks. The store keeps, for every scope, how many resources carry
//! each key and each (key, value) (see `counts.rs`), exact in every snapshot; a filtered read asks
//! for the counts of its filters first and walks the smallest of them in resource order, probing
//! each candidate for the rest and stopping at the page's end. So its cost follows the answer, not
//! the project, and holds without the database's statistics: the plan is the service's choice,
//! made from counts that are never stale, not the planner's guess.

use crate::domain::{KeyFilter, ResourceFilter};

/// A filter this small is read whole and sorted rather than walked in resource order: reading
/// a thousand index entries costs less than walking a dense key until a page fills.
pub const GATHER_MAX: i64 = 1000;

/// The positive filters a driver can be made of: each `all` filter, then the `any` group.
#[derive(Debug, Clone, Copy)]
pub struct Positives<'a> {
    pub all: &'a [KeyFilter],
    pub any: &'a [KeyFilter],
}

impl<'a> Positives<'a> {
    pub fn of(filter: &'a ResourceFilter) -> Self {
        Self {
            all: &filter.all,
            any: &filter.any,
        }
    }

    /// The filters whose counts the choice needs, in the order `choose` reads them.
    pub fn counted(&self) -> impl Iterator<Item = &'a KeyFilter> {
        self.all.iter().chain(self.any)
    }

    /// Whether the counts can change the choice: with a single one-value filter there is only one
    /// index to walk, and its walk finds "nothing" as fast as the counts would.
    pub fn need_counts(&self) -> bool {
        match (self.all, self.any) {
            ([], []) => false,
            ([f], []) => f.values.len() != 1,
            _ => true,
        }
    }
}

/// Where the candidates of a filtered read come from, each in resource order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver<'a> {
    /// Nothing can match.
    Empty,
    /// The resource with this name (names are unique in a scope).
    Name(&'a str),
    /// One (key, value) pair: its index range.
    Pair(&'a str, &'a str),
    /// A key, with any of the filter's values (any value when it lists none), too large to
    /// gather. No index holds a key's resources in order (one would cost every write a third
    /// index entry per tag), so the filter postings serve its pages from the key's set, and
    /// without them it is read whole like `Gather`.
    Key(&'a KeyFilter),
    /// Resources carrying any of these filters, few enough to read whole and sort.
    Gather(&'a [KeyFilter]),
    /// Every resource of the scope, each probed: when no filter names a tag to start from.
    Scope,
}

/// The driver, which positive filter it satisfies by itself so that it need not be probed, and
/// which `all` filters a count reads beside it (see `for_count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan<'a> {
    pub driver: Driver<'a>,
    pub covers: Covers,
    pub joined: Joined,
}

/// A set of `all` filters, by position: those read in resource order beside the driver's range
/// (a merge join) rather than probed candidate by candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Joined(u64);

impl Joined {
    pub fn contains(self, i: usize) -> bool {
        i < 64 && self.0 & (1 << i) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..64).filter(move |&i| self.contains(i))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covers {
    Nothing,
    All(usize),
    AnyGroup,
}

/// Chooses the driver. `counts` holds, in `Positives::counted` order, how many resources match
/// each filter; `None` when they were not read (`need_counts` said so).
pub fn choose<'a>(
    positives: Positives<'a>,
    name: Option<&'a str>,
    counts: Option<&[i64]>,
) -> Plan<'a> {
    let plan = |driver, covers| Plan {
        driver,
        covers,
        joined: Joined::default(),
    };
    if let Some(name) = name {
        return plan(Driver::Name(name), Covers::Nothing);
    }
    let Some(counts) = counts else {
        return match positives.all.first() {
            Some(f) => plan(single(f, 0), Covers::All(0)),
            None => plan(Driver::Scope, Covers::Nothing),
        };
    };
    let (all_counts, any_counts) = counts.split_at(positives.all.len());
    let mut best: Option<(i64, Plan<'a>)> = None;
    for (i, (f, &n)) in positives.all.iter().zip(all_counts).enumerate() {
        if best.is_none_or(|(m, _)| n < m) {
            best = Some((n, plan(single(f, n), Covers::All(i))));
        }
    }
    if !positives.any.is_empty() {
        let n: i64 = any_counts.iter().sum();
        let driver = match positives.any {
            [f] => Some(single(f, n)),
            group if n <= GATHER_MAX => Some(Driver::Gather(group)),
            // A large group: walking the scope finds its members about as fast as it reads them.
            _ => None,
        };
        if let Some(driver) = driver
            && best.is_none_or(|(m, _)| n < m)
        {
            best = Some((n, plan(driver, Covers::AnyGroup)));
        }
        if n == 0 {
            return plan(Driver::Empty, Covers::Nothing);
        }
    }
    match best {
        Some((0, _)) => plan(Driver::Empty, Covers::Nothing),
        Some((_, p)) => p,
        None => plan(Driver::Scope, Covers::Nothing),
    }
}

/// How many times its driver's size a one-value filter may be for a count to read its range
/// beside the driver's rather than probe each candidate for it. A count walks its driver whole, so
/// it pays a probe per candidate: on PostgreSQL an index descent and a heap fetch, about 5 µs,
/// where reading a range in order costs about 0.3 µs an entry (`bench/explain/
/// postgres-filter_count_env_tier.txt`, 250 000 candidates probed against the ranges of 250 000
/// and 500 000 merged). Below the break-even of about 15, with room for the estimates.
pub const MERGE_RATIO: i64 = 8;

/// The plan of a count: `plan` (chosen by `choose` from the same `counts`), reading beside its
/// driver's range, in resource order, every other one-value `all` filter that is not much larger.
/// Only a driver that is an index range in resource order, a pair's, can be merged with.
pub fn for_count<'a>(plan: Plan<'a>, positives: Positives<'a>, counts: Option<&[i64]>) -> Plan<'a> {
    let Some(counts) = counts else {
        return plan;
    };
    let driver = match (plan.driver, plan.covers) {
        (Driver::Pair(..), Covers::All(i)) => counts[i],
        (Driver::Pair(..), Covers::AnyGroup) => counts[positives.all.len()..].iter().sum(),
        _ => return plan,
    };
    let mut joined = Joined::default();
    for (i, (f, &n)) in positives.all.iter().zip(counts).enumerate().take(64) {
        if plan.covers != Covers::All(i) && f.values.len() == 1 && n <= MERGE_RATIO * driver {
            joined.0 |= 1 << i;
        }
    }
    Plan { joined, ..plan }
}

/// Without the filter postings, a key's resources in order are read whole up to this many;
/// beyond it the scope is walked, each resource probed for the key: at that density a page of
/// a project of a million resources fills within its first few thousand.
pub const KEY_READ_MAX: i64 = 50_000;

/// `plan` (chosen by `choose` from `counts`) for a store that keeps no filter postings: a large
/// key walks the scope rather than be read whole and sorted (see [`KEY_READ_MAX`]).
pub fn without_postings<'a>(plan: Plan<'a>, positives: Positives<'a>, counts: &[i64]) -> Plan<'a> {
    let n: i64 = match plan.covers {
        Covers::All(i) => counts[i],
        Covers::AnyGroup => counts[positives.all.len()..].iter().sum(),
        Covers::Nothing => return plan,
    };
    match plan.driver {
        Driver::Key(_) if n > KEY_READ_MAX => Plan {
            driver: Driver::Scope,
            covers: Covers::Nothing,
            joined: Joined::default(),
        },
        _ => plan,
    }
}

/// The driver of one filter that `n` resources match.
fn single(f: &KeyFilter, n: i64) -> Driver<'_> {
    match f.values.as_slice() {
        [value] => Driver::Pair(&f.key, value),
        _ if n <= GATHER_MAX => Driver::Gather(std::slice::from_ref(f)),
        _ => Driver::Key(f),
    }
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

    #[test]
    fn the_rarest_filter_drives() {
        let all = [kf("env", &["prod"]), kf("rare", &["yes"])];
        let p = Positives {
            all: &all,
            any: &[],
        };
        let plan = choose(p, None, Some(&[250_000, 10]));
        assert_eq!(plan.driver, Driver::Pair("rare", "yes"));
        assert_eq!(plan.covers, Covers::All(1));
    }

    #[test]
    fn a_filter_nothing_matches_answers_at_once() {
        let all = [kf("env", &["prod"]), kf("env2", &[])];
        let p = Positives {
            all: &all,
            any: &[],
        };
        assert_eq!(choose(p, None, Some(&[5, 0])).driver, Driver::Empty);
        let any = [kf("a", &["x"]), kf("b", &[])];
        let p = Positives {
            all: &[],
            any: &any,
        };
        assert_eq!(choose(p, None, Some(&[0, 0])).driver, Driver::Empty);
    }

    #[test]
    fn a_key_is_gathered_when_small_and_left_to_its_set_when_large() {
        let all = [kf("owner", &[])];
        let p = Positives {
            all: &all,
            any: &[],
        };
        assert!(matches!(
            choose(p, None, Some(&[GATHER_MAX])).driver,
            Driver::Gather(_)
        ));
        assert!(matches!(
            choose(p, None, Some(&[GATHER_MAX + 1])).driver,
            Driver::Key(_)
        ));
    }

    #[test]
    fn without_postings_a_key_is_read_whole_unless_walking_the_scope_finds_it_sooner() {
        let all = [kf("env", &["prod"]), kf("owner", &[])];
        let p = Positives {
            all: &all,
            any: &[],
        };
        let counts = [KEY_READ_MAX * 4, KEY_READ_MAX];
        let plan = without_postings(choose(p, None, Some(&counts)), p, &counts);
        assert_eq!(plan.driver, Driver::Key(&all[1]));
        let counts = [KEY_READ_MAX * 4, KEY_READ_MAX + 1];
        let plan = without_postings(choose(p, None, Some(&counts)), p, &counts);
        assert_eq!((plan.driver, plan.covers), (Driver::Scope, Covers::Nothing));
        // A pair's range is in resource order, whatever its size.
        let counts = [KEY_READ_MAX * 2, KEY_READ_MAX * 4];
        let plan = without_postings(choose(p, None, Some(&counts)), p, &counts);
        assert_eq!(plan.driver, Driver::Pair("env", "prod"));
    }

    #[test]
    fn a_large_any_group_walks_the_scope_unless_an_all_filter_is_smaller() {
        let any = [kf("a", &["x"]), kf("b", &["y"])];
        let p = Positives {
            all: &[],
            any: &any,
        };
        assert_eq!(
            choose(p, None, Some(&[GATHER_MAX, 1])).driver,
            Driver::Scope
        );
        let all = [kf("c", &["z"])];
        let p = Positives {
            all: &all,
            any: &any,
        };
        let plan = choose(p, None, Some(&[5_000, GATHER_MAX, 1]));
        assert_eq!(plan.driver, Driver::Pair("c", "z"));
        let plan = choose(p, None, Some(&[5_000, 3, 1]));
        assert_eq!(plan.covers, Covers::AnyGroup);
    }

    #[test]
    fn a_count_merges_filters_of_a_size_with_its_driver_and_probes_larger_ones() {
        let all = [
            kf("env", &["prod"]),
            kf("tier", &["web"]),
            kf("k", &["v"]),
            kf("key", &[]),
        ];
        let p = Positives {
            all: &all,
            any: &[],
        };
        let counts = [250_000, 500_000, 2_500_000, 300_000];
        let plan = for_count(choose(p, None, Some(&counts)), p, Some(&counts));
        assert_eq!(plan.driver, Driver::Pair("env", "prod"));
        assert_eq!(plan.joined.iter().collect::<Vec<_>>(), [1]);
        assert!(!plan.joined.contains(0) && !plan.joined.contains(2));
        // A page stops when full: it probes the candidates it reads.
        assert!(choose(p, None, Some(&counts)).joined.is_empty());
        let counts = [10, 500_000, 2_500_000, 300_000];
        assert!(
            for_count(choose(p, None, Some(&counts)), p, Some(&counts))
                .joined
                .is_empty()
        );
    }

    #[test]
    fn a_name_or_no_positive_filter_needs_no_counts() {
        let p = Positives { all: &[], any: &[] };
        assert!(!p.need_counts());
        assert_eq!(choose(p, Some("n"), None).driver, Driver::Name("n"));
        assert_eq!(choose(p, None, None).driver, Driver::Scope);
        let all = [kf("env", &["prod"])];
        let p = Positives {
            all: &all,
            any: &[],
        };
        assert!(!p.need_counts());
        assert_eq!(choose(p, None, None).driver, Driver::Pair("env", "prod"));
    }
}
