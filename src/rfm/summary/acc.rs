//! A customer's running totals ([`Acc`]), and the count of distinct periods for customers
//! whose transactions arrived out of time order.

use super::mantissa::{Sum, Wide};
use crate::error::{Error, Result};

/// Running totals of one customer (or of one run of consecutive transactions of a customer).
#[derive(Clone, Copy)]
pub(super) struct Acc<S = Wide> {
    /// Sum of all amounts (mantissa at the pass's scale).
    pub(super) total: S,
    /// Sum of the amounts in the first period.
    pub(super) first_sum: S,
    pub(super) first_p: i32,
    /// Latest period so far; while periods arrive in order it is also the latest arrival.
    pub(super) last_p: i32,
    /// Distinct periods, exact unless `out_of_order`.
    pub(super) runs: u32,
    pub(super) orders: u32,
    pub(super) first_orders: u32,
    pub(super) out_of_order: bool,
}

/// `sum + amount`, or the overflow error of a spend sum.
#[inline]
fn add_sum<S: Sum>(sum: S, amount: S::Amount) -> Result<S> {
    sum.plus(amount).ok_or_else(|| Error::overflow("spend sum"))
}

impl<S: Sum> Acc<S> {
    /// The totals of an empty slot of a table: no orders, which is how a slot reads as empty.
    pub(super) fn vacant() -> Acc<S> {
        Acc { orders: 0, ..Acc::new(0, S::Amount::default()) }
    }

    #[inline]
    pub(super) fn new(p: i32, amount: S::Amount) -> Acc<S> {
        Acc {
            total: S::start(amount),
            first_sum: S::start(amount),
            first_p: p,
            last_p: p,
            runs: 1,
            orders: 1,
            first_orders: 1,
            out_of_order: false,
        }
    }

    /// Adds a transaction in period `p`, for transactions that mostly arrive in time order
    /// (the direct table, a customer's run, a partition of a time-ordered log): the
    /// branches are then predicted, and cost less than [`Acc::add_unordered`]'s arithmetic.
    ///
    /// Every sum that can fail is made before anything is written, so that an error leaves
    /// the totals as they were and a caller may add in place: copying the totals out and
    /// back (to keep them on an error) cost a stalled 16-byte load per transaction in the
    /// stream, whose sums are written a word at a time.
    #[inline]
    pub(super) fn add(&mut self, p: i32, amount: S::Amount) -> Result<()> {
        let orders = self.orders.checked_add(1).ok_or_else(|| Error::overflow("order count"))?;
        let total = add_sum(self.total, amount)?;
        let first_sum =
            if p == self.first_p { add_sum(self.first_sum, amount)? } else { self.first_sum };
        (self.orders, self.total) = (orders, total);
        if p > self.last_p {
            self.runs += 1;
            self.last_p = p;
        } else if p < self.last_p {
            // Counted again exactly by the recount.
            self.out_of_order = true;
            self.runs += 1;
        }
        if p <= self.first_p {
            if p < self.first_p {
                self.first_p = p;
                self.first_sum = S::start(amount);
                self.first_orders = 1;
            } else {
                self.first_sum = first_sum;
                self.first_orders += 1;
            }
        }
        Ok(())
    }

    /// [`Acc::add`] without branches on the period, for the range partitions, which take
    /// the logs that are not in time order: there whether `p` is later, earlier or the same
    /// as the customer's latest and first periods is a coin toss, and mispredicted branches
    /// took a third of the update. Always inlined: called apart, it was a tenth of the
    /// partitions' aggregation. The same result as [`Acc::add`] in every case.
    #[inline(always)]
    pub(super) fn add_unordered(&mut self, p: i32, amount: S::Amount) -> Result<()> {
        self.orders = self.orders.checked_add(1).ok_or_else(|| Error::overflow("order count"))?;
        self.total = add_sum(self.total, amount)?;
        // A period other than the latest is one more run; an earlier one makes the count
        // inexact (counted again exactly by the recount).
        self.runs += u32::from(p != self.last_p);
        self.out_of_order |= p < self.last_p;
        self.last_p = self.last_p.max(p);
        let (before, same) = (p < self.first_p, p == self.first_p);
        // Adding nothing cannot overflow, so only the first period's own amounts can.
        let added = add_sum(self.first_sum, if same { amount } else { S::Amount::default() })?;
        self.first_sum = if before { S::start(amount) } else { added };
        self.first_orders = if before { 1 } else { self.first_orders + u32::from(same) };
        self.first_p = self.first_p.min(p);
        Ok(())
    }
}

