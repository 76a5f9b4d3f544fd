//! What every pass checks of a transaction, in one order so that every pass reports the same
//! error: its amount's sign, its period, and whether it lies inside the window.

use chrono::{NaiveDate, NaiveDateTime};

use super::options::{Cutoff, NegativeAmounts, SummaryOptions, Transaction};
use crate::error::{Error, Result};
use crate::rfm::period::Period;

/// Maps timestamps to unit-period indices, remembering the last date (logs come in runs of
/// equal dates, and the calendar arithmetic is the costly part).
pub(super) struct Indexer {
    period: Period,
    date: NaiveDate,
    days: i64,
}

impl Indexer {
    pub(super) fn new(period: Period) -> Indexer {
        let date = NaiveDate::MIN;
        Indexer { period, date, days: period.day_index(date) }
    }

    #[inline]
    pub(super) fn index(&mut self, at: NaiveDateTime) -> Result<i32> {
        let date = at.date();
        if date != self.date {
            self.date = date;
            self.days = self.period.day_index(date);
        }
        let p = self.period.index_from_days(self.days, at);
        i32::try_from(p)
            .map_err(|_| Error::invalid("timestamp", at, "too far from year 0 for hourly periods"))
    }
}

/// The checks every pass makes of a transaction, in one order (so that every pass reports the
/// same error), and the counts of what they leave out.
pub(super) struct Window {
    as_of: NaiveDateTime,
    pub(super) end_p: i64,
    reject: bool,
    cutoff: Cutoff,
    indexer: Indexer,
    /// Transactions after the window.
    pub(super) excluded: u64,
    /// Transactions inside the window with a negative amount.
    pub(super) negatives: u64,
}

impl Window {
    pub(super) fn new(as_of: NaiveDateTime, options: &SummaryOptions) -> Window {
        Window {
            as_of,
            end_p: options.period.index(as_of),
            reject: options.negative_amounts == NegativeAmounts::Reject,
            cutoff: options.cutoff,
            indexer: Indexer::new(options.period),
            excluded: 0,
            negatives: 0,
        }
    }

    /// A window with no end: every transaction lies inside it (a stream that ends at its
    /// latest purchase, which no purchase can lie after).
    pub(super) fn open(options: &SummaryOptions) -> Window {
        Window {
            as_of: NaiveDateTime::MAX,
            end_p: i64::MAX,
            reject: options.negative_amounts == NegativeAmounts::Reject,
            cutoff: options.cutoff,
            indexer: Indexer::new(options.period),
            excluded: 0,
            negatives: 0,
        }
    }

    /// The period of transaction `i` when it lies inside the window, `None` (and counted)
    /// when it lies after it.
    #[inline(always)]
    pub(super) fn admit<K>(&mut self, i: usize, tx: &Transaction<K>) -> Result<Option<i32>> {
        let negative = tx.amount.is_sign_negative() && !tx.amount.is_zero();
        if negative && self.reject {
            return Err(Error::invalid_record(
                i,
                "amount",
                tx.amount,
                "negative amounts are rejected by the options",
            ));
        }
        let p = self.indexer.index(tx.at)?;
        let inside = match self.cutoff {
            Cutoff::EndOfPeriod => i64::from(p) <= self.end_p,
            Cutoff::Instant => tx.at <= self.as_of,
        };
        if inside {
            self.negatives += u64::from(negative);
            Ok(Some(p))
        } else {
            self.excluded += 1;
            Ok(None)
        }
    }
}

/// The summary's options and end of observation, which the passes share.
#[derive(Clone, Copy)]
pub(super) struct Span<'o> {
    pub(super) options: &'o SummaryOptions,
    pub(super) as_of: NaiveDateTime,
    pub(super) end_p: i64,
}

impl<'o> Span<'o> {
    pub(super) fn new(options: &'o SummaryOptions, as_of: NaiveDateTime) -> Self {
        Span { options, as_of, end_p: options.period.index(as_of) }
    }
}
