//! The grouped stream: a log whose customers come in ascending key order, each one's
//! transactions together (a log sorted by customer, as CDNOW's).

use super::customer::CustomerSummary;
use super::mantissa::Scale;
use super::pass::{Key, Pass};
use super::rows::row;
use super::runs::{run, settle};
use super::table::Summary;
use super::window::Window;
use crate::error::Result;

/// The pass for a log whose customers come in ascending key order, each one's transactions
/// together (a log sorted by customer, as CDNOW's): each run is a whole customer, whose row is
/// built as soon as the run ends, already in key order; no hashing, no sort, no intermediate
/// storage. `None` as soon as a customer comes out of order.
pub(super) fn summarize<K: Key, F: Fn(&K) -> bool, S>(
    pass: &Pass<'_, K, F, S>,
) -> Result<Option<Summary<K>>> {
    let (transactions, keep) = (pass.log, pass.keep);
    let (as_of, options) = (pass.span.as_of, *pass.span.options);
    let mut window = Window::new(as_of, &options);
    let mut scale = Scale { scale: 0 };
    let mut rows: Vec<CustomerSummary<K>> = Vec::new();
    let mut periods: Vec<i32> = Vec::new();
    let mut orders = 0u64;
    let mut i = 0;
    while i < transactions.len() {
        // `f` is a power of ten, so its digits count the step to the finer scale.
        let mut widen =
            |f: i128| rows.iter_mut().try_for_each(|r| r.move_to_scale(r.scale() + f.ilog10()));
        let (j, acc) =
            run(transactions, i, keep, &mut window, &mut scale, &mut periods, &mut widen)?;
        let key = &transactions[i].customer;
        i = j;
        let Some(mut acc) = acc else { continue };
        if rows.last().is_some_and(|last| last.customer >= *key) {
            return Ok(None);
        }
        settle(&mut acc, &mut periods);
        orders += u64::from(acc.orders);
        rows.push(row(key.clone(), &acc, window.end_p, &options, &scale)?);
    }
    Ok(Some(Summary {
        rows,
        as_of,
        options,
        transactions: orders,
        excluded_after_as_of: window.excluded,
        negative_amounts: window.negatives,
    }))
}
