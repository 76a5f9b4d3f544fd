//! Criterion benchmarks for `loyalty::rfm`.
//!
//! The log is generated deterministically (a 64-bit LCG, no `rand`): 5,000,000 transactions
//! of 400,000 customers over two years, in four layouts: grouped by customer and in time
//! order within a customer (`by_customer`, the layout of the CDNOW log and of exports from an
//! orders table keyed by customer; the grouped pass), grouped by customer in no order within
//! one (`by_customer_unordered`; the grouped pass, sorting each customer's periods), in time
//! order (`time_ordered`, an append-only log; the radix-partitioned path) and shuffled
//! (`shuffled`, the partitioned path with nearly every customer out of time order, so
//! recounted), then the same three layouts with the ids as zero-padded text (`String`).
//! Target: 0.10 s or less on one thread. Measured numbers are in the `# Performance` section
//! of `summarize`.
//!
//! `cargo bench --bench rfm -- --warm-up-time 1 --measurement-time 2`
//!
//! The summaries are dropped outside the timing (`iter_with_large_drop`): freeing the
//! 400,000 rows of text ids is the caller's work, not the summary's. The bench runs on
//! mimalloc, as `examples/summary_timing.rs` (the peer script's host)
//! does: with glibc's allocator, each call's first large allocation consolidates the
//! hundreds of thousands of small chunks the previous call's `String` ids left behind, and
//! the text-id cases measured that instead of the summary (see the README).

// The host's allocator, as a service embedding the library would choose one.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;

use chrono::{Duration, NaiveDate};
use criterion::{criterion_group, criterion_main, Criterion};
use loyalty::rfm::{
    summarize, RfmMeasures, RfmScorer, ScoreMethod, ScoreOptions, SegmentMap, SummaryOptions,
    SummaryStream, Transaction,
};
use rust_decimal::Decimal;

const TRANSACTIONS: usize = 5_000_000;
const CUSTOMERS: u64 = 400_000;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        // Knuth's MMIX constants; the high bits are the good ones.
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn log() -> Vec<Transaction<u64>> {
    let mut rng = Lcg(42);
    let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let span_secs = 730 * 86_400i64;
    (0..TRANSACTIONS)
        .map(|i| {
            let at = start + Duration::seconds(span_secs * i as i64 / TRANSACTIONS as i64);
            let customer = rng.next() % CUSTOMERS;
            let cents = 100 + (rng.next() % 20_000) as i64;
            Transaction::new(customer, at, Decimal::new(cents, 2))
        })
        .collect()
}

fn shuffled(mut log: Vec<Transaction<u64>>) -> Vec<Transaction<u64>> {
    let mut rng = Lcg(7);
    for i in (1..log.len()).rev() {
        let j = (rng.next() as usize) % (i + 1);
        log.swap(i, j);
    }
    log
}