impl Acc<i64> {
    /// The exact accumulator, its sums multiplied by `factor` (a move to a finer scale).
    #[inline]
    pub(super) fn widen(&self, factor: i128) -> Result<Acc> {
        let mul = |m: i64| {
            i128::from(m)
                .checked_mul(factor)
                .map(Wide::of)
                .ok_or_else(|| Error::overflow("spend sum"))
        };
        let Acc { first_p, last_p, runs, orders, first_orders, out_of_order, .. } = *self;
        let (total, first_sum) = (mul(self.total)?, mul(self.first_sum)?);
        Ok(Acc { total, first_sum, first_p, last_p, runs, orders, first_orders, out_of_order })
    }
}

impl Acc {
    /// Appends a later run of the same customer.
    pub(super) fn absorb(&mut self, o: &Acc) -> Result<()> {
        self.orders =
            self.orders.checked_add(o.orders).ok_or_else(|| Error::overflow("order count"))?;
        self.total = add_sum(self.total, o.total.get())?;
        // Exact when the run starts no earlier than everything before it: the periods then
        // overlap in at most the one shared boundary period.
        if o.out_of_order || o.first_p < self.last_p {
            self.out_of_order = true;
            self.runs = self.runs.saturating_add(o.runs);
        } else {
            self.runs += o.runs - u32::from(o.first_p == self.last_p);
        }
        if o.first_p < self.first_p {
            self.first_p = o.first_p;
            self.first_sum = o.first_sum;
            self.first_orders = o.first_orders;
        } else if o.first_p == self.first_p {
            self.first_sum = add_sum(self.first_sum, o.first_sum.get())?;
            self.first_orders += o.first_orders;
        }
        self.last_p = self.last_p.max(o.last_p);
        Ok(())
    }

    pub(super) fn rescale(&mut self, factor: i128) -> Result<()> {
        let mul = |m: i128| m.checked_mul(factor).ok_or_else(|| Error::overflow("spend sum"));
        self.total.set(mul(self.total.get())?);
        self.first_sum.set(mul(self.first_sum.get())?);
        Ok(())
    }
}

/// Periods a stack bitset covers: over 5 years of days.
const BITSET_SPAN: usize = 2048;

