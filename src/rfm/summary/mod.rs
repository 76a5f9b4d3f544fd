//! Per-customer summaries of a transaction log (lifetimes-compatible by default).
//!
//! # How this folder reads
//!
//! Read it from the public types down to the bottom; no file imports a file that imports it
//! (the entry points import the strategies, the strategies what they share, and everything
//! the accumulator, the row building and the public types, which import only the amounts).
//!
//! 1. **Public types and options**: `options` (a [`Transaction`] and the [`SummaryOptions`]
//!    that say how to count it), `customer` (a [`CustomerSummary`] row) and `table` (the
//!    [`Summary`] of a whole log, and [`Summary::merge`]).
//! 2. **Entry points**: `summarize` ([`summarize()`]) picks a strategy from the order and
//!    the keys of the log; `parallel` is its multi-core sibling.
//! 3. **Strategies**, one file each: `grouped` (a log grouped by customer, streamed),
//!    `direct` (dense ids in time order, one table addressed by id), `ranges` (dense
//!    integer ids in any order, partitions by key range) and below it `narrow` (the same
//!    with one-word records, for primitive integer ids and text ids of digits), `hashed` (any other key,
//!    partitions by hash) and below it `prefixes` (short byte strings, partitions by key
//!    prefix, in key order), and `map` (one hash map, for amounts the partitions' records
//!    cannot hold).
//! 4. **What strategies share**: `pass` (a strategy's input: the log, the window, the
//!    customers kept and the key hasher, built once by the entry points; and the prefetch
//!    hint), `layout` (which ids are dense, over what range), `digits` (text ids of
//!    decimal digits, after an optional shared prefix, read as numbers), `held` (how the
//!    dense strategies keep each id's key),
//!    `records` (the scatter of a log into partitions of compact records, on one thread
//!    or several), `bytekey` (short byte-string keys held in the records), `aggregate` (one
//!    partition's customers in a small hash index), `runs` (a customer's consecutive
//!    transactions).
//! 5. **At the bottom**: `rows` (a row from an accumulator, rows into a summary), `acc` (a
//!    customer's running totals), `window` (what every pass checks of a transaction),
//!    `mantissa` (amounts as integers at one scale) and `keyhash` (the key hasher).

mod acc;
mod aggregate;
mod bytekey;
mod customer;
mod digits;
mod direct;
mod grouped;
mod hashed;
mod held;
mod keyhash;
mod layout;
mod mantissa;
mod map;
mod narrow;
mod options;
#[cfg(feature = "rayon")]
mod parallel;
mod pass;
mod prefixes;
mod ranges;
mod records;
mod rows;
mod runs;
mod slots;
mod stream;
mod summarize;
mod table;
#[cfg(test)]
mod testkit;
mod window;

pub use customer::{ClvInputs, CustomerSummary};
pub use keyhash::KeyHasher;
pub use options::{
    Cutoff, FirstPurchase, FrequencyCount, MonetaryMeasure, NegativeAmounts, SummaryOptions,
    Transaction,
};
#[cfg(feature = "rayon")]
pub use parallel::{summarize_par, summarize_par_with_hasher};
pub use stream::SummaryStream;
pub use summarize::{summarize, summarize_with_hasher};
pub use table::Summary;
