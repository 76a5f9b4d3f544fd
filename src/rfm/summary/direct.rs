//! One pass over a log in time order, with one accumulator per dense id in a table
//! addressed by the id: integer ids, and text ids of decimal digits read as numbers
//! ([`digits`](super::digits)).
//!
//! An append-only log (transactions in the order they happened) of a shop with auto-increment
//! customer ids (as integers, or as text such as `"0004711"`) is the common case this pass
//! is for. A text id is cloned once, when it is first seen, into a list its row takes it
//! from ([`held`](super::held)); the table's slot holds its place in the list. The partitioned passes write every
//! transaction out as a record and read it back; here each transaction updates its
//! customer's accumulator where it sits, so the only memory written besides the rows is the
//! table: 40 bytes of running totals and the key per id in the range (48 bytes for a 64-bit
//! key), about a third of the records' 16 bytes per transaction for a log of twelve
//! transactions per customer. The table is larger than the cache, so each update would wait
//! for memory: the slots of the transactions [`AHEAD`] positions on are prefetched, which
//! keeps that many misses in flight and halves the pass.
//!
//! A customer whose transactions arrive out of time order has its distinct periods counted
//! again at the end, by a second read of the log for those customers only. A log with many
//! such arrivals (shuffled, or newest first) is declined after a first look at its first
//! sixteenth, and takes the range partitions, which handle any order at one cost. Keys
//! outside the sampled range go to two side lists aggregated by hashing, as in
//! [`ranges`](super::ranges). Amounts are summed as `i64` mantissas; a sum beyond that, or
//! scales too far apart ([`MAX_SPREAD`]), declines the pass too, and the partitioned passes
//! sum in 128 bits.

use std::hash::{BuildHasher, Hash};

#[cfg(feature = "rayon")]
use chrono::NaiveDateTime;

use super::acc::{distinct, Acc};
use super::aggregate::Aggregator;
use super::held::{ask_ahead, Held, Listed};
use super::layout::{Ids, Layout};
use super::mantissa::POW10;
#[cfg(feature = "rayon")]
use super::options::SummaryOptions;
use super::options::Transaction;
use super::pass::{prefetch, Key, Pass};
use super::records::{Owned, Packed, Record};
use super::rows::Rows;
use super::table::Summary;
use super::window::{Indexer, Span, Window};
use crate::error::Result;

/// Transactions between a prefetch and the update that needs it: about the memory latency
/// over the time an update takes, with room for the latency's spread.
const AHEAD: usize = 32;

/// Late arrivals (a transaction in an earlier period than its customer's latest) above one in
/// `DISORDER` transactions, in the first sixteenth of the log and among a sixteenth of the
/// customers, decline the pass.
const DISORDER: usize = 32;

/// The number of slots of the table for `layout`, or `None` when the pass declines the log
/// up front: more than one id per four transactions (slots cost 48 bytes for a 64-bit key,
/// and the table would outgrow the records of the partitioned passes), or many late arrivals
/// at the start.
fn width<K: Hash, F: Fn(&K) -> bool>(
    transactions: &[Transaction<K>],
    layout: &Layout,
    span: &Span<'_>,
    keep: &F,
) -> Option<usize> {
    let width = usize::try_from(layout.hi - layout.lo)
        .ok()
        .filter(|&w| w < transactions.len() / 4 + 4096)?
        + 1;
    (!disordered(transactions, layout, width, span, keep)).then_some(width)
}

/// Whether [`summarize`] takes this log, as far as can be told before running it (dense ids,
/// a table of at most one slot per four transactions, few late arrivals at the start).
#[cfg(feature = "rayon")]
pub(super) fn takes<K: Hash>(
    transactions: &[Transaction<K>],
    as_of: NaiveDateTime,
    options: &SummaryOptions,
) -> bool {
    let keep = |_: &K| true;
    Layout::sample(transactions, &keep).is_some_and(|layout| {
        width(transactions, &layout, &Span::new(options, as_of), &keep).is_some()
    })
}