/// The number of distinct values among `values`, whose offsets (`offset`) lie in
/// `0..=max_offset`. A customer's periods usually span a few years of days, so a bitset over
/// that span counts them in a few operations per value; a longer span (or an offset outside
/// it) falls back to sorting.
pub(super) fn distinct<T: Ord>(
    values: &mut [T],
    offset: impl Fn(&T) -> i64,
    max_offset: i64,
) -> u32 {
    if usize::try_from(max_offset).is_ok_and(|m| m < BITSET_SPAN) {
        let mut bits = [0u64; BITSET_SPAN / 64];
        let mut inside = true;
        for v in values.iter() {
            match usize::try_from(offset(v)).ok().and_then(|o| bits.get_mut(o >> 6).map(|w| (w, o)))
            {
                Some((w, o)) => *w |= 1 << (o & 63),
                None => inside = false,
            }
        }
        if inside {
            // At most `values.len()`, which callers count in `u32`.
            return bits.iter().map(|w| w.count_ones()).sum();
        }
    }
    values.sort_unstable();
    // At most `values.len()`, which callers count in `u32`.
    (1 + values.windows(2).filter(|w| w[0] != w[1]).count()) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_exactly_when_in_order() {
        // Periods 1, 2 | 2, 5: three distinct periods.
        let mut a = Acc::new(1, 10);
        a.add(2, 20).unwrap();
        let mut b = Acc::new(2, 5);
        b.add(5, 1).unwrap();
        a.absorb(&b).unwrap();
        assert_eq!((a.runs, a.orders, a.first_p, a.last_p, a.out_of_order), (3, 4, 1, 5, false));
        assert_eq!((a.total.get(), a.first_sum.get()), (36, 10));
        // A run starting before the last period seen is flagged for the exact recount.
        let mut c = Acc::new(3, 1);
        c.absorb(&Acc::new(1, 1)).unwrap();
        assert!(c.out_of_order);
        assert_eq!((c.first_p, c.first_sum.get(), c.first_orders), (1, 1, 1));
    }

    #[test]
    fn both_updates_agree_in_any_order() {
        // Periods repeated, earlier, later and equal to the first, amounts of both signs.
        let periods = [5, 5, 3, 9, 3, 1, 9, 1, 2, 12, 0, 0, 7];
        let (mut a, mut b) = (Acc::<i64>::new(4, 10), Acc::<i64>::new(4, 10));
        for (i, &p) in periods.iter().enumerate() {
            let amount = i as i64 * 7 - 20;
            a.add(p, amount).unwrap();
            b.add_unordered(p, amount).unwrap();
            let fields = |x: &Acc<i64>| {
                (x.total, x.first_sum, x.first_p, x.last_p, x.runs, x.orders, x.first_orders)
            };
            assert_eq!(fields(&a), fields(&b), "after period {p}");
            assert_eq!(a.out_of_order, b.out_of_order);
        }
        // The first period's amounts only, at the limit: neither overflows on the others.
        let (mut a, mut b) = (Acc::<i64>::new(3, i64::MAX), Acc::<i64>::new(3, i64::MAX));
        assert!(a.add(5, -1).is_ok() && b.add_unordered(5, -1).is_ok());
        assert_eq!((a.first_sum, b.first_sum), (i64::MAX, i64::MAX));
    }

    /// An add that overflows a sum leaves every total as it was (the stream adds in place).
    #[test]
    fn a_failed_add_changes_nothing() {
        let fields = |x: &Acc<i64>| {
            (x.total, x.first_sum, x.first_p, x.last_p, x.runs, x.orders, x.first_orders)
        };
        // The total overflows.
        let mut a = Acc::<i64>::new(3, i64::MAX - 1);
        let before = fields(&a);
        assert!(a.add(5, 2).is_err());
        assert_eq!(fields(&a), before);
        // Only the first period's sum overflows (a refund in between keeps the total in
        // range), on an add in a later period than the latest one's and in the first.
        let mut a = Acc::<i64>::new(3, i64::MAX - 1);
        a.add(5, -10).unwrap();
        let before = fields(&a);
        assert!(a.add(3, 5).is_err());
        assert_eq!(fields(&a), before);
        assert!(!a.out_of_order);
        // The order count overflows.
        let mut a = Acc::<i64>::new(3, 1);
        a.orders = u32::MAX;
        let before = fields(&a);
        assert!(a.add(7, 1).is_err());
        assert_eq!(fields(&a), before);
    }

    #[test]
    fn distinct_counts_by_bitset_or_by_sort() {
        let off = |v: &i64| *v - 100;
        // A short span: the bitset, including both ends of the range.
        let mut v = vec![105, 100, 105, 2147, 100, 120];
        assert_eq!(distinct(&mut v, off, 2047), 4);
        // A span beyond the bitset: sorted and counted.
        let mut v = vec![100, 5000, 100, 2148, 3000];
        assert_eq!(distinct(&mut v, off, 4900), 4);
        // An offset outside the stated range falls back to sorting rather than miscount.
        let mut v = vec![100, 99, 100, 101];
        assert_eq!(distinct(&mut v, off, 10), 3);
        let mut one = vec![7];
        assert_eq!(distinct(&mut one, |v: &i64| *v - 7, 0), 1);
    }
}
