//! One hash map of accumulators, for logs whose amounts the partitions' records cannot hold
//! (mantissas beyond an `i64`).

use std::collections::HashMap;
use std::hash::BuildHasher;

use super::acc::Acc;
use super::pass::{Key, Pass};
use super::rows::finish;
use super::runs::{run, Runs};
use super::table::Summary;
use super::window::Window;
use crate::error::Result;

/// The pass with a hash map of accumulators, for amounts whose mantissa does not fit the
/// partitioned path's records. Runs are accumulated locally and merged into the map.
pub(super) fn summarize<K: Key, F: Fn(&K) -> bool, S: BuildHasher + Clone>(
    pass: &Pass<'_, K, F, S>,
) -> Result<Summary<K>> {
    let (transactions, keep, hasher) = (pass.log, pass.keep, pass.hasher);
    let (as_of, options) = (pass.span.as_of, *pass.span.options);
    let mut runs = Runs::new::<K>(as_of, &options);
    let mut accs: HashMap<K, Acc, S> = HashMap::with_hasher(hasher.clone());
    let mut out_of_order = false;
    let mut i = 0;
    while i < transactions.len() {
        let mut widen = |f: i128| accs.values_mut().try_for_each(|a| a.rescale(f));
        let (j, acc) = run(transactions, i, keep, &mut runs, &mut widen)?;
        let key = &transactions[i].customer;
        i = j;
        let Some(mut acc) = acc else { continue };
        runs.settle(&mut acc);
        match accs.get_mut(key) {
            Some(a) => {
                a.absorb(&acc)?;
                out_of_order |= a.out_of_order;
            }
            None => {
                accs.insert(key.clone(), acc);
            }
        }
    }
    if out_of_order {
        recount_out_of_order(pass, &mut accs)?;
    }
    let mut keyed: Vec<(K, Acc)> = accs.into_iter().collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let len = keyed.len();
    let (excluded, negatives) = (runs.window.excluded, runs.window.negatives);
    finish(keyed, len, runs.scale.scale, as_of, runs.window.end_p, options, excluded, negatives)
}

/// Exact distinct-period counts for customers whose transactions arrived out of time order:
/// number those customers densely, collect their `(number, period)` pairs, sort them and count
/// the distinct ones.
fn recount_out_of_order<K: Key, F: Fn(&K) -> bool, S: BuildHasher>(
    pass: &Pass<'_, K, F, S>,
    accs: &mut HashMap<K, Acc, S>,
) -> Result<()> {
    let (transactions, keep) = (pass.log, pass.keep);
    // `runs` is meaningless for these customers until recounted: it holds the number.
    let mut out_of_order = 0u32;
    for acc in accs.values_mut().filter(|a| a.out_of_order) {
        acc.runs = out_of_order;
        out_of_order += 1;
    }
    // The first pass's checks; they passed for every transaction of a kept customer then.
    let mut window = Window::new(pass.span.as_of, pass.span.options);
    let mut pairs: Vec<(u32, i32)> = Vec::new();
    for (i, tx) in transactions.iter().enumerate() {
        let number = match accs.get(&tx.customer) {
            Some(a) if a.out_of_order && keep(&tx.customer) => a.runs,
            _ => continue,
        };
        if let Some(p) = window.admit(i, tx)? {
            pairs.push((number, p));
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    let mut distinct = vec![0u32; out_of_order as usize];
    for (number, _) in &pairs {
        distinct[*number as usize] += 1;
    }
    // The same iteration order as the numbering: the map was not changed in between.
    for acc in accs.values_mut().filter(|a| a.out_of_order) {
        acc.runs = distinct[acc.runs as usize];
    }
    Ok(())
}
