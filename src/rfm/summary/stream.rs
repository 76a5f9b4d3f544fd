//! A summary built while the log is read ([`SummaryStream`]), for logs too large to hold.
//!
//! [`summarize`](super::summarize()) takes the whole log as a slice, so a host reading a file
//! holds every transaction (tens of bytes each) before the first row is made. A stream keeps
//! only each customer's running totals (a key and 56 bytes), so a host can read a log of any
//! length in pieces, push each transaction as it is parsed and drop the text. The price is
//! one condition: each customer's transactions must arrive in time order (any order within a
//! period). An append-only log in the order it was written meets it, and so does a log grouped
//! by customer with each customer's purchases by date; a customer's purchase in an earlier
//! period than one already pushed is refused with a typed error, because the count of
//! distinct purchase periods (lifetimes' `frequency`) cannot be mended without the periods
//! already seen. A host that may meet such a log keeps the file and summarises it whole
//! instead (the `loyalty` command does this).
//!
//! Streams of consecutive stretches of one log, read on several threads, join with
//! [`SummaryStream::append`] (or `append_par`, on every core); the rows equal [`summarize`](super::summarize())'s for the
//! whole log, to the scale of every amount. One difference at the edge of `Decimal`: the
//! stream keeps each running sum at the finest scale seen so far, while `summarize`'s
//! partitioned passes move every amount to the finest scale of the whole log in 128 bits
//! first, so a log whose amounts, so moved, leave 128 bits (a purchase and its refund of
//! 10^18 beside an amount with 28 decimals) may be summed by the stream and refused by
//! `summarize`. Below 2^63 for the sum of the amounts' mantissas at the finest scale, both
//! always agree (the `loyalty` command checks this bound before it trusts a stream).

use std::hash::{BuildHasher, Hash};

use chrono::NaiveDateTime;

use super::acc::Acc;
use super::keyhash::KeyHasher;
use super::mantissa::POW10;
use super::options::{SummaryOptions, Transaction};
use super::rows;
#[cfg(feature = "rayon")]
use super::rows::Rows;
use super::slots::{Entry, Slots};
use super::table::Summary;
#[cfg(feature = "rayon")]
use super::window::Span;
use super::window::Window;
use crate::error::{Error, Result};

/// The running summary of a log read in pieces, each customer's transactions in time order.
///
/// # Example
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::rfm::{summarize, SummaryOptions, SummaryStream, Transaction};
/// use rust_decimal::Decimal;
///
/// let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
/// let log = [
///     Transaction::on(7u64, day(1), Decimal::new(1250, 2)),
///     Transaction::on(9, day(2), Decimal::TEN),
///     Transaction::on(7, day(5), Decimal::new(8, 0)),
/// ];
/// // `None`: the observation ends at the latest purchase pushed, lifetimes' default.
/// let mut stream = SummaryStream::new(None, SummaryOptions::default());
/// for tx in &log {
///     stream.push(tx)?;
/// }
/// let s = stream.finish()?;
/// assert_eq!(s, summarize(&log, day(5), SummaryOptions::default())?);
/// assert_eq!(s.get(&7).map(|r| (r.frequency(), r.recency(), r.t())), Some((1, 4.0, 4.0)));
///
/// // A purchase of customer 7 on an earlier day than its last one is refused, and the stream
/// // is left as it was.
/// let mut stream = SummaryStream::new(None, SummaryOptions::default());
/// stream.push(&log[2])?;
/// assert!(stream.push(&log[0]).is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
pub struct SummaryStream<K, S = KeyHasher> {
    options: SummaryOptions,
    /// The end of observation given; `None` for the latest purchase.
    as_of: Option<NaiveDateTime>,
    window: Window,
    slots: Slots<K, S>,
    /// The scale of every running sum: the finest of the amounts pushed.
    scale: u32,
    /// Transactions pushed, for the position an error names.
    pushed: u64,
    latest: Option<NaiveDateTime>,
}

impl<K: Hash + Eq + Clone> SummaryStream<K> {
    /// An empty stream summarising at `as_of` (transactions after it are left out and counted,
    /// as [`summarize`](super::summarize()) leaves them out), or, for `None`, at the latest
    /// purchase pushed (lifetimes' default `observation_period_end`).
    #[must_use]
    pub fn new(as_of: Option<NaiveDateTime>, options: SummaryOptions) -> SummaryStream<K> {
        SummaryStream::with_hasher(as_of, options, KeyHasher::default())
    }
}

impl<K: Hash + Eq + Clone, S: BuildHasher + Clone> SummaryStream<K, S> {
    /// [`SummaryStream::new`] with the hasher of customer keys given (a [`KeyHasher`] with a
    /// seed from the host, for ids an attacker may choose).
    #[must_use]
    pub fn with_hasher(
        as_of: Option<NaiveDateTime>,
        options: SummaryOptions,
        hasher: S,
    ) -> SummaryStream<K, S> {
        let window = match as_of {
            Some(at) => Window::new(at, &options),
            None => Window::open(&options),
        };
        SummaryStream {
            options,
            as_of,
            window,
            slots: Slots::new(hasher),
            scale: 0,
            pushed: 0,
            latest: None,
        }
    }

    /// The number of customers so far.
    #[must_use]
    pub fn customers(&self) -> usize {
        self.slots.len()
    }

