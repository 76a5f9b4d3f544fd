//! The RFM batch APIs allocate no memory per customer: the number of allocations of a call
//! does not grow with the number of customers. A test binary of its own, because it counts
//! through a global allocator (per thread, so parallel tests cannot disturb the count).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use chrono::{Duration, NaiveDate};
use loyalty::rfm::{summarize, RfmMeasures, RfmScorer, ScoreOptions, SegmentMap, SummaryOptions};
use loyalty::rfm::{Summary, Transaction};
use rust_decimal::Decimal;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a
// const-initialised thread-local `Cell`, which needs no allocation itself.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The allocations `f` makes on this thread, and its result.
fn counted<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (ALLOCATIONS.with(Cell::get) - before, out)
}

/// Ten transactions per customer in time order (customers interleaved), amounts at two scales.
fn log(customers: u64) -> Vec<Transaction<u64>> {
    let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let mut s = 0x2545_f491_4f6c_dd1du64;
    (0..customers * 10)
        .map(|i| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let customer = (s >> 33) % customers;
            let amount = Decimal::new((s >> 40) as i64 % 20_000, 2 + (i % 2) as u32);
            Transaction::new(customer, start + Duration::minutes(i as i64), amount)
        })
        .collect()
}

/// Allocations of the summary in three layouts, and of scoring and segmenting it.
fn allocations(customers: u64) -> [usize; 4] {
    let as_of = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let time_ordered = log(customers);
    let mut grouped = time_ordered.clone();
    grouped.sort_by_key(|t| t.customer);
    let mut shuffled = time_ordered.clone();
    shuffled.reverse();
    let o = SummaryOptions::default();
    let run = |log: &[Transaction<u64>]| counted(|| summarize(log, as_of, o).unwrap());
    let (grouped, summary): (usize, Summary<u64>) = run(&grouped);
    let (time_ordered, _) = run(&time_ordered);
    let (shuffled, _) = run(&shuffled);
    let scorer = RfmScorer::new(ScoreOptions::default()).unwrap();
    let map = SegmentMap::eleven_segments();
    let (scoring, segments) = counted(|| {
        let scores = scorer.score_summary(&summary, RfmMeasures::default()).unwrap();
        map.assign(&scores).unwrap().len()
    });
    assert_eq!(segments, summary.len());
    [grouped, time_ordered, shuffled, scoring]
}

#[test]
fn allocations_do_not_grow_with_the_customers() {
    let small = allocations(20_000);
    let large = allocations(160_000);
    eprintln!("allocations for 20,000 and 160,000 customers: {small:?} {large:?}");
    // Eight times the customers: the partitioned passes make one buffer per partition of
    // 2,048 ids or more, and the output vectors grow a few more steps; an allocation per
    // customer would add 140,000.
    let names = ["grouped", "time order", "reversed", "scoring"];
    for (what, (s, l)) in names.iter().zip(small.iter().zip(large)) {
        assert!(
            l <= s + 140_000 / 1_000,
            "{what}: {s} allocations for 20,000 customers, {l} for 160,000"
        );
    }
}
