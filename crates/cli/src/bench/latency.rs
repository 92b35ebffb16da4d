//! From a change at the simulator to the committed row in each desktop's cache: each
//! live change (ticket, when) matched with the first commit touching that ticket at or
//! after it, in every desktop's receipts. Both clocks are this machine's.

use crate::desks::Receipts;

/// Latencies in milliseconds, one per (desktop, change) pair that arrived, and how many
/// pairs never did.
#[derive(Debug, Default)]
pub struct Matched {
    pub all: Vec<i64>,
    /// Per change, the slowest desktop: when the last cache had it.
    pub slowest: Vec<i64>,
    pub missed: usize,
}

impl Matched {
    /// Pairs slower than `ms`.
    pub fn over(&self, ms: i64) -> usize {
        self.all.len() - self.all.partition_point(|v| *v <= ms)
    }
}

pub fn matched(changes: &[(u64, i64)], desks: &[Receipts]) -> Matched {
    let mut out = Matched::default();
    for (ticket, at) in changes {
        let id = ticket.to_string();
        let mut slowest = None;
        for receipts in desks {
            let first = receipts
                .get(&id)
                .and_then(|times| times.iter().find(|t| **t >= *at));
            match first {
                Some(t) => {
                    out.all.push(t - at);
                    slowest = slowest.max(Some(t - at));
                }
                None => out.missed += 1,
            }
        }
        out.slowest.extend(slowest);
    }
    out.all.sort_unstable();
    out.slowest.sort_unstable();
    out
}

/// The `p` quantile (0 to 1) of sorted values, nearest rank; `None` when empty.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_change_takes_the_first_commit_at_or_after_it_in_each_desk() {
        let a = Receipts::from([("7".into(), vec![100, 1_250, 2_000])]);
        let b = Receipts::from([("7".into(), vec![1_400])]);
        let c = Receipts::new();
        let m = matched(&[(7, 1_000), (8, 1_000)], &[a, b, c]);
        assert_eq!(m.all, vec![250, 400]);
        assert_eq!(m.slowest, vec![400]);
        assert_eq!(m.missed, 4, "7 at c; 8 everywhere");
        assert_eq!((m.over(250), m.over(399), m.over(400)), (1, 1, 0));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), Some(50));
        assert_eq!(percentile(&v, 0.95), Some(95));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&[5], 0.99), Some(5));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