    /// Asks the memory for `customer`'s running totals, for a host that parses ahead: called
    /// some thirty transactions before that customer's [`push`](SummaryStream::push), it
    /// keeps that many fetches in flight instead of one (integer ids that fill a range; a
    /// hint that changes nothing, and does nothing for other keys).
    #[inline]
    pub fn prefetch(&self, customer: &K) {
        self.slots.prefetch(customer);
    }

    /// Adds the next transaction.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the transaction's
    /// position among those pushed: a negative amount when the options reject them, a
    /// timestamp too far from year 0 for hourly periods, or a purchase in an earlier period
    /// than the same customer's latest one pushed (the stream needs each customer's
    /// transactions in time order); [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) when
    /// a customer's spend, its order count or the number of customers no longer fits. The
    /// stream is then as it was.
    #[inline]
    pub fn push(&mut self, tx: &Transaction<K>) -> Result<()> {
        let at = usize::try_from(self.pushed).unwrap_or(usize::MAX);
        let counts = (self.window.excluded, self.window.negatives);
        let result = self.admit(at, tx);
        match result {
            Ok(()) => self.pushed += 1,
            Err(_) => (self.window.excluded, self.window.negatives) = counts,
        }
        result
    }

    /// [`SummaryStream::push`] before the counts are restored on an error: nothing else is
    /// changed until nothing can fail.
    #[inline(always)]
    fn admit(&mut self, at: usize, tx: &Transaction<K>) -> Result<()> {
        let Some(p) = self.window.admit(at, tx)? else { return Ok(()) };
        let j = self.slots.find(&tx.customer);
        match j {
            Some(j) if p < self.slots.entries[j].acc.last_p => {
                return Err(Error::invalid_record(
                    at,
                    "at",
                    tx.at,
                    "a purchase in an earlier period than the customer's latest one \
                     pushed: a stream needs each customer's transactions in time order",
                ));
            }
            None if self.slots.full() => return Err(Error::overflow("customer count")),
            _ => {}
        }
        let (m, s) = (tx.amount.mantissa(), tx.amount.scale());
        // A finer scale than any so far moves every running sum to it, last (at most 28
        // times in a stream's life).
        let (amount, finer) = if s <= self.scale {
            let m = m.checked_mul(POW10[(self.scale - s) as usize]);
            (m.ok_or_else(|| Error::overflow("spend sum"))?, None)
        } else {
            (m, Some(POW10[(s - self.scale) as usize]))
        };
        if let (Some(j), None) = (j, finer) {
            // The common case, in place: `Acc::add` writes nothing when it fails.
            self.slots.entries[j].acc.add(p, amount)?;
            self.latest = self.latest.max(Some(tx.at));
            return Ok(());
        }
        let acc = match j {
            Some(j) => {
                let mut acc = self.slots.entries[j].acc;
                if let Some(factor) = finer {
                    acc.rescale(factor)?;
                }
                acc.add(p, amount)?;
                Some(acc)
            }
            None => None,
        };
        if let Some(factor) = finer {
            self.refine(factor)?;
            self.scale = s;
        }
        match (j, acc) {
            (Some(j), Some(acc)) => self.slots.entries[j].acc = acc,
            _ => self.slots.insert(tx.customer.clone(), Acc::new(p, amount))?,
        }
        self.latest = self.latest.max(Some(tx.at));
        Ok(())
    }

    /// Multiplies every running sum by `factor` (a move to a finer scale), or none of them
    /// when one would overflow.
    #[cold]
    fn refine(&mut self, factor: i128) -> Result<()> {
        for e in &self.slots.entries {
            e.acc.clone().rescale(factor)?;
        }
        for e in &mut self.slots.entries {
            e.acc.rescale(factor)?;
        }
        Ok(())
    }