/// Whether the start of the log has many late arrivals: a first look, with a table of a
/// sixteenth of the customers' latest periods, spares a shuffled log the direct table.
fn disordered<K: Hash, F: Fn(&K) -> bool>(
    transactions: &[Transaction<K>],
    layout: &Layout,
    width: usize,
    span: &Span<'_>,
    keep: &F,
) -> bool {
    let mut latest = vec![i32::MIN; width / 16 + 1];
    let mut indexer = Indexer::new(span.options.period);
    let (mut seen, mut late) = (0usize, 0usize);
    for tx in &transactions[..transactions.len() / 16] {
        let j = slot(&tx.customer, layout.ids, layout.lo);
        if j % 16 != 0 || !keep(&tx.customer) {
            continue;
        }
        // A timestamp beyond the calendar is reported by the pass itself.
        let (Some(last), Ok(p)) = (latest.get_mut(j / 16), indexer.index(tx.at)) else { continue };
        seen += 1;
        late += usize::from(p < *last);
        *last = (*last).max(p);
    }
    late * DISORDER > seen
}

/// The widest spread of amount scales the pass takes. The table sums at the scale of the
/// moment and moves sums, not amounts, to a finer scale, so a sum can stay in range where an
/// amount moved to the finest scale would not (a purchase and its refund, say). The other
/// passes move every amount to the finest scale in 128 bits; an `i64` amount moved by at most
/// 18 digits stays below 2^123, and so do the sums of such amounts that fit an `i64` at a
/// coarser scale, so within this spread both ways give the same result. A wider spread
/// (amounts in whole units beside amounts with 19 or more decimals) declines the pass.
const MAX_SPREAD: u32 = 18;

/// What the direct pass made of the log.
pub(super) enum Direct<K> {
    Done(Summary<K>),
    /// Not a log for this pass (too many ids for its transactions, many late arrivals, an
    /// amount beyond `i64`): the range partitions take it.
    Declined,
    /// Two different keys share a view: the hash partitions take it.
    Lossy,
}

/// A slot of the table: the running totals and the key ([`Held`]). `repr(C)` puts the key
/// last, so that prefetching the slot and its key fetches both cache lines a slot can
/// straddle.
#[derive(Clone, Copy)]
#[repr(C)]
struct Entry<H> {
    acc: Acc<i64>,
    key: H,
}

/// Summarises the transactions `keep` accepts by one pass with a table over `layout`'s
/// range: integer keys copied into the table, text ids of digits kept as a position in the
/// log.
pub(super) fn summarize<K: Key, F: Fn(&K) -> bool, S: BuildHasher>(
    pass: &Pass<'_, K, F, S>,
    layout: &Layout,
) -> Result<Direct<K>> {
    match layout.ids {
        Ids::Integers => run::<K, Owned<K>, F, S>(pass, layout),
        Ids::Digits(_) => run::<K, Listed, F, S>(pass, layout),
    }
}

/// [`summarize`] with keys held as `H`.
fn run<K: Key, H: Held<K>, F: Fn(&K) -> bool, S: BuildHasher>(
    pass: &Pass<'_, K, F, S>,
    layout: &Layout,
) -> Result<Direct<K>> {
    let (transactions, span, keep) = (pass.log, &pass.span, pass.keep);
    let (Some(width), Some(first)) =
        (width(transactions, layout, span, keep), transactions.first())
    else {
        return Ok(Direct::Declined);
    };
    let mut table = Table::<K, H>::new(width, layout, &first.customer);
    let mut window = Window::new(span.as_of, span.options);
    // The slots of the next `AHEAD` transactions, found when they were prefetched (a text
    // id's view is worth finding once).
    let mut ahead = [usize::MAX; AHEAD];
    for (slot, t) in ahead.iter_mut().zip(transactions) {
        *slot = table.slot(&t.customer);
    }
    for (i, tx) in transactions.iter().enumerate() {
        let j = ahead[i % AHEAD];
        if let Some(t) = transactions.get(i + AHEAD) {
            ahead[i % AHEAD] = table.prefetch(t);
        }
        if !keep(&tx.customer) {
            continue;
        }
        let Some(p) = window.admit(i, tx)? else { continue };
        if let Err(refusal) = table.add((i, j), tx, p, span.end_p) {
            return Ok(refusal);
        }
    }
    if table.late > 0 {
        let (ids, lo) = (table.ids, table.lo);
        recount(transactions, span, keep, &|k| slot(k, ids, lo), &mut table.entries)?;
    }
    let ids = table.ids;
    match table.into_summary(span, &window, pass) {
        // Ids of digits of several lengths are not in their views' order, and the rows'
        // first error would be another customer's than in key order: a pass that builds the
        // rows in key order reports it.
        Err(_) if ids.digits() => Ok(Direct::Declined),
        done => done,
    }
}

