//! What a strategy is given: the log, the window of observation, the customers it keeps and
//! the hasher of keys, as one value, so that every strategy takes the same input and the
//! entry points build it once.

#[cfg(feature = "rayon")]
use std::hash::BuildHasher;
use std::hash::Hash;

use super::options::Transaction;
use super::window::Span;

/// A customer key as the strategies use it: ordered (rows come in key order), hashed
/// (partitions and indexes) and copied into rows.
pub(super) trait Key: Ord + Hash + Clone {}

impl<T: Ord + Hash + Clone> Key for T {}

/// A key the parallel passes share between their threads.
#[cfg(feature = "rayon")]
pub(super) trait SharedKey: Key + Send + Sync {}

#[cfg(feature = "rayon")]
impl<T: Key + Send + Sync> SharedKey for T {}

/// The customers a parallel pass keeps, asked from every thread.
#[cfg(feature = "rayon")]
pub(super) trait SharedKeep<K>: Fn(&K) -> bool + Sync {}

#[cfg(feature = "rayon")]
impl<K, T: Fn(&K) -> bool + Sync> SharedKeep<K> for T {}

/// The hasher of keys, used from every thread of a parallel pass.
#[cfg(feature = "rayon")]
pub(super) trait SharedHasher: BuildHasher + Sync {}

#[cfg(feature = "rayon")]
impl<T: BuildHasher + Sync> SharedHasher for T {}

/// The input of a strategy.
pub(super) struct Pass<'a, K, F, S> {
    /// The transaction log.
    pub(super) log: &'a [Transaction<K>],
    /// The options and the end of observation.
    pub(super) span: Span<'a>,
    /// The customers this pass summarises: all of them, or the key range of one shard of the
    /// parallel summary.
    pub(super) keep: &'a F,
    /// The hasher of customer keys.
    pub(super) hasher: &'a S,
}

/// Asks for the cache line holding `x` (a hint: nothing happens where it is not available).
#[cfg(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse"))]
#[inline(always)]
pub(super) fn prefetch<T>(x: &T) {
    safe_arch::prefetch_t0(x);
}

/// Asks for the cache line holding `x` (a hint: nothing happens where it is not available).
#[cfg(not(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse")))]
#[inline(always)]
pub(super) fn prefetch<T>(_: &T) {}
