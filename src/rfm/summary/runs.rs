//! A run: the consecutive transactions of one customer, accumulated in registers. The grouped
//! stream and the hash map take a log run by run.

use std::hash::Hash;

use chrono::NaiveDateTime;

use super::acc::{distinct, Acc};
use super::bytekey::{is_byte_string, Matcher};
use super::mantissa::Scale;
use super::options::{SummaryOptions, Transaction};
use super::window::Window;
use crate::error::Result;

/// What reading a log run by run keeps from one run to the next: the window's checks and
/// counts, the scale of the sums so far, the periods of the current run, and whether keys are
/// standard byte strings ([`is_byte_string`]), which compare as words.
pub(super) struct Runs {
    pub(super) window: Window,
    pub(super) scale: Scale,
    periods: Vec<i32>,
    byte_string: bool,
}

impl Runs {
    /// The reader of a log of `K` keys for the window ending `as_of`.
    pub(super) fn new<K>(as_of: NaiveDateTime, options: &SummaryOptions) -> Runs {
        Runs {
            window: Window::new(as_of, options),
            scale: Scale { scale: 0 },
            periods: Vec::new(),
            byte_string: is_byte_string::<K>(),
        }
    }

    /// Makes the distinct-period count of the run just read exact when its periods came out
    /// of order.
    pub(super) fn settle(&mut self, acc: &mut Acc) {
        if acc.out_of_order {
            let (lo, hi) = (i64::from(acc.first_p), i64::from(acc.last_p));
            acc.runs = distinct(&mut self.periods, |&p| i64::from(p) - lo, hi - lo);
            acc.out_of_order = false;
        }
    }
}

/// The accumulator of the run (consecutive transactions of one customer) that starts at `i`,
/// and where the run ends. `None` when `keep` refuses the customer or no transaction of the
/// run lies in the window. A finer scale than any so far rescales the run, and `widen` is
/// called with the factor for every other running sum.
#[inline(always)]
pub(super) fn run<K: PartialEq + Hash, F: Fn(&K) -> bool>(
    transactions: &[Transaction<K>],
    i: usize,
    keep: &F,
    runs: &mut Runs,
    widen: &mut impl FnMut(i128) -> Result<()>,
) -> Result<(usize, Option<Acc>)> {
    let Runs { window, scale, periods, byte_string } = runs;
    let byte_string = *byte_string;
    let key = &transactions[i].customer;
    let take = keep(key);
    let same = Matcher::new(key, byte_string);
    let mut acc: Option<Acc> = None;
    periods.clear();
    let mut j = i;
    while let Some(tx) = transactions.get(j).filter(|tx| same.matches(&tx.customer)) {
        j += 1;
        if !take {
            continue;
        }
        let Some(p) = window.admit(j - 1, tx)? else { continue };
        let amount = match scale.mantissa(tx.amount) {
            Some(m) => m?,
            None => {
                // A finer scale than any so far: rescale every running sum (rare).
                let f = scale.widen(tx.amount);
                widen(f)?;
                if let Some(a) = &mut acc {
                    a.rescale(f)?;
                }
                tx.amount.mantissa()
            }
        };
        periods.push(p);
        match &mut acc {
            Some(a) => a.add(p, amount)?,
            None => acc = Some(Acc::new(p, amount)),
        }
    }
    Ok((j, acc))
}