/// The slot of key `k` in a table starting at view `lo`; beyond the table for a key outside
/// the range.
#[inline(always)]
fn slot<K: Hash>(k: &K, ids: Ids, lo: u64) -> usize {
    ids.view(k).map_or(usize::MAX, |v| v.wrapping_sub(lo) as usize)
}

/// The table of the pass, the records of keys outside its range, and what the pass has seen.
struct Table<K, H: Held<K>> {
    entries: Vec<Entry<H>>,
    /// Where the entries' keys live besides the table.
    store: H::Store,
    /// What the keys' views are.
    ids: Ids,
    /// The view of the first slot.
    lo: u64,
    side: Side<K>,
    /// The table's scale (the finest of its amounts so far).
    scale: u32,
    /// The coarsest scale of all amounts.
    coarsest: u32,
    /// Transactions in an earlier period than their customer's latest.
    late: usize,
    customers: usize,
    /// Whether the slots' order is the keys' order ([`Ids::in_key_order`]).
    in_key_order: bool,
}

impl<K: Key, H: Held<K>> Table<K, H> {
    /// A table of `width` vacant slots from the view `layout.lo`; vacant slots hold what
    /// `first` makes and no orders.
    fn new(width: usize, layout: &Layout, first: &K) -> Table<K, H> {
        let vacant = Entry { acc: Acc::vacant(), key: H::vacant(first) };
        Table {
            entries: vec![vacant; width],
            store: H::store(),
            ids: layout.ids,
            lo: layout.lo,
            side: Side { below: Vec::new(), above: Vec::new(), scale: 0 },
            scale: 0,
            coarsest: u32::MAX,
            late: 0,
            customers: 0,
            in_key_order: layout.ids.in_key_order(layout.lo, layout.hi),
        }
    }

    /// The slot of `key`; beyond the table for a key outside the range.
    #[inline(always)]
    fn slot(&self, key: &K) -> usize {
        slot(key, self.ids, self.lo)
    }

    /// Asks for the slot (and its key) of a transaction to come, and returns the slot.
    #[inline(always)]
    fn prefetch(&self, ahead: &Transaction<K>) -> usize {
        let j = self.slot(&ahead.customer);
        if let Some(e) = self.entries.get(j) {
            prefetch(e);
            prefetch(&e.key);
        }
        j
    }

    /// Adds transaction `tx` (at position `at` of the log, its key in slot `j`), inside the
    /// window in period `p`, to its slot or to the side records; `Err` with what the pass
    /// makes of the log when it cannot take it.
    #[inline(always)]
    fn add(
        &mut self,
        (at, j): (usize, usize),
        tx: &Transaction<K>,
        p: i32,
        end_p: i64,
    ) -> std::result::Result<(), Direct<K>> {
        let (Ok(m), s) = (i64::try_from(tx.amount.mantissa()), tx.amount.scale()) else {
            return Err(Direct::Declined);
        };
        self.coarsest = self.coarsest.min(s);
        if j >= self.entries.len() {
            let (ids, lo) = (self.ids, self.lo);
            return match self.side.push(&tx.customer, (ids, lo), m, s, end_p - i64::from(p)) {
                true => Ok(()),
                false => Err(Direct::Declined),
            };
        }
        let amount = if s == self.scale {
            Some(m)
        } else if s < self.scale {
            factor(self.scale - s).and_then(|f| m.checked_mul(f))
        } else {
            // A finer scale than any so far: every running sum moves to it (rare).
            let moved = factor(s - self.scale).is_some_and(|f| rescale(&mut self.entries, f));
            self.scale = s;
            moved.then_some(m)
        };
        let Some(amount) = amount else { return Err(Direct::Declined) };
        let e = &mut self.entries[j];
        if e.acc.orders == 0 {
            let Some(key) = H::new(&tx.customer, at, &mut self.store) else {
                return Err(Direct::Declined);
            };
            *e = Entry { acc: Acc::new(p, amount), key };
            self.customers += 1;
        } else if e.key.holds(&tx.customer) {
            self.late += usize::from(p < e.acc.last_p);
            if e.acc.add(p, amount).is_err() {
                return Err(Direct::Declined);
            }
        } else {
            return Err(Direct::Lossy);
        }
        Ok(())
    }

