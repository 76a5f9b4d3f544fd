//! How the dense strategies keep the key of each id they have seen ([`Held`]): a copy of an
//! integer key; for a text id of digits, the key cloned once into a list of its own, or
//! the position of a transaction of it.
//!
//! The [`direct`](super::direct) table and the [`narrow`](super::narrow) range partitions
//! keep one key per id. Copying an integer costs nothing; cloning a `String` into every slot
//! would cost an allocation per id up front and another when the id is first seen. A text
//! id of digits is cloned once, when it is first seen and its bytes are in cache, into a
//! list of keys by first sight ([`Listed`]), and its row takes it from there: the list is
//! a few bytes per customer, where the log is tens of bytes per transaction. Where the
//! threads of a pass share what they saw, an id is kept as the position of a transaction
//! of it ([`At`]) and cloned from the log for its row. Either way the id's view tells it
//! apart from every other key ([`digits`](super::digits)), so a slot's key need not be
//! compared with each transaction's.

use super::bytekey::prefetch_bytes;
use super::options::Transaction;
use super::pass::{prefetch, Key};
use super::records::Owned;

/// The key of an id, as a dense strategy keeps it.
pub(super) trait Held<K>: Clone {
    /// Where the held keys live besides the slots.
    type Store;
    /// An empty store.
    fn store() -> Self::Store;
    /// What a slot holds before its id is seen (`first` is any key of the log).
    fn vacant(first: &K) -> Self;
    /// The held form of `key`, the customer of transaction `at`; `None` when it cannot be
    /// held (a position beyond `u32`).
    fn new(key: &K, at: usize, store: &mut Self::Store) -> Option<Self>;
    /// Whether `key`, which has the same view, is the held key.
    fn holds(&self, key: &K) -> bool;
    /// The key, for its row, taken from the store where it can be (each held key is asked
    /// for once); `None` when it is no longer there.
    fn key(&self, store: &mut Self::Store, log: &[Transaction<K>]) -> Option<K>;
    /// Asks for the memory [`Held::key`] reads first, a while before it is asked.
    fn ask_early(&self, store: &Self::Store, log: &[Transaction<K>]);
    /// Asks for what [`Held::key`] reads next, once what [`Held::ask_early`] asked for has
    /// arrived.
    fn ask_late(&self, store: &Self::Store, log: &[Transaction<K>]);
}

/// An integer key, copied: two keys with one view (a `Hash` that leaves a field out) are
/// told apart by comparing them.
impl<K: Key> Held<K> for Owned<K> {
    type Store = ();

    fn store() {}

    fn vacant(first: &K) -> Self {
        Owned(first.clone())
    }

    #[inline(always)]
    fn new(key: &K, _: usize, _: &mut ()) -> Option<Self> {
        Some(Owned(key.clone()))
    }

    #[inline(always)]
    fn holds(&self, key: &K) -> bool {
        self.0 == *key
    }

    #[inline(always)]
    fn key(&self, _: &mut (), _: &[Transaction<K>]) -> Option<K> {
        Some(self.0.clone())
    }

    #[inline(always)]
    fn ask_early(&self, _: &(), _: &[Transaction<K>]) {}

    #[inline(always)]
    fn ask_late(&self, _: &(), _: &[Transaction<K>]) {}
}

/// A text id of digits, as its place in a list of the keys in the order they were first
/// seen. Only for [`Ids::Digits`](super::layout::Ids::Digits): every key with the id's view
/// is the id.
#[derive(Clone, Copy)]
pub(super) struct Listed(u32);

impl<K: Key> Held<K> for Listed {
    type Store = Vec<Option<K>>;

    fn store() -> Vec<Option<K>> {
        Vec::new()
    }

    fn vacant(_: &K) -> Self {
        Listed(u32::MAX)
    }

    #[inline(always)]
    fn new(key: &K, _: usize, store: &mut Vec<Option<K>>) -> Option<Self> {
        let place = u32::try_from(store.len()).ok()?;
        store.push(Some(key.clone()));
        Some(Listed(place))
    }

    #[inline(always)]
    fn holds(&self, _: &K) -> bool {
        true
    }

    #[inline(always)]
    fn key(&self, store: &mut Vec<Option<K>>, _: &[Transaction<K>]) -> Option<K> {
        store.get_mut(self.0 as usize)?.take()
    }

    #[inline(always)]
    fn ask_early(&self, store: &Vec<Option<K>>, _: &[Transaction<K>]) {
        if let Some(k) = store.get(self.0 as usize) {
            prefetch(k);
        }
    }

    #[inline(always)]
    fn ask_late(&self, _: &Vec<Option<K>>, _: &[Transaction<K>]) {}
}

/// A text id of digits, as the position of a transaction of it in the log. Only for
/// [`Ids::Digits`](super::layout::Ids::Digits): every key with the id's view is the id.
#[derive(Clone, Copy)]
pub(super) struct At(u32);

impl<K: Key> Held<K> for At {
    type Store = ();

    fn store() {}

    fn vacant(_: &K) -> Self {
        At(0)
    }

    #[inline(always)]
    fn new(_: &K, at: usize, _: &mut ()) -> Option<Self> {
        u32::try_from(at).ok().map(At)
    }

    #[inline(always)]
    fn holds(&self, _: &K) -> bool {
        true
    }

    #[inline(always)]
    fn key(&self, _: &mut (), log: &[Transaction<K>]) -> Option<K> {
        // `at` is the position of a transaction of this customer in the same log.
        Some(log.get(self.0 as usize)?.customer.clone())
    }

    #[inline(always)]
    fn ask_early(&self, _: &(), log: &[Transaction<K>]) {
        if let Some(t) = log.get(self.0 as usize) {
            prefetch(t);
        }
    }

    #[inline(always)]
    fn ask_late(&self, _: &(), log: &[Transaction<K>]) {
        if let Some(t) = log.get(self.0 as usize) {
            prefetch_bytes(&t.customer);
        }
    }
}

/// Slots between the one whose row is built and the one whose [`Held::ask_late`] is
/// called; [`Held::ask_early`] is called twice as far ahead.
const AHEAD: usize = 16;

/// Asks for what the rows of the slots after slot `i` of `slots` will read of their keys
/// (nothing for integer keys): a table's ids of digits point all over their store or the
/// log.
#[inline(always)]
pub(super) fn ask_ahead<K, H: Held<K>, T>(
    slots: &[T],
    i: usize,
    held: impl Fn(&T) -> &H,
    (store, log): (&H::Store, &[Transaction<K>]),
) {
    if let Some(s) = slots.get(i + 2 * AHEAD) {
        held(s).ask_early(store, log);
    }
    if let Some(s) = slots.get(i + AHEAD) {
        held(s).ask_late(store, log);
    }
}