    /// Appends `later`, the stream of the stretch of the same log that follows this one's
    /// (each customer's purchases there no earlier in period than its latest one here).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the two streams have
    /// different ends of observation or options, or when a customer's purchases in `later`
    /// start in an earlier period than its latest one here;
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) when a sum or the number of
    /// customers no longer fits. This stream is then as it was.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use loyalty::rfm::{summarize, SummaryOptions, SummaryStream, Transaction};
    /// use rust_decimal::Decimal;
    ///
    /// let day = |d| NaiveDate::from_ymd_opt(2024, 3, d).unwrap();
    /// let log: Vec<_> = [(1u64, 1), (2, 2), (1, 4), (1, 9), (3, 9), (2, 12)]
    ///     .map(|(c, d)| Transaction::on(c, day(d), Decimal::TEN))
    ///     .to_vec();
    /// // Two consecutive stretches, as two threads would read them, then joined in order.
    /// let (early, late) = log.split_at(3);
    /// let stream_of = |part: &[Transaction<u64>]| {
    ///     let mut s = SummaryStream::new(None, SummaryOptions::default());
    ///     part.iter().try_for_each(|tx| s.push(tx)).map(|()| s)
    /// };
    /// let mut whole = stream_of(early)?;
    /// whole.append(stream_of(late)?)?;
    /// assert_eq!(whole.customers(), 3);
    /// assert_eq!(whole.finish()?, summarize(&log, day(12), SummaryOptions::default())?);
    ///
    /// // The other way round, customer 1's day-4 purchase would come before its day 9.
    /// let mut late_first = stream_of(late)?;
    /// assert!(late_first.append(stream_of(early)?).is_err());
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    pub fn append(&mut self, later: SummaryStream<K, S>) -> Result<()> {
        self.joinable(&later)?;
        let counts = (later.window.excluded, later.window.negatives, later.pushed, later.latest);
        let scale = self.scale.max(later.scale);
        let here = POW10[(scale - self.scale) as usize];
        let there = POW10[(scale - later.scale) as usize];
        let later = later.slots.entries;
        // First every check, with nothing changed (so that an error leaves this stream as it
        // was, without a copy of its totals), then the same steps again, applied.
        if here != 1 {
            for e in &self.slots.entries {
                e.acc.clone().rescale(here)?;
            }
        }
        let mut fresh = 0usize;
        for k in 0..later.len() {
            let Some((at, theirs)) = placed(&self.slots, &later, k, there)? else { continue };
            match at {
                Some(i) => {
                    let mut mine = self.slots.entries[i].acc;
                    mine.rescale(here)?;
                    merged(mine, &theirs)?;
                }
                None => fresh += 1,
            }
        }
        if self.slots.len() + fresh > u32::MAX as usize {
            return Err(Error::overflow("customer count"));
        }
        if here != 1 {
            for e in &mut self.slots.entries {
                e.acc.rescale(here)?;
            }
        }
        for k in 0..later.len() {
            let Some((at, theirs)) = placed(&self.slots, &later, k, there)? else { continue };
            match at {
                Some(i) => self.slots.entries[i].acc = merged(self.slots.entries[i].acc, &theirs)?,
                None => self.slots.insert(later[k].key.clone(), theirs)?,
            }
        }
        self.joined(scale, counts);
        Ok(())
    }

    /// [`SummaryStream::append`] with its passes over the two streams made on every core,
    /// when both keep their customers in tables laid out by id and `later`'s ids lie within
    /// this one's (or not far past its end): the streams of consecutive stretches of a log
    /// whose customers the first stretch has mostly seen. Otherwise `append` itself. The
    /// same result and the same errors, and on an error this stream is as it was.
    ///
    /// # Errors
    ///
    /// As [`SummaryStream::append`].
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use loyalty::rfm::{SummaryOptions, SummaryStream, Transaction};
    /// use rust_decimal::Decimal;
    ///
    /// let day = |d| NaiveDate::from_ymd_opt(2024, 3, d).unwrap();
    /// let stream_of = |part: &[(u64, u32)]| {
    ///     let mut s = SummaryStream::new(None, SummaryOptions::default());
    ///     for &(c, d) in part {
    ///         s.push(&Transaction::on(c, day(d), Decimal::TEN))?;
    ///     }
    ///     Ok::<_, loyalty::Error>(s)
    /// };
    /// let (early, late) = ([(1, 1), (2, 2), (1, 4)], [(1, 9), (3, 9), (2, 12)]);
    /// let (mut a, mut b) = (stream_of(&early)?, stream_of(&early)?);
    /// a.append(stream_of(&late)?)?;
    /// b.append_par(stream_of(&late)?)?;
    /// assert_eq!(a.finish()?, b.finish()?);
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    #[cfg(feature = "rayon")]
    pub fn append_par(&mut self, later: SummaryStream<K, S>) -> Result<()>
    where
        K: Send + Sync,
    {
        use rayon::prelude::*;

        let Some(offset) = self.slots.aligned(&later.slots) else { return self.append(later) };
        self.joinable(&later)?;
        let counts = (later.window.excluded, later.window.negatives, later.pushed, later.latest);
        let scale = self.scale.max(later.scale);
        let here = POW10[(scale - self.scale) as usize];
        let there = POW10[(scale - later.scale) as usize];
        let theirs = &later.slots.entries;
        // First every check, in the order `append` makes them (the chunks' results are
        // read in order), with nothing changed.
        if here != 1 {
            let checks: Vec<Result<()>> = (self.slots.entries.par_chunks(PAR_CHUNK))
                .map(|part| part.iter().try_for_each(|e| e.acc.clone().rescale(here)))
                .collect();
            checks.into_iter().collect::<Result<()>>()?;
        }
        let mine = &self.slots.entries;
        let checks: Vec<Result<Option<usize>>> = theirs
            .par_chunks(PAR_CHUNK)
            .enumerate()
            .map(|(c, part)| {
                let mut fresh = 0;
                for (i, t) in part.iter().enumerate().filter(|(_, t)| t.held()) {
                    let mut acc = t.acc;
                    acc.rescale(there)?;
                    match mine.get(offset + c * PAR_CHUNK + i) {
                        Some(m) if m.held() && m.key != t.key => return Ok(None),
                        Some(m) if m.held() => {
                            let mut own = m.acc;
                            own.rescale(here)?;
                            merged(own, &acc)?;
                        }
                        _ => fresh += 1,
                    }
                }
                Ok(Some(fresh))
            })
            .collect();
        let mut fresh = 0usize;
        for check in checks {
            match check? {
                Some(n) => fresh += n,
                // Two keys with one view: the hash map's way, which `append` takes.
                None => return self.append(later),
            }
        }
        if self.slots.len() + fresh > u32::MAX as usize {
            return Err(Error::overflow("customer count"));
        }
        // Then the same steps, applied: none can fail now.
        if here != 1 {
            self.slots.entries.par_iter_mut().for_each(|e| {
                let checked = e.acc.rescale(here);
                debug_assert!(checked.is_ok());
            });
        }
        let end = offset + theirs.len();
        self.slots.cover(end);
        self.slots.entries[offset..end]
            .par_chunks_mut(PAR_CHUNK)
            .zip(theirs.par_chunks(PAR_CHUNK))
            .for_each(|(mine, part)| {
                for (m, t) in mine.iter_mut().zip(part).filter(|(_, t)| t.held()) {
                    let mut acc = t.acc;
                    let checked = acc.rescale(there);
                    debug_assert!(checked.is_ok());
                    if m.held() {
                        let both = merged(m.acc, &acc);
                        debug_assert!(both.is_ok());
                        if let Ok(both) = both {
                            m.acc = both;
                        }
                    } else {
                        *m = Entry { acc, key: t.key.clone() };
                    }
                }
            });
        self.slots.took(fresh, &later.slots);
        self.joined(scale, counts);
        Ok(())
    }

    /// Whether `later` may follow this stream: the same end of observation and options.
    fn joinable(&self, later: &SummaryStream<K, S>) -> Result<()> {
        if self.as_of != later.as_of {
            return Err(Error::invalid(
                "as_of",
                format!("{:?}", later.as_of),
                format!("streams to append must share as_of {:?}", self.as_of),
            ));
        }
        if self.options != later.options {
            return Err(Error::invalid(
                "options",
                format!("{:?}", later.options),
                "streams to append must share their options",
            ));
        }
        Ok(())
    }

    /// The scale and the counts of a stream appended: (left out after as-of, negative
    /// amounts, pushed, latest purchase).
    fn joined(&mut self, scale: u32, counts: (u64, u64, u64, Option<NaiveDateTime>)) {
        self.scale = scale;
        self.window.excluded += counts.0;
        self.window.negatives += counts.1;
        self.pushed += counts.2;
        self.latest = self.latest.max(counts.3);
    }

    /// The summary of every transaction pushed: the same as
    /// [`summarize`](super::summarize()) of the whole log at the stream's end of observation.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) when nothing was pushed, and
    /// the errors of [`summarize`](super::summarize()) that only the rows can meet (a spend
    /// beyond `Decimal`, a span of periods beyond `u32`).
    pub fn finish(self) -> Result<Summary<K>>
    where
        K: Ord,
    {
        let (as_of, order) = self.ended()?;
        let entries = &self.slots.entries;
        let len = order.len();
        // Keys are cloned (once each, as `summarize` clones them): taking them out of the
        // entries in another order than theirs would need a second copy of the entries.
        let keyed = order.into_iter().map(|s| {
            let e = &entries[s as usize];
            (e.key.clone(), e.acc)
        });
        let end_p = self.options.period.index(as_of);
        rows::finish(
            keyed,
            len,
            self.scale,
            as_of,
            end_p,
            self.options,
            self.window.excluded,
            self.window.negatives,
        )
    }

    /// [`SummaryStream::finish`] with the rows made on every core (a tenth of a second for
    /// 400,000 customers on one).
    ///
    /// # Errors
    ///
    /// As [`SummaryStream::finish`].
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use loyalty::rfm::{SummaryOptions, SummaryStream, Transaction};
    /// use rust_decimal::Decimal;
    ///
    /// let day = |d| NaiveDate::from_ymd_opt(2024, 3, d).unwrap();
    /// let mut a = SummaryStream::new(None, SummaryOptions::default());
    /// let mut b = SummaryStream::new(None, SummaryOptions::default());
    /// for (c, d) in [(7u64, 1), (8, 2), (7, 5)] {
    ///     let tx = Transaction::on(c, day(d), Decimal::ONE);
    ///     a.push(&tx)?;
    ///     b.push(&tx)?;
    /// }
    /// assert_eq!(a.finish_par()?, b.finish()?);
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    #[cfg(feature = "rayon")]
    pub fn finish_par(self) -> Result<Summary<K>>
    where
        K: Ord + Send + Sync,
        S: Sync,
    {
        use rayon::prelude::*;

        if self.slots.len() == 0 {
            // No customer (every purchase after as-of): no share to join.
            return self.finish();
        }
        let (as_of, order) = self.ended()?;
        let entries = &self.slots.entries;
        let span = Span::new(&self.options, as_of);
        let share = order.len().div_ceil(rayon::current_num_threads().max(1)).max(1);
        let shares: Vec<Result<Rows<K>>> = order
            .par_chunks(share)
            .enumerate()
            .map(|(t, part)| {
                // The first share has room for every row, which the others are moved into:
                // no copy of its own rows to a larger table then.
                let room = if t == 0 { order.len() } else { part.len() };
                let mut rows = Rows::new(room, self.scale, span.end_p, self.options);
                for &s in part {
                    let e = &entries[s as usize];
                    rows.push(e.key.clone(), &e.acc)?;
                }
                Ok(rows)
            })
            .collect();
        rows::join_shares(shares, &span, (self.window.excluded, self.window.negatives))
    }

    /// The end of observation and the positions of the customers' entries in key order.
    fn ended(&self) -> Result<(NaiveDateTime, Vec<u32>)>
    where
        K: Ord,
    {
        let as_of = match (self.as_of, self.latest) {
            (Some(at), _) | (None, Some(at)) => at,
            (None, None) => return Err(Error::empty("transaction log")),
        };
        if self.pushed == 0 {
            return Err(Error::empty("transaction log"));
        }
        let (mut order, by_view) = self.slots.order();
        let key = |s: u32| &self.slots.entries[s as usize].key;
        // The table's order is the views', which is the keys' for the integer types (a
        // comparison a key, to be sure: a key's `Ord` may disagree with the integer its
        // `Hash` writes).
        if !by_view || !order.windows(2).all(|w| key(w[0]) < key(w[1])) {
            order.sort_unstable_by(|&a, &b| key(a).cmp(key(b)));
        }
        Ok((as_of, order))
    }
}