    /// The rows of the side records and the table, at one scale: the finest of the table's
    /// and the side records'.
    fn into_summary<F, S: BuildHasher>(
        self,
        span: &Span<'_>,
        window: &Window,
        pass: &Pass<'_, K, F, S>,
    ) -> Result<Direct<K>> {
        let (hasher, log) = (pass.hasher, pass.log);
        let last = self.scale.max(self.side.scale);
        if last.saturating_sub(self.coarsest) > MAX_SPREAD {
            return Ok(Direct::Declined);
        }
        let widen = POW10[(last - self.scale) as usize];
        let end_p = span.end_p;
        // Below the range, the table, above the range: the order in which the range
        // partitions build their rows, so that the first error is the same.
        let mut aggregator = Aggregator::new(hasher);
        let mut accs = Vec::new();
        aggregator.aggregate(&[&self.side.below], last, end_p, &mut accs)?;
        let most = self.customers + accs.len() + self.side.above.len();
        let mut rows = Rows::new(most, last, end_p, *span.options);
        accs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (h, acc) in accs.drain(..) {
            rows.push(h.0, &acc)?;
        }
        let (entries, mut store) = (self.entries, self.store);
        // The slots' rows in view order, which is the keys' order for ids of digits of one
        // length: those need not be compared (each text comparison is a call).
        let mut compare = true;
        for (i, e) in entries.iter().enumerate() {
            ask_ahead(&entries, i, |e| &e.key, (&store, log));
            if e.acc.orders == 0 {
                continue;
            }
            // Each slot's key is taken once; the store holds them all.
            let Some(key) = e.key.key(&mut store, log) else { return Ok(Direct::Declined) };
            let acc = e.acc.widen(widen)?;
            if compare {
                rows.push(key, &acc)?;
                compare = !self.in_key_order;
            } else {
                rows.push_ascending(key, &acc)?;
            }
        }
        aggregator.aggregate(&[&self.side.above], last, end_p, &mut accs)?;
        accs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (h, acc) in accs {
            rows.push(h.0, &acc)?;
        }
        Ok(Direct::Done(rows.into_summary(span.as_of, window.excluded, window.negatives)))
    }
}

/// The records of the keys outside the table's range, below and above it, and their finest
/// scale.
struct Side<K> {
    below: Vec<Packed<Owned<K>>>,
    above: Vec<Packed<Owned<K>>>,
    scale: u32,
}

impl<K: Hash + Clone> Side<K> {
    /// Adds a transaction `back` periods before the end; `false` when its key has no view or
    /// its record does not fit.
    fn push(&mut self, key: &K, (ids, lo): (Ids, u64), amount: i64, scale: u32, back: i64) -> bool {
        let (Some(v), Ok(back)) = (ids.view(key), u32::try_from(back)) else { return false };
        let Some(record) = Packed::pack(Owned(key.clone()), amount, scale, back) else {
            return false;
        };
        self.scale = self.scale.max(scale);
        if v < lo {
            self.below.push(record);
        } else {
            self.above.push(record);
        }
        true
    }
}

/// `10^k` as an `i64`, when it is one.
fn factor(k: u32) -> Option<i64> {
    POW10.get(k as usize).and_then(|&f| i64::try_from(f).ok())
}

/// Multiplies every running sum by `f`; `false` on overflow (the table is then abandoned).
fn rescale<H>(table: &mut [Entry<H>], f: i64) -> bool {
    table.iter_mut().filter(|e| e.acc.orders != 0).all(|e| {
        match (e.acc.total.checked_mul(f), e.acc.first_sum.checked_mul(f)) {
            (Some(total), Some(first)) => {
                (e.acc.total, e.acc.first_sum) = (total, first);
                true
            }
            _ => false,
        }
    })
}

