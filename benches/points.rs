//! Criterion benchmarks for `loyalty::points`.
//!
//! `points/earn_redeem/N`: one earn and one redemption (two ledger operations, each with
//! its idempotency key) on an account that holds N open lots, so the cost per operation
//! can be compared as the history grows (N = 10, 10^3, 10^5). The account is reset from a
//! template every few thousand iterations, outside the timed region, so memory stays
//! bounded however many iterations criterion asks for; [`Account::reserve_capacity`] gives each
//! copy room for the chunk first. `points/earn_redeem` reuses the copy's buffers (steady
//! state); `points/earn_redeem_fresh_memory` allocates every copy anew, so it also counts the
//! page faults of a history growing into new memory; `points/earn_redeem_scrambled_keys`
//! uses unordered idempotency keys (random UUIDs), which take the key index's hash-map
//! path instead of its append path.
//!
//! Run briefly: `cargo bench --bench points -- --warm-up-time 1 --measurement-time 2`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use loyalty::points::{
    Account, EarnContext, EarnRequest, EarnRules, Expiry, MemberId, OpKey, Order, OrderLine,
    Points, Program, RedeemRequest, RedemptionRules, Span,
};
use loyalty::{Currency, Money, Multiplier};
use rust_decimal::Decimal;

const CHUNK: u64 = 20_000;

fn program() -> Program {
    let usd = Money::new(Decimal::from(10), Currency::USD);
    Program::new(
        EarnRules::new(Currency::USD, Decimal::ONE).unwrap(),
        RedemptionRules::new(Points::new(100), usd).unwrap(),
    )
    .unwrap()
    .expiry(Expiry::rolling(Span::Months(12)).unwrap())
}

/// Times `iters` earn + redeem pairs on copies of `template`, `CHUNK` pairs per copy. With
/// `Memory::Reused` the copy is made with `clone_from` into one account whose buffers were
/// already grown (the steady state of a long-running host); with `Memory::Fresh` each copy
/// is a new allocation, so the timed region also pays for first-touch page faults as the
/// history grows.
fn time_pairs(
    program: &Program,
    template: &Account,
    first_key: u128,
    iters: u64,
    memory: Memory,
    keys: Keys,
) -> Duration {
    let day = template.clock();
    let order = Money::new(Decimal::from(1_000_000), Currency::USD);
    let earn = EarnRequest::new(Points::new(10));
    let redeem = RedeemRequest::new(Points::new(10), order);
    let mut total = Duration::ZERO;
    let mut done = 0u64;
    let mut acc = template.clone();
    while done < iters {
        let n = CHUNK.min(iters - done);
        match memory {
            Memory::Reused => acc.clone_from(template),
            Memory::Fresh => acc = template.clone(),
        }
        acc.reserve_capacity(2 * CHUNK as usize);
        let mut key = first_key;
        let start = Instant::now();
        for _ in 0..n {
            black_box(acc.earn(program, keys.key(key), &earn, day).unwrap());
            black_box(acc.redeem(program, keys.key(key + 1), &redeem, day).unwrap());
            key += 2;
        }
        total += start.elapsed();
        done += n;
    }
    total
}

/// Increasing keys (the key index's append path) or unique keys in scrambled order (its
/// hash-map path, as with random UUIDs).
#[derive(Clone, Copy)]
enum Keys {
    Increasing,
    Scrambled,
}

impl Keys {
    fn key(self, n: u128) -> OpKey {
        match self {
            Keys::Increasing => OpKey::new(n),
            // An odd multiplier is a bijection modulo 2^128: unique, unordered keys.
            Keys::Scrambled => {
                OpKey::new(n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Memory {
    Reused,
    Fresh,
}

fn earn_redeem(c: &mut Criterion) {
    let program = program();
    let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let earn = EarnRequest::new(Points::new(10));
    let cases = [
        ("points/earn_redeem", Memory::Reused, Keys::Increasing),
        ("points/earn_redeem_fresh_memory", Memory::Fresh, Keys::Increasing),
        ("points/earn_redeem_scrambled_keys", Memory::Reused, Keys::Scrambled),
    ];
    for (name, memory, keys) in cases {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(2));
        for lots in [10u64, 1_000, 100_000] {
            let mut template = Account::new(MemberId::new(1), day);
            for i in 0..lots {
                template.earn(&program, keys.key(u128::from(i)), &earn, day).unwrap();
            }
            group.bench_with_input(BenchmarkId::from_parameter(lots), &lots, |b, &lots| {
                b.iter_custom(|iters| {
                    time_pairs(&program, &template, u128::from(lots) + 1, iters, memory, keys)
                });
            });
        }
        group.finish();
    }
}

fn replay(c: &mut Criterion) {
    // An exact replay of an old key: one index lookup and a comparison, no mutation.
    let program = program();
    let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let earn = EarnRequest::new(Points::new(10));
    let mut acc = Account::new(MemberId::new(1), day);
    for i in 0..100_000u128 {
        acc.earn(&program, OpKey::new(i), &earn, day).unwrap();
    }
    c.bench_function("points/replay/100000", |b| {
        let mut i = 0u128;
        b.iter(|| {
            i = (i + 7919) % 100_000;
            black_box(acc.earn(&program, OpKey::new(i), &earn, day).unwrap())
        });
    });
}

fn quote(c: &mut Criterion) {
    let program = program();
    let usd = |cents: i64| Money::new(Decimal::new(cents, 2), Currency::USD);
    let rules = program
        .earn_rules()
        .clone()
        .sku_multiplier("vinyl", Multiplier::new(Decimal::from(2)).unwrap());
    let order = Order::new(vec![
        OrderLine::new("vinyl", usd(2599)),
        OrderLine::new("cd", usd(1299)),
        OrderLine::new("poster", usd(499)),
    ])
    .shipping(usd(500))
    .discount(usd(300));
    let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let ctx = EarnContext::new(day).tier(Multiplier::new(Decimal::new(15, 1)).unwrap());
    c.bench_function("points/quote/3_lines", |b| {
        b.iter(|| black_box(rules.quote(black_box(&order), &ctx).unwrap()))
    });
}

criterion_group!(benches, earn_redeem, replay, quote);
criterion_main!(benches);