/// Entries of a later stream a thread of [`SummaryStream::append_par`] takes at a time.
#[cfg(feature = "rayon")]
const PAR_CHUNK: usize = 1 << 14;

/// A customer of both streams: this stream's totals (at the shared scale) followed by
/// `later`'s, when they follow in time.
fn merged(mut mine: Acc, theirs: &Acc) -> Result<Acc> {
    if theirs.first_p < mine.last_p {
        return Err(Error::invalid(
            "later",
            format!("period {}", theirs.first_p),
            "a customer's purchases in the later stream start before its latest period in \
             this one: streams must follow each other in time",
        ));
    }
    mine.absorb(theirs)?;
    Ok(mine)
}

/// Entry `k` of a later stream's `later`, when a customer holds it: its place among
/// `slots` (`None` for a customer new to them) and its totals moved to the shared scale by
/// `factor`. Asks the memory for the entry 32 places on, as [`SummaryStream::prefetch`] does
/// for a host: both passes of [`SummaryStream::append`] walk `later` in order.
fn placed<K: Hash + Eq + Clone, S: BuildHasher + Clone>(
    slots: &Slots<K, S>,
    later: &[Entry<K>],
    k: usize,
    factor: i128,
) -> Result<Option<(Option<usize>, Acc)>> {
    if let Some(ahead) = later.get(k + 32) {
        slots.prefetch(&ahead.key);
    }
    let e = &later[k];
    if !e.held() {
        return Ok(None);
    }
    let mut theirs = e.acc;
    theirs.rescale(factor)?;
    Ok(Some((slots.find(&e.key), theirs)))
}

