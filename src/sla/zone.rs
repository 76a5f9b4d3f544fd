//! UTC-offset transitions of an IANA zone, precomputed once per calendar.
//!
//! chrono-tz answers one offset query at a time and does not expose its transition list; the
//! calendar needs the next transition after an instant to skip whole weeks in O(1), so the
//! list is rebuilt here by probing chrono-tz once a day over the supported range and locating
//! each change to the second by bisection.

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// First supported instant: 1970-01-01T00:00:00Z.
pub(crate) const RANGE_START: i64 = 0;
/// End of the supported range (exclusive): 2100-01-01T00:00:00Z. chrono-tz's tables end in
/// 2099, so later offsets would be extrapolations.
pub(crate) const RANGE_END: i64 = 4_102_444_800;
/// Probing margin so that local days touching the range ends resolve exactly.
const MARGIN: i64 = 8 * 86_400;

/// One offset change: at UTC second `at` the offset goes from `before` to `after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Transition {
    at: i64,
    before: i64,
    after: i64,
}

/// A stretch of constant offset, with its bounds in UTC and in local wall seconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment {
    /// First UTC second of the segment.
    pub lo_u: i64,
    /// First local wall second resolved into this segment.
    pub lo_l: i64,
    /// First local wall second resolved into the next segment (exclusive bound).
    pub hi_l: i64,
    /// Offset (local minus UTC) in seconds.
    pub off: i64,
}

impl Segment {
    /// Resolves a local wall second into an instant, if it belongs to this segment.
    #[inline]
    pub fn resolve(&self, l: i64) -> Option<i64> {
        if self.lo_l <= l && l < self.hi_l {
            Some((l - self.off).max(self.lo_u))
        } else {
            None
        }
    }
}

/// The offsets of one zone over the supported range.
#[derive(Clone, Debug)]
pub(crate) struct ZoneTable {
    first: i64,
    transitions: Vec<Transition>,
}

fn offset_at(tz: Tz, u: i64) -> i64 {
    match DateTime::from_timestamp(u, 0) {
        Some(dt) => i64::from(tz.offset_from_utc_datetime(&dt.naive_utc()).fix().local_minus_utc()),
        None => 0,
    }
}

impl ZoneTable {
    /// Probes `tz` over the supported range (about 47 000 offset queries; well under a
    /// millisecond per zone in release builds).
    pub fn new(tz: Tz) -> ZoneTable {
        let start = RANGE_START - MARGIN;
        let end = RANGE_END + MARGIN;
        let first = offset_at(tz, start);
        let mut transitions = Vec::new();
        let mut u = start;
        let mut cur = first;
        while u < end {
            let next = u + 86_400;
            let o = offset_at(tz, next);
            if o == cur {
                u = next;
                continue;
            }
            // Bisect for the first second with an offset other than `cur`.
            let (mut lo, mut hi) = (u, next);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset_at(tz, mid) == cur {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let after = offset_at(tz, hi);
            transitions.push(Transition { at: hi, before: cur, after });
            cur = after;
            u = hi;
        }
        ZoneTable { first, transitions }
    }

    fn segment(&self, j: usize) -> Segment {
        let prev = j.checked_sub(1).and_then(|i| self.transitions.get(i));
        let next = self.transitions.get(j);
        let off = prev.map_or(self.first, |t| t.after);
        Segment {
            lo_u: prev.map_or(i64::MIN / 4, |t| t.at),
            lo_l: prev.map_or(i64::MIN / 4, |t| t.at + t.before),
            hi_l: next.map_or(i64::MAX / 4, |t| t.at + t.before),
            off,
        }
    }

    /// The segment a local wall second resolves into.
    pub fn segment_for_local(&self, l: i64) -> Segment {
        self.segment(self.transitions.partition_point(|t| t.at + t.before <= l))
    }

    /// The offset in force at UTC second `u`.
    pub fn offset(&self, u: i64) -> i64 {
        let j = self.transitions.partition_point(|t| t.at <= u);
        j.checked_sub(1).and_then(|i| self.transitions.get(i)).map_or(self.first, |t| t.after)
    }

    /// Local days `D` whose two-day span `[D, D + 2)` of wall time contains the wall-clock
    /// reading just before or just after an offset change, sorted and unique.
    pub fn days_near_transitions(&self) -> Vec<i64> {
        let mut days: Vec<i64> = self
            .transitions
            .iter()
            .flat_map(|t| [t.at + t.before, t.at + t.after])
            .flat_map(|l| {
                let d = l.div_euclid(86_400);
                [d - 1, d]
            })
            .collect();
        days.sort_unstable();
        days.dedup();
        days
    }

    /// The earliest instant whose wall-clock reading is at or after `l`: a time in a DST gap
    /// resolves to the end of the gap, an ambiguous time to its earlier instant.
    pub fn resolve(&self, l: i64) -> i64 {
        let s = self.segment_for_local(l);
        (l - s.off).max(s.lo_u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_york_has_two_transitions_a_year_and_resolves_gaps_and_folds() {
        let t = ZoneTable::new(chrono_tz::America::New_York);
        // 2024-03-10T07:00Z spring forward, 2024-11-03T06:00Z fall back.
        let spring = 1_710_054_000;
        let fall = 1_730_613_600;
        assert_eq!(t.offset(spring - 1), -5 * 3600);
        assert_eq!(t.offset(spring), -4 * 3600);
        assert_eq!(t.offset(fall - 1), -4 * 3600);
        assert_eq!(t.offset(fall), -5 * 3600);
        let in_2024 =
            t.transitions.iter().filter(|x| (1_704_067_200..1_735_689_600).contains(&x.at)).count();
        assert_eq!(in_2024, 2);
        // Local 02:30 on spring day (nonexistent) -> the transition instant.
        let local_0230 = spring - 5 * 3600 + 1800;
        assert_eq!(t.resolve(local_0230), spring);
        // Local 01:30 on fall day (twice) -> the earlier (EDT) instant.
        let local_0130 = fall - 4 * 3600 - 1800;
        assert_eq!(t.resolve(local_0130), fall - 1800);
        // An ordinary time maps exactly.
        assert_eq!(t.resolve(local_0130 + 86_400), fall - 1800 + 86_400 + 3600);
    }

    #[test]
    fn fixed_zone_has_no_transitions() {
        let t = ZoneTable::new(chrono_tz::UTC);
        assert!(t.transitions.is_empty());
        assert_eq!(t.resolve(12_345), 12_345);
    }
}