fn bench(c: &mut Criterion) {
    let sorted = log();
    let as_of = NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
    let mut g = c.benchmark_group("rfm");
    g.sample_size(10);
    let mut by_customer = sorted.clone();
    by_customer.sort_by_key(|t| t.customer); // stable: time order kept within a customer
    g.bench_function("summary/5m_tx_400k_customers/by_customer", |b| {
        b.iter_with_large_drop(|| {
            summarize(black_box(&by_customer), as_of, SummaryOptions::default()).unwrap()
        })
    });
    #[cfg(feature = "rayon")]
    g.bench_function("summary_par/5m_tx_400k_customers/by_customer", |b| {
        b.iter_with_large_drop(|| {
            loyalty::rfm::summarize_par(black_box(&by_customer), as_of, SummaryOptions::default())
                .unwrap()
        })
    });
    // Grouped by customer but in no time order within a customer (`ORDER BY customer_id`
    // alone): each customer's periods are sorted and counted as its run ends.
    drop(by_customer);
    let mut unordered = sorted.clone();
    unordered.sort_unstable_by_key(|t| t.customer);
    g.bench_function("summary/5m_tx_400k_customers/by_customer_unordered", |b| {
        b.iter_with_large_drop(|| {
            summarize(black_box(&unordered), as_of, SummaryOptions::default()).unwrap()
        })
    });
    drop(unordered);
    g.bench_function("summary/5m_tx_400k_customers/time_ordered", |b| {
        b.iter_with_large_drop(|| {
            summarize(black_box(&sorted), as_of, SummaryOptions::default()).unwrap()
        })
    });
    #[cfg(feature = "rayon")]
    g.bench_function("summary_par/5m_tx_400k_customers/time_ordered", |b| {
        b.iter_with_large_drop(|| {
            loyalty::rfm::summarize_par(black_box(&sorted), as_of, SummaryOptions::default())
                .unwrap()
        })
    });
    // The same log pushed one transaction at a time, with the prefetch hint a host that
    // parses ahead gives (the `loyalty` command's streamed read).
    g.bench_function("stream/5m_tx_400k_customers/time_ordered", |b| {
        b.iter_with_large_drop(|| {
            let mut s = SummaryStream::new(Some(as_of.into()), SummaryOptions::default());
            for (i, tx) in black_box(&sorted).iter().enumerate() {
                if let Some(ahead) = sorted.get(i + 32) {
                    s.prefetch(&ahead.customer);
                }
                s.push(tx).unwrap();
            }
            s.finish().unwrap()
        })
    });
    let summary = summarize(&sorted, as_of, SummaryOptions::default()).unwrap();
    let quantile = RfmScorer::new(ScoreOptions::default()).unwrap();
    g.bench_function("score/400k_customers/quantile", |b| {
        b.iter(|| quantile.score_summary(black_box(&summary), RfmMeasures::default()).unwrap())
    });
    let rank = RfmScorer::new(ScoreOptions::default().method(ScoreMethod::RankFirst)).unwrap();
    g.bench_function("score/400k_customers/rank_first", |b| {
        b.iter(|| rank.score_summary(black_box(&summary), RfmMeasures::default()).unwrap())
    });
    let scores = quantile.score_summary(&summary, RfmMeasures::default()).unwrap();
    let map = SegmentMap::eleven_segments();
    g.bench_function("segment/400k_customers/eleven", |b| {
        b.iter(|| map.assign(black_box(&scores)).unwrap())
    });
    let shuffled = shuffled(sorted);
    g.bench_function("summary/5m_tx_400k_customers/shuffled", |b| {
        b.iter_with_large_drop(|| {
            summarize(black_box(&shuffled), as_of, SummaryOptions::default()).unwrap()
        })
    });
    #[cfg(feature = "rayon")]
    g.bench_function("summary_par/5m_tx_400k_customers/shuffled", |b| {
        b.iter_with_large_drop(|| {
            loyalty::rfm::summarize_par(black_box(&shuffled), as_of, SummaryOptions::default())
                .unwrap()
        })
    });
    g.finish();
    text_ids(c, shuffled);
}

/// The same logs with the ids as zero-padded text (`String`, allocated in the log's order,
/// as a host reading the log would have them): within 2x of the integer ids is the goal.
fn text_ids(c: &mut Criterion, shuffled: Vec<Transaction<u64>>) {
    let as_of = NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
    let text = |log: &[Transaction<u64>]| -> Vec<Transaction<String>> {
        log.iter().map(|t| Transaction::new(format!("{:07}", t.customer), t.at, t.amount)).collect()
    };
    let mut time_ordered = shuffled;
    time_ordered.sort_by_key(|t| t.at);
    let mut by_customer = time_ordered.clone();
    by_customer.sort_by_key(|t| t.customer);
    let shuffled = self::shuffled(time_ordered.clone());
    let mut g = c.benchmark_group("rfm");
    g.sample_size(10);
    for (name, log) in
        [("by_customer", by_customer), ("time_ordered", time_ordered), ("shuffled", shuffled)]
    {
        let log = text(&log);
        g.bench_function(format!("summary/5m_tx_400k_customers_text_ids/{name}"), |b| {
            b.iter_with_large_drop(|| {
                summarize(black_box(&log), as_of, SummaryOptions::default()).unwrap()
            })
        });
        #[cfg(feature = "rayon")]
        g.bench_function(format!("summary_par/5m_tx_400k_customers_text_ids/{name}"), |b| {
            b.iter_with_large_drop(|| {
                loyalty::rfm::summarize_par(black_box(&log), as_of, SummaryOptions::default())
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