impl<K, S> std::fmt::Debug for SummaryStream<K, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SummaryStream")
            .field("options", &self.options)
            .field("as_of", &self.as_of)
            .field("customers", &self.slots.len())
            .field("pushed", &self.pushed)
            .field("scale", &self.scale)
            .field("latest", &self.latest)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::super::summarize::summarize;
    use super::super::testkit::{build, same};
    use super::*;
    use crate::rfm::{
        Cutoff, FirstPurchase, FrequencyCount, MonetaryMeasure, NegativeAmounts, Period,
    };

    /// Every combination of the summary's options a log can be read with.
    fn arb_options() -> impl Strategy<Value = SummaryOptions> {
        let period = prop_oneof![Just(Period::DAY), Just(Period::WEEK), Just(Period::MONTH)];
        (period, any::<[bool; 5]>()).prop_map(|(period, [c, f, q, m, n])| {
            SummaryOptions::default()
                .period(period)
                .cutoff(if c { Cutoff::Instant } else { Cutoff::EndOfPeriod })
                .first_purchase(if f { FirstPurchase::Included } else { FirstPurchase::Excluded })
                .frequency(if q { FrequencyCount::Orders } else { FrequencyCount::Periods })
                .monetary(if m { MonetaryMeasure::Total } else { MonetaryMeasure::Mean })
                .negative_amounts(if n {
                    NegativeAmounts::Reject
                } else {
                    NegativeAmounts::Subtract
                })
        })
    }

    /// `(customer, day, mantissa, scale)` with each customer's days ascending and the
    /// customers interleaved: a time-ordered log, or one grouped by customer.
    fn arb_ordered_log() -> impl Strategy<Value = Vec<(u32, i64, i64, u32)>> {
        let tx = (0u32..40, 0i64..200, -500i64..90_000, 0u32..4);
        (prop::collection::vec(tx, 1..300), any::<bool>()).prop_map(|(mut raw, grouped)| {
            if grouped {
                raw.sort_by_key(|t| (t.0, t.1));
            } else {
                raw.sort_by_key(|t| t.1);
            }
            raw
        })
    }

    fn streamed<K: Ord + Hash + Clone>(
        log: &[Transaction<K>],
        as_of: Option<NaiveDateTime>,
        o: SummaryOptions,
    ) -> Result<Summary<K>> {
        let mut s = SummaryStream::new(as_of, o);
        for (i, tx) in log.iter().enumerate() {
            // The hint changes nothing, wherever it points.
            if let Some(ahead) = log.get(i + 3) {
                s.prefetch(&ahead.customer);
            }
            s.push(tx)?;
        }
        s.finish()
    }

    /// A key whose `Hash` writes one integer shared by three keys: the table must notice
    /// and move to the hash map.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct Shared(u32);

    impl Hash for Shared {
        fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
            state.write_u32(self.0 / 3);
        }
    }

    /// A key whose `Hash` writes its integer and whose order is the reverse: the table's
    /// order (the views') is not the keys'.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    struct Rev(u32);

    impl PartialOrd for Rev {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }

    impl Ord for Rev {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            other.0.cmp(&self.0)
        }
    }

    /// The stream against `summarize` for one key type.
    fn agrees<K: Ord + Hash + Clone + Send + Sync + std::fmt::Debug>(
        log: &[Transaction<K>],
        as_of: Option<NaiveDateTime>,
        o: SummaryOptions,
    ) -> std::result::Result<(), TestCaseError> {
        let latest = log.iter().map(|t| t.at).max().unwrap();
        let whole = summarize(log, as_of.unwrap_or(latest), o);
        match (streamed(log, as_of, o), &whole) {
            (Ok(s), Ok(w)) => prop_assert!(same(&s, w), "{s:?}\n{w:?}"),
            (Err(a), Err(b)) => prop_assert_eq!(a.kind().to_string(), b.kind().to_string()),
            (a, b) => prop_assert!(false, "stream {a:?}, summarize {b:?}"),
        }
        #[cfg(feature = "rayon")]
        {
            // The rows on 3 threads: the same, or the same error.
            let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
            let mut s = SummaryStream::new(as_of, o);
            let pushed = log.iter().try_for_each(|t| s.push(t));
            match (pushed.and_then(|()| pool.install(|| s.finish_par())), &whole) {
                (Ok(s), Ok(w)) => prop_assert!(same(&s, w), "{s:?}\n{w:?}"),
                (Err(a), Err(b)) => prop_assert_eq!(a.kind().to_string(), b.kind().to_string()),
                (a, b) => prop_assert!(false, "finish_par {a:?}, summarize {b:?}"),
            }
        }
        Ok(())
    }

    fn base() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
    }

    /// `append` and `append_par` (on 3 threads) of the streams of `first` and `second`:
    /// the same result or the same error, and the same stream after it.
    #[cfg(feature = "rayon")]
    fn appends_agree<K: Ord + Hash + Clone + Send + Sync + std::fmt::Debug>(
        first: &[Transaction<K>],
        second: &[Transaction<K>],
        as_of: Option<NaiveDateTime>,
        o: SummaryOptions,
    ) -> std::result::Result<(), TestCaseError> {
        let stream = |part: &[Transaction<K>]| {
            let mut s = SummaryStream::new(as_of, o);
            part.iter().try_for_each(|t| s.push(t)).map(|()| s)
        };
        let (Ok(mut a), Ok(b), Ok(mut c), Ok(d)) =
            (stream(first), stream(second), stream(first), stream(second))
        else {
            return Ok(());
        };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let (ra, rc) = (a.append(b), pool.install(|| c.append_par(d)));
        prop_assert_eq!(format!("{ra:?}"), format!("{rc:?}"));
        prop_assert_eq!(format!("{a:?}"), format!("{c:?}"));
        // `Debug` of the rows shows every amount's scale.
        prop_assert_eq!(format!("{:?}", a.finish()), format!("{:?}", c.finish()));
        if ra.is_err() {
            // As it was.
            let fresh = stream(first).unwrap().finish();
            let again = stream(first).unwrap();
            prop_assert_eq!(format!("{:?}", again.finish()), format!("{fresh:?}"));
        }
        Ok(())
    }

    /// 100,000 customers in tables (several chunks of `append_par`), amounts at a finer
    /// scale in one stream than the other (each way round), customers new to the second
    /// stream inside the first's table and past its end, and a customer out of time order
    /// late in the table: `append_par` is `append`, result and error alike.
    #[cfg(feature = "rayon")]
    #[test]
    fn append_par_is_append_across_chunks_scales_and_errors() {
        let day = |d: i64| NaiveDateTime::from(base() + chrono::Duration::days(d));
        let log = |ids: std::ops::Range<u64>, d: i64, scale: u32| -> Vec<Transaction<u64>> {
            ids.map(|c| {
                Transaction::new(
                    c * 2,
                    day(d + (c % 3) as i64),
                    Decimal::new(1_234 + c as i64, scale),
                )
            })
            .collect()
        };
        let o = SummaryOptions::default();
        for (s1, s2) in [(2, 2), (2, 4), (4, 0)] {
            let first = log(0..100_000, 0, s1);
            // New customers between the first's ids (odd ones) and past its end.
            let mut second = log(50_000..105_000, 10, s2);
            second.extend((0..500).map(|c| Transaction::new(2 * c + 1, day(12), Decimal::ONE)));
            let stream = |part: &[Transaction<u64>]| {
                let mut s = SummaryStream::new(None, o);
                part.iter().try_for_each(|t| s.push(t)).map(|()| s).unwrap()
            };
            // The parallel passes, not `append` in their place.
            assert!(stream(&first).slots.aligned(&stream(&second).slots).is_some());
            appends_agree(&first, &second, None, o).unwrap();
            // Customer 180,000 (id 90,000 * 2) bought on day 30 in the first stretch, before
            // its purchase in the second: refused, in the table's last chunks.
            let mut late = first.clone();
            late.push(Transaction::new(180_000, day(30), Decimal::ONE));
            appends_agree(&late, &second, None, o).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A stream of an ordered log, whole or in two stretches appended, is `summarize`'s
        /// summary down to every amount's scale, or fails with `summarize`'s error kind.
        /// Keys of every kind the slots meet: small integers (the table), sparse and
        /// negative integers, integers at the top of `u64` (the table's last slot), text
        /// (the hash map) and integers whose views collide (the table, then the hash map).
        #[test]
        fn every_kind_of_key_equals_summarize(raw in arb_ordered_log(), o in arb_options(),
                                              end in prop::option::of(0i64..260)) {
            let as_of = end.map(|d| NaiveDateTime::from(base() + chrono::Duration::days(d)));
            agrees(&build(&raw, |c| u64::from(c) << 40), as_of, o)?;
            agrees(&build(&raw, |c| i64::from(c) - 20), as_of, o)?;
            agrees(&build(&raw, |c| u64::MAX - u64::from(c)), as_of, o)?;
            agrees(&build(&raw, |c| format!("c{c}")), as_of, o)?;
            agrees(&build(&raw, Shared), as_of, o)?;
            agrees(&build(&raw, Rev), as_of, o)?;
            agrees(&build(&raw, |c| c), as_of, o)?;
            // Ids that descend from the first: the table grows downwards.
            agrees(&build(&raw, |c| 1_000_000 - u64::from(c) * 997), as_of, o)?;
        }

        #[test]
        fn ordered_logs_equal_summarize(raw in arb_ordered_log(), o in arb_options(),
                                        end in prop::option::of(0i64..260), cut in any::<prop::sample::Index>()) {
            let log = build(&raw, |c| c);
            let as_of = end.map(|d| NaiveDateTime::from(base() + chrono::Duration::days(d)));
            let latest = log.iter().map(|t| t.at).max().unwrap();
            let whole = summarize(&log, as_of.unwrap_or(latest), o);
            match (streamed(&log, as_of, o), &whole) {
                (Ok(s), Ok(w)) => prop_assert!(same(&s, w), "{s:?}\n{w:?}"),
                (Err(a), Err(b)) => prop_assert_eq!(a.kind().to_string(), b.kind().to_string()),
                (a, b) => prop_assert!(false, "stream {a:?}, summarize {b:?}"),
            }
            let k = cut.index(log.len() + 1);
            let mut first = SummaryStream::new(as_of, o);
            let mut second = SummaryStream::new(as_of, o);
            let pushed = log[..k].iter().try_for_each(|t| first.push(t))
                .and_then(|()| log[k..].iter().try_for_each(|t| second.push(t)))
                .and_then(|()| first.append(second))
                .and_then(|()| first.finish());
            match (pushed, whole) {
                (Ok(s), Ok(w)) => prop_assert!(same(&s, &w)),
                // The second stream counts positions from its own start.
                (Err(a), Err(b)) => prop_assert_eq!(
                    std::mem::discriminant(a.kind()), std::mem::discriminant(b.kind())),
                (a, b) => prop_assert!(false, "appended {a:?}, summarize {b:?}"),
            }
        }

        /// `append_par` is `append` for streams of every kind of key (tables, tables with
        /// gaps, views shared by keys, the hash map), in order or the wrong way round.
        #[cfg(feature = "rayon")]
        #[test]
        fn append_par_is_append(raw in arb_ordered_log(), o in arb_options(),
                                end in prop::option::of(0i64..260), cut in any::<prop::sample::Index>(),
                                swap in any::<bool>()) {
            let as_of = end.map(|d| NaiveDateTime::from(base() + chrono::Duration::days(d)));
            let k = cut.index(raw.len() + 1);
            let (a, b) = if swap { (&raw[k..], &raw[..k]) } else { (&raw[..k], &raw[k..]) };
            appends_agree(&build(a, |c| c), &build(b, |c| c), as_of, o)?;
            appends_agree(&build(a, |c| u64::from(c) * 97), &build(b, |c| u64::from(c) * 97), as_of, o)?;
            appends_agree(&build(a, Shared), &build(b, Shared), as_of, o)?;
            appends_agree(&build(a, |c| format!("c{c}")), &build(b, |c| format!("c{c}")), as_of, o)?;
        }

        /// A log in any order: the stream refuses a late purchase and, skipping it, goes on
        /// to the summary of the log without the refused transactions.
        #[test]
        fn late_purchases_are_refused_and_leave_the_stream_as_it_was(
            raw in prop::collection::vec((0u32..20, 0i64..60, 1i64..9_000, 0u32..3), 1..200),
            o in arb_options()) {
            let o = o.negative_amounts(NegativeAmounts::Subtract);
            let log = build(&raw, |c| c);
            let mut s = SummaryStream::new(None, o);
            let mut kept = Vec::new();
            let mut last: std::collections::HashMap<u32, i64> = Default::default();
            for tx in &log {
                let p = o.period.index(tx.at);
                let late = last.get(&tx.customer).is_some_and(|&q| p < q);
                match s.push(tx) {
                    Ok(()) => {
                        prop_assert!(!late);
                        last.insert(tx.customer, p);
                        kept.push(tx.clone());
                    }
                    Err(e) => {
                        prop_assert!(late, "{e}");
                        prop_assert!(e.to_string().contains("time order"));
                    }
                }
            }
            let latest = kept.iter().map(|t| t.at).max().unwrap();
            prop_assert!(same(&s.finish().unwrap(), &summarize(&kept, latest, o).unwrap()));
        }
    }

    /// Customers at both ends of the keys' views (0 and `u64::MAX`, `i64::MIN` and
    /// `i64::MAX`) in one stream: the summary, not a panic.
    #[test]
    fn keys_at_both_ends_of_the_views_are_summarised() {
        let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
        let o = SummaryOptions::default();
        let log = [
            Transaction::on(0u64, day(1), Decimal::ONE),
            Transaction::on(u64::MAX, day(2), Decimal::TWO),
            Transaction::on(0u64, day(5), Decimal::TEN),
        ];
        let mut s = SummaryStream::new(None, o);
        log.iter().try_for_each(|t| s.push(t)).unwrap();
        assert!(same(&s.finish().unwrap(), &summarize(&log, day(5), o).unwrap()));
        let log = [
            Transaction::on(i64::MIN, day(1), Decimal::ONE),
            Transaction::on(i64::MAX, day(2), Decimal::TWO),
            Transaction::on(i64::MIN, day(3), Decimal::TEN),
        ];
        let mut s = SummaryStream::new(None, o);
        log.iter().try_for_each(|t| s.push(t)).unwrap();
        assert!(same(&s.finish().unwrap(), &summarize(&log, day(3), o).unwrap()));
    }

    #[test]
    fn hand_computed_rows_and_scales() {
        let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
        // Customer 1: days 1 (2.5 + 1), 4 (10.25), 9 (4): frequency 2, recency 8, T 9 at
        // day 10, monetary value (10.25 + 4) / 2 = 7.125 (written as `summarize` writes it).
        let log = [
            Transaction::on(1u32, day(1), Decimal::new(25, 1)),
            Transaction::on(1, day(1), Decimal::ONE),
            Transaction::on(2, day(3), Decimal::new(5, 0)),
            Transaction::on(1, day(4), Decimal::new(1025, 2)),
            Transaction::on(1, day(9), Decimal::new(4, 0)),
            Transaction::on(2, day(12), Decimal::new(5, 0)),
        ];
        let s = streamed(&log, Some(day(10).into()), SummaryOptions::default()).unwrap();
        assert!(same(&s, &summarize(&log, day(10), SummaryOptions::default()).unwrap()));
        let r = s.get(&1).unwrap();
        assert_eq!((r.frequency(), r.recency(), r.t(), r.orders()), (2, 8.0, 9.0, 4));
        assert_eq!(r.monetary_value().to_string(), "7.1250");
        assert_eq!(r.total_spend().to_string(), "17.75");
        assert_eq!(r.first_purchase_amount().to_string(), "3.50");
        // Customer 2's day-12 purchase is after as_of: left out and counted.
        assert_eq!((s.get(&2).unwrap().frequency(), s.excluded_after_as_of()), (0, 1));
        assert_eq!(s.transactions(), 5);
        // Without as_of: the latest purchase, day 12, and nothing left out.
        let s = streamed(&log, None, SummaryOptions::default()).unwrap();
        assert_eq!((s.as_of(), s.excluded_after_as_of()), (day(12).into(), 0));
        assert_eq!(s.get(&2).unwrap().frequency(), 1);
    }

    #[test]
    fn bad_input_and_mismatched_streams() {
        let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
        let o = SummaryOptions::default();
        assert!(matches!(
            SummaryStream::<u32>::new(None, o).finish().unwrap_err().kind(),
            crate::ErrorKind::EmptyInput { .. }
        ));
        // Everything after as_of: a summary of no customers, as `summarize` gives.
        let log = [Transaction::on(1u32, day(9), Decimal::ONE)];
        let s = streamed(&log, Some(day(2).into()), o).unwrap();
        assert!(same(&s, &summarize(&log, day(2), o).unwrap()));
        assert_eq!((s.len(), s.excluded_after_as_of()), (0, 1));
        // A refused negative amount names its position and leaves the counts as they were.
        let reject = o.negative_amounts(NegativeAmounts::Reject);
        let mut s = SummaryStream::new(None, reject);
        s.push(&Transaction::on(1u32, day(1), Decimal::ONE)).unwrap();
        let e = s.push(&Transaction::on(2u32, day(2), Decimal::NEGATIVE_ONE)).unwrap_err();
        assert!(e.to_string().contains("negative"), "{e}");
        assert_eq!(s.finish().unwrap().negative_amounts(), 0);
        // Streams of other options, other ends, or overlapping in time.
        let mut a = SummaryStream::<u32>::new(None, o);
        assert!(a.append(SummaryStream::new(None, o.period(Period::WEEK))).is_err());
        assert!(a.append(SummaryStream::new(Some(day(3).into()), o)).is_err());
        a.push(&Transaction::on(1u32, day(5), Decimal::ONE)).unwrap();
        let mut b = SummaryStream::new(None, o);
        b.push(&Transaction::on(1u32, day(4), Decimal::TEN)).unwrap();
        b.push(&Transaction::on(2u32, day(4), Decimal::TEN)).unwrap();
        assert!(a.append(b).unwrap_err().to_string().contains("follow each other in time"));
        // `a` is as it was: one customer, one transaction.
        assert_eq!((a.customers(), a.pushed), (1, 1));
        // A refusal after a customer that would merge: nothing merged either.
        a.push(&Transaction::on(3u32, day(5), Decimal::ONE)).unwrap();
        let mut b = SummaryStream::new(None, o);
        b.push(&Transaction::on(1u32, day(6), Decimal::new(5, 2))).unwrap();
        b.push(&Transaction::on(3u32, day(2), Decimal::TEN)).unwrap();
        assert!(a.append(b).is_err());
        let s = a.finish().unwrap();
        assert_eq!((s.len(), s.transactions()), (2, 2));
        assert_eq!(
            s.get(&1).map(|r| (r.frequency(), r.total_spend().to_string())),
            Some((0, "1".into()))
        );
        // A finer scale later rescales what came before; the sum stays exact.
        let mut s = SummaryStream::new(None, o);
        s.push(&Transaction::on(1u32, day(1), Decimal::new(3, 0))).unwrap();
        s.push(&Transaction::on(1u32, day(2), Decimal::new(1, 3))).unwrap();
        s.push(&Transaction::on(1u32, day(3), Decimal::new(2, 1))).unwrap();
        let s = s.finish().unwrap();
        assert_eq!(s.get(&1).unwrap().total_spend().to_string(), "3.201");
        assert_eq!(s.get(&1).unwrap().monetary_value().to_string(), "0.10050");
    }
}
