//! A run: the consecutive transactions of one customer, accumulated in registers. The grouped
//! stream and the hash map take a log run by run.

use std::hash::Hash;

use super::acc::{distinct, Acc};
use super::bytekey::Matcher;
use super::mantissa::Scale;
use super::options::Transaction;
use super::window::Window;
use crate::error::Result;

/// The accumulator of the run (consecutive transactions of one customer) that starts at `i`,
/// and where the run ends. `None` when `keep` refuses the customer or no transaction of the
/// run lies in the window. `periods` receives the run's periods. A finer scale than any so far
/// rescales the run, and `widen` is called with the factor for every other running sum.
/// `byte_string` says whether `K` is a standard byte-string type
/// ([`is_byte_string`](super::bytekey::is_byte_string)), whose keys compare as words.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn run<K: PartialEq + Hash, F: Fn(&K) -> bool>(
    transactions: &[Transaction<K>],
    (i, byte_string): (usize, bool),
    keep: &F,
    window: &mut Window,
    scale: &mut Scale,
    periods: &mut Vec<i32>,
    widen: &mut impl FnMut(i128) -> Result<()>,
) -> Result<(usize, Option<Acc>)> {
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

/// Makes the distinct-period count of a run exact when its periods came out of order.
pub(super) fn settle(acc: &mut Acc, periods: &mut [i32]) {
    if acc.out_of_order {
        let (lo, hi) = (i64::from(acc.first_p), i64::from(acc.last_p));
        acc.runs = distinct(periods, |&p| i64::from(p) - lo, hi - lo);
        acc.out_of_order = false;
    }
}
