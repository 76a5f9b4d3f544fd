//! Customer keys chosen by an attacker: ids that all collide under the crate's former key
//! hasher (a copy of `rustc-hash` 2's multiply-rotate `FxHasher`, unkeyed, so collisions can
//! be computed offline) keep the summary near linear, counted in key comparisons rather than
//! timed. The same ids under the former hasher take quadratic time, which shows the count
//! catches it.

use std::cell::Cell;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use chrono::NaiveDate;
use loyalty::rfm::{summarize, summarize_with_hasher, KeyHasher, SummaryOptions, Transaction};
use rust_decimal::Decimal;

thread_local! {
    /// Key equality tests made on this thread.
    static EQ: Cell<u64> = const { Cell::new(0) };
}

/// A 16-byte id (an e-mail digest, say) whose equality tests are counted.
#[derive(Clone, Debug, Eq, PartialOrd, Ord)]
struct Id([u8; 16]);

impl PartialEq for Id {
    fn eq(&self, other: &Id) -> bool {
        EQ.with(|c| c.set(c.get() + 1));
        self.0 == other.0
    }
}

impl Hash for Id {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

/// The multiplier of the former hasher.
const FX: u64 = 0xf135_7aea_2e62_a9c5;

/// The former hasher, as far as a 16-byte array uses it: a length word, then two words.
#[derive(Default)]
struct OldFx(u64);

impl Hasher for OldFx {
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = self.0.wrapping_add(i).wrapping_mul(FX);
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

/// `n` ids with one and the same hash under [`OldFx`]: after the length and a free first word
/// `w1`, the second word is `C − (16·K + w1)·K`, so the state before the last multiply is `C`.
fn colliding(n: u64) -> Vec<Id> {
    const C: u64 = 0x0123_4567_89ab_cdef;
    (0..n)
        .map(|i| {
            let w1 = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let w2 = C.wrapping_sub(16u64.wrapping_mul(FX).wrapping_add(w1).wrapping_mul(FX));
            let mut key = [0u8; 16];
            key[..8].copy_from_slice(&w1.to_le_bytes());
            key[8..].copy_from_slice(&w2.to_le_bytes());
            Id(key)
        })
        .collect()
}

/// Two purchases per id, the ids in the same order twice (not grouped by customer, so the
/// hash partitions take the log), with `amount` each.
fn log(ids: &[Id], amount: Decimal) -> Vec<Transaction<Id>> {
    let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
    let first = ids.iter().map(|id| Transaction::on(id.clone(), day(1), amount));
    first.chain(ids.iter().map(|id| Transaction::on(id.clone(), day(5), amount))).collect()
}

/// The equality tests one call makes.
fn comparisons<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = EQ.with(Cell::get);
    let out = f();
    (out, EQ.with(Cell::get) - before)
}

#[test]
fn keys_colliding_under_the_former_hasher_stay_near_linear() {
    const N: u64 = 3_000;
    let ids = colliding(N);
    let old = BuildHasherDefault::<OldFx>::default();
    // They do collide under the former hasher, all of them.
    let hashes: std::collections::BTreeSet<u64> =
        ids.iter().map(|id| std::hash::BuildHasher::hash_one(&old, id)).collect();
    assert_eq!(hashes.len(), 1);

    let at = NaiveDate::from_ymd_opt(2024, 2, 1).unwrap();
    let o = SummaryOptions::default();
    // The hash partitions (amounts a record holds) and the hash map (a mantissa beyond i64).
    for amount in [Decimal::new(1999, 2), Decimal::from(u64::MAX)] {
        let tx = log(&ids, amount);
        let n = tx.len() as u64;
        let (s, now) = comparisons(|| summarize(&tx, at, o).unwrap());
        assert_eq!(s.len() as u64, N);
        assert!(s.rows().iter().all(|r| r.orders() == 2 && r.frequency() == 1));
        // A handful of comparisons per transaction, where the former hasher makes about one
        // per id already seen.
        assert!(now < 20 * n, "{now} comparisons for {n} transactions");
        let (before, then) = comparisons(|| summarize_with_hasher(&tx, at, o, &old).unwrap());
        assert!(then > N * N / 4, "{then} comparisons with the former hasher");
        assert_eq!(before, s);
    }
}

#[test]
fn the_summary_does_not_depend_on_the_seed() {
    let ids = colliding(500);
    let tx = log(&ids, Decimal::new(250, 2));
    let at = NaiveDate::from_ymd_opt(2024, 2, 1).unwrap();
    let o = SummaryOptions::default();
    let base = summarize(&tx, at, o).unwrap();
    for seed in [0, 1, u64::MAX, 0x5eed] {
        let keyed = summarize_with_hasher(&tx, at, o, &KeyHasher::with_seed(seed)).unwrap();
        assert_eq!(keyed, base);
        // Deterministic for a given seed, rows and all.
        let again = summarize_with_hasher(&tx, at, o, &KeyHasher::with_seed(seed)).unwrap();
        assert_eq!(format!("{keyed:?}"), format!("{again:?}"));
    }
}