/// Exact distinct-period counts for the customers whose transactions arrived out of time
/// order: their periods are gathered by a second read of the log into one group per customer
/// (a counting sort: each one's order count is known) and each group's distinct values are
/// counted ([`distinct`]).
fn recount<K, H, F>(
    transactions: &[Transaction<K>],
    span: &Span<'_>,
    keep: &F,
    slot: &impl Fn(&K) -> usize,
    table: &mut [Entry<H>],
) -> Result<()>
where
    F: Fn(&K) -> bool,
{
    let mut ends: Vec<usize> = Vec::with_capacity(table.len());
    let mut total = 0usize;
    for e in table.iter() {
        ends.push(total);
        if e.acc.out_of_order {
            total += e.acc.orders as usize;
        }
    }
    let mut periods = vec![0i32; total];
    // The first pass made the same checks and found no error.
    let mut window = Window::new(span.as_of, span.options);
    for (i, tx) in transactions.iter().enumerate() {
        if !keep(&tx.customer) {
            continue;
        }
        let Some(p) = window.admit(i, tx)? else { continue };
        let j = slot(&tx.customer);
        if table.get(j).is_some_and(|e| e.acc.out_of_order) {
            // `ends[j]` stays below the group's end: the group holds the customer's orders.
            periods[ends[j]] = p;
            ends[j] += 1;
        }
    }
    // `ends` now holds each group's end.
    for (e, &end) in table.iter_mut().zip(&ends) {
        let a = &mut e.acc;
        if a.out_of_order {
            let group = &mut periods[end - a.orders as usize..end];
            let (first, last) = (i64::from(a.first_p), i64::from(a.last_p));
            a.runs = distinct(group, |&p| i64::from(p) - first, last - first);
            a.out_of_order = false;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::super::keyhash::KeyHasher;
    use super::super::testkit::{at, build, daily_or_weekly, hashed_where as hashed, pass, same};
    use super::*;
    use crate::rfm::SummaryOptions;

    fn direct<K: Ord + Hash + Clone>(
        log: &[Transaction<K>],
        o: &SummaryOptions,
        keep: &impl Fn(&K) -> bool,
    ) -> Direct<K> {
        let layout = Layout::sample(log, keep).unwrap();
        summarize(&pass(log, o, at(), keep, &KeyHasher::default()), &layout).unwrap()
    }

    fn done<K>(d: Direct<K>) -> Option<Summary<K>> {
        match d {
            Direct::Done(s) => Some(s),
            _ => None,
        }
    }

    /// `(customer, day, mantissa, scale)` in time order, with a few late arrivals (the
    /// transactions at the positions in `late` are moved `back` places earlier), and whether
    /// there are any.
    fn arb_time_log() -> impl Strategy<Value = (Vec<(i64, i64, i64, u32)>, bool)> {
        // Ids in a band with rare ones below and above it (outside the sample of long logs),
        // days in time order (after `as_of` too), amounts at mixed scales and of both signs.
        let id = prop_oneof![60 => 1000i64..1200, 1 => 900i64..950, 1 => 1300i64..1350];
        let tx = (id, -300i64..90_000, 0u32..4);
        let log = prop::collection::vec(tx, 1..2000);
        let late = prop::collection::vec((any::<prop::sample::Index>(), 1usize..60), 0..4);
        (log, late, 0i64..10).prop_map(|(txs, late, start)| {
            let n = txs.len();
            let mut raw: Vec<_> = txs
                .into_iter()
                .enumerate()
                .map(|(i, (c, m, s))| (c, start + (i * 140 / n.max(1)) as i64, m, s))
                .collect();
            let disorder = !late.is_empty();
            for (at, back) in late {
                let i = at.index(raw.len());
                let tx = raw.remove(i);
                raw.insert(i.saturating_sub(back), tx);
            }
            (raw, disorder)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn time_ordered_logs_equal_the_hash_partitions((raw, disorder) in arb_time_log(), weekly in any::<bool>()) {
            let o = daily_or_weekly(weekly);
            let all = |_: &u32| true;
            let log = build(&raw, |c| c as u32);
            match done(direct(&log, &o, &all)) {
                Some(d) => prop_assert!(same(&d, &hashed(&log, &o, &all))),
                // Only late arrivals decline a log.
                None => prop_assert!(disorder),
            }
            // Half the customers, as a shard of the parallel version sees them.
            let even = |c: &u32| c.is_multiple_of(2);
            if let Some(layout) = Layout::sample(&log, &even) {
                let s = summarize(&pass(&log, &o, at(), &even, &KeyHasher::default()), &layout).unwrap();
                if let Some(s) = done(s) {
                    prop_assert!(same(&s, &hashed(&log, &o, &even)));
                }
            }
        }

        #[test]
        fn logs_in_any_order_are_summarised_or_declined(raw in prop::collection::vec(
            (0i64..300, 0i64..120, -300i64..90_000, 0u32..3), 1..400)) {
            let o = SummaryOptions::default();
            let all = |_: &i64| true;
            let log = build(&raw, |c| c);
            if let Some(d) = done(direct(&log, &o, &all)) {
                prop_assert!(same(&d, &hashed(&log, &o, &all)));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Text ids of digits: zero-padded to one length (rows in view order, not compared),
        /// after a prefix, or of two lengths (`"950"`, `"1000"`: rows sorted at the end), as
        /// `String` and as bytes.
        #[test]
        fn ids_of_digits_equal_the_hash_partitions((raw, disorder) in arb_time_log(), style in 0..3u8) {
            let o = SummaryOptions::default();
            let text = |c: i64| match style {
                0 => format!("{c:06}"),
                1 => format!("ORD-{c:06}"),
                _ => c.to_string(),
            };
            let log = build(&raw, text);
            let all = |_: &String| true;
            prop_assert!(Layout::sample(&log, &all).is_some_and(|l| l.ids.digits()));
            match done(direct(&log, &o, &all)) {
                Some(d) => {
                    prop_assert!(d.rows().windows(2).all(|w| w[0].customer() < w[1].customer()));
                    prop_assert!(same(&d, &hashed(&log, &o, &all)));
                }
                None => prop_assert!(disorder),
            }
            let log = build(&raw, |c| text(c).into_bytes());
            if let Some(d) = done(direct(&log, &o, &|_: &Vec<u8>| true)) {
                prop_assert!(same(&d, &hashed(&log, &o, &|_: &Vec<u8>| true)));
            }
        }
    }

    /// The first key of each row, as text.
    fn keys(s: &Summary<String>) -> Vec<&str> {
        s.rows().iter().map(|r| r.customer().as_str()).collect()
    }

    #[test]
    fn ids_of_digits_take_the_table_in_key_order() {
        let o = SummaryOptions::default();
        let all = |_: &String| true;
        // One length: the range's margins stay among ids of four digits.
        let log = build(&in_time_order(), |c| format!("{c:04}"));
        let layout = Layout::sample(&log, &all).unwrap();
        assert!(layout.ids.digits());
        assert!(layout.ids.in_key_order(layout.lo, layout.hi));
        let d = done(direct(&log, &o, &all)).unwrap();
        assert!(same(&d, &hashed(&log, &o, &all)));
        assert_eq!(d.len(), 200);
        assert_eq!(keys(&d)[..2], ["0100", "0101"]);
        assert_eq!(d.get(&"0100".to_string()).unwrap().orders(), 20);
        // Ids of one to three digits ("5" to "204"): their views' order is not the keys'
        // ("10" comes before "9"), so the rows are sorted.
        let log = build(&in_time_order(), |c| (c - 95).to_string());
        let layout = Layout::sample(&log, &all).unwrap();
        assert!(!layout.ids.in_key_order(layout.lo, layout.hi));
        let d = done(direct(&log, &o, &all)).unwrap();
        assert!(same(&d, &hashed(&log, &o, &all)));
        assert_eq!(keys(&d)[..4], ["10", "100", "101", "102"]);
        assert_eq!(keys(&d).last(), Some(&"99"));
    }

    #[test]
    fn an_id_that_is_not_digits_declines_the_table() {
        let o = SummaryOptions::default();
        let all = |_: &String| true;
        let free = unsampled();
        let mut log = build(&in_time_order(), |c| format!("{c:04}"));
        // Outside the sample: one id with a letter, one of another length below the range.
        log[free[0]].customer = "01a5".into();
        log[free[1]].customer = "7".into();
        assert!(Layout::sample(&log, &all).is_some());
        assert!(matches!(direct(&log, &o, &all), Direct::Declined));
        let s = crate::rfm::summarize(&log, at(), o).unwrap();
        assert!(same(&s, &hashed(&log, &o, &all)));
        assert_eq!(s.get(&"01a5".to_string()).unwrap().orders(), 1);
        assert_eq!(keys(&s)[0], "0100");
        // Without the letter, the short id is a side record, and its row comes last ("7"
        // after "0299").
        log[free[0]].customer = "0105".into();
        let d = done(direct(&log, &o, &all)).unwrap();
        assert!(same(&d, &hashed(&log, &o, &all)));
        assert_eq!(keys(&d).last(), Some(&"7"));
    }

    /// 4,000 transactions of 200 customers in turn, 50 a day over 80 days before `at()`
    /// (time order).
    fn in_time_order() -> Vec<(i64, i64, i64, u32)> {
        (0..4000).map(|i| (100 + i % 200, i / 50, 100 + i, 2)).collect()
    }

    #[test]
    fn late_arrivals_are_counted_again() {
        let mut raw = in_time_order();
        // Customer 100's purchases on days 0 and 5 arrive at the end: its periods are then
        // seen out of order, and day 5 is a new period, day 0 a repeat of the first.
        raw.push((100, 5, 700, 2));
        raw.push((100, 0, 300, 2));
        let log = build(&raw, |c| c as u64);
        let o = SummaryOptions::default();
        let d = done(direct(&log, &o, &|_: &u64| true)).unwrap();
        assert!(same(&d, &hashed(&log, &o, &|_: &u64| true)));
        let r = d.get(&100).unwrap();
        // Days 0, 4, 8, ..., 76 and the late days 5 and 0: 21 periods of 22 orders.
        assert_eq!((r.orders(), r.purchase_periods(), r.frequency()), (22, 21, 20));
        assert_eq!(r.first_purchase_amount(), Decimal::new(100 + 300, 2));
    }

    #[test]
    fn a_shuffled_log_is_declined() {
        let mut raw = in_time_order();
        raw.reverse();
        let log = build(&raw, |c| c as u64);
        assert!(matches!(
            direct(&log, &SummaryOptions::default(), &|_: &u64| true),
            Direct::Declined
        ));
        // The summary is the same by the range partitions.
        let s = crate::rfm::summarize(&log, at(), SummaryOptions::default()).unwrap();
        assert!(same(&s, &hashed(&log, &SummaryOptions::default(), &|_: &u64| true)));
    }

    #[test]
    fn a_finer_scale_midway_rescales_the_table() {
        let mut raw = in_time_order();
        raw[2000].2 = 12_345;
        raw[2000].3 = 4;
        raw[3000].2 = 7;
        raw[3000].3 = 0;
        let log = build(&raw, |c| c as u64);
        let o = SummaryOptions::default();
        let d = done(direct(&log, &o, &|_: &u64| true)).unwrap();
        assert!(same(&d, &hashed(&log, &o, &|_: &u64| true)));
        let key = raw[2000].0 as u64;
        let expect: Decimal =
            raw.iter().filter(|t| t.0 as u64 == key).map(|t| Decimal::new(t.2, t.3)).sum();
        assert_eq!(d.get(&key).unwrap().total_spend(), expect);
        assert_eq!(d.get(&key).unwrap().total_spend().scale(), 4);
    }

    #[test]
    fn sums_beyond_i64_are_declined_and_summarised_elsewhere() {
        let mut raw = in_time_order();
        raw[10].2 = i64::MAX - 5;
        raw[210].2 = i64::MAX - 5;
        raw[10].0 = 100;
        raw[210].0 = 100;
        let log = build(&raw, |c| c as u64);
        let o = SummaryOptions::default();
        assert!(matches!(direct(&log, &o, &|_: &u64| true), Direct::Declined));
        let s = crate::rfm::summarize(&log, at(), o).unwrap();
        let expect: Decimal =
            raw.iter().filter(|t| t.0 == 100).map(|t| Decimal::new(t.2, t.3)).sum();
        assert_eq!(s.get(&100).unwrap().total_spend(), expect);
    }

    #[test]
    fn ids_outside_the_range_and_sparse_ids() {
        let mut raw = in_time_order();
        // Not among the 1,024 sampled positions (`j * 3999 / 1023`): ids far below and
        // above the band, as side records.
        let sampled: Vec<usize> = (0..1024).map(|j| j * 3999 / 1023).collect();
        let free: Vec<usize> = (2500..).filter(|i| !sampled.contains(i)).take(3).collect();
        for (&i, key) in free.iter().zip([3, 90_000, 3]) {
            raw[i].0 = key;
        }
        let log = build(&raw, |c| c as u64);
        let o = SummaryOptions::default();
        let layout = Layout::sample(&log, &|_: &u64| true).unwrap();
        assert!(layout.lo > 3 && layout.hi < 90_000);
        let d = done(direct(&log, &o, &|_: &u64| true)).unwrap();
        assert!(same(&d, &hashed(&log, &o, &|_: &u64| true)));
        assert_eq!(d.get(&3).unwrap().orders(), 2);
        assert_eq!(d.rows().first().unwrap().customer(), &3);
        assert_eq!(d.rows().last().unwrap().customer(), &90_000);
        // 4,000 transactions over 8,000 ids: dense enough for the range partitions, but a
        // table of 10,000 slots (margins included) is more than one per four transactions
        // and 4,096: declined.
        let wide: Vec<_> = (0..4000).map(|i| ((i * 2) % 8000, i / 50, 100, 2)).collect();
        let log = build(&wide, |c| c as u64);
        assert!(matches!(direct(&log, &o, &|_: &u64| true), Direct::Declined));
        assert!(same(
            &crate::rfm::summarize(&log, at(), o).unwrap(),
            &hashed(&log, &o, &|_: &u64| true)
        ));
    }

    /// Positions of `in_time_order()` that `Layout::sample` does not read, from 2,500 on.
    fn unsampled() -> Vec<usize> {
        let sampled: Vec<usize> = (0..1024).map(|j| j * 3999 / 1023).collect();
        (2500..).filter(|i| !sampled.contains(i)).take(3).collect()
    }

    /// The `Overflow` operation of the summary's error.
    fn overflow(raw: &[(i64, i64, i64, u32)]) -> &'static str {
        let log = build(raw, |c| c as u64);
        match crate::rfm::summarize(&log, at(), SummaryOptions::default()).unwrap_err().kind() {
            crate::ErrorKind::Overflow { operation } => operation,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scales_far_apart_are_declined_and_the_log_order_does_not_matter() {
        let free = unsampled();
        // A purchase and its refund in whole units, and an amount with 28 decimals: moved to
        // scale 28, the purchase is beyond 128 bits, although the customer's sum is not.
        for fine in [100, 3] {
            let mut raw = in_time_order();
            raw[free[0]] = (150, 60, 20_000_000_000, 0);
            raw[free[1]] = (150, 60, -20_000_000_000, 0);
            // In the table (id 100), or below the range (id 3).
            raw[free[2]] = (fine, 60, 1, 28);
            let log = build(&raw, |c| c as u64);
            let o = SummaryOptions::default();
            assert!(matches!(direct(&log, &o, &|_: &u64| true), Direct::Declined));
            assert_eq!(overflow(&raw), "spend sum");
            // The same log with the fine amount first.
            let first = raw.remove(free[2]);
            raw.insert(0, first);
            assert_eq!(overflow(&raw), "spend sum");
        }
    }

    #[test]
    fn errors_come_in_the_order_of_the_range_partitions() {
        let free = unsampled();
        // Customer 150's spend is beyond `Decimal` at scale 28; customer 90,000's (above the
        // range) is beyond 128 bits there. Rows are built in key order, and the first error
        // is 150's, as the range partitions report it.
        let mut raw = in_time_order();
        raw[free[0]] = (150, 60, 10_000_000_000, 0);
        raw[free[1]] = (90_000, 60, 100_000_000_000, 0);
        raw[free[2]] = (3, 60, 1, 28);
        assert_eq!(overflow(&raw), "spend sum beyond the range of Decimal");
        // Both in the table: the rescale of 299's amount fails before the rows are built.
        raw[free[1]].0 = 299;
        assert_eq!(overflow(&raw), "spend sum");
    }

    #[test]
    fn two_keys_with_one_view_are_lossy() {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        struct Lossy(u16, u8);
        impl Hash for Lossy {
            fn hash<S: std::hash::Hasher>(&self, state: &mut S) {
                self.0.hash(state);
            }
        }
        let mut log = build(&in_time_order(), |c| Lossy(c as u16, 0));
        assert!(done(direct(&log, &SummaryOptions::default(), &|_: &Lossy| true)).is_some());
        log[3000].customer.1 = 1;
        assert!(matches!(
            direct(&log, &SummaryOptions::default(), &|_: &Lossy| true),
            Direct::Lossy
        ));
        // The summary tells the two apart, through the hash partitions.
        let s = crate::rfm::summarize(&log, at(), SummaryOptions::default()).unwrap();
        assert_eq!(s.get(&log[3000].customer).unwrap().orders(), 1);
    }
}
