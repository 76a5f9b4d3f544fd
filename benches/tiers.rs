//! Criterion benchmarks for `loyalty::tiers` and `loyalty::referral`: evaluating and
//! projecting one member from 10, 100 and 1000 qualifying events, and settling a referral
//! book of 10, 100 and 1000 referrals.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use loyalty::referral::{CapPeriod, MemberId, ReferralBook, ReferralRules, ReferrerCap, Reward};
use loyalty::tiers::{
    Demotion, Grace, Ladder, Metric, Policy, Program, QualifyingEvent, RefundScope, Tier, Window,
};
use loyalty::{Currency, Money};
use rust_decimal::Decimal;
use std::hint::black_box;

const SIZES: [u64; 3] = [10, 100, 1000];

fn start() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()
}

/// A deterministic LCG (no rand dependency).
fn lcg(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut x = seed;
    move |m: u64| {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % m
    }
}

/// `n` events over five years: mostly orders, one in ten a partial refund.
fn history(n: u64) -> Vec<QualifyingEvent> {
    let mut next = lcg(0x2545_F491_4F6C_DD1D);
    (0..n)
        .map(|_| {
            let t = start() + Duration::hours(i64::try_from(next(5 * 365 * 24)).unwrap());
            let amount = Decimal::from(next(900) + 10);
            if next(10) == 0 {
                QualifyingEvent::refund(t, amount / Decimal::from(4), RefundScope::Partial).unwrap()
            } else {
                QualifyingEvent::order(t, amount).unwrap()
            }
        })
        .collect()
}

fn program() -> Program {
    let ladder = Ladder::new(
        Metric::Spend,
        vec![
            Tier::new("bronze", Decimal::ZERO).unwrap(),
            Tier::new("silver", Decimal::from(2_000)).unwrap(),
            Tier::new("gold", Decimal::from(10_000)).unwrap(),
            Tier::new("platinum", Decimal::from(40_000)).unwrap(),
        ],
    )
    .unwrap();
    let policy = Policy::default().demotion(Demotion::OneLevel).grace(Grace::days(30).unwrap());
    Program::new(ladder, Window::rolling(12, 1).unwrap(), policy).unwrap()
}

fn evaluate_and_progress(c: &mut Criterion) {
    let program = program();
    let joined = start().date();
    let now = start() + Duration::days(5 * 365);
    let mut group = c.benchmark_group("tiers");
    for n in SIZES {
        let h = history(n);
        group.throughput(Throughput::Elements(n));
        group.bench_with_input(BenchmarkId::new("evaluate", n), &h, |b, h| {
            b.iter(|| program.evaluate(joined, black_box(h), now).unwrap());
        });
        group.bench_with_input(BenchmarkId::new("progress", n), &h, |b, h| {
            b.iter(|| program.progress(joined, black_box(h), now).unwrap());
        });
    }
    group.finish();
}

/// A book of `n` referrals from `n / 5` referrers, every first order recorded and clearing.
fn book(n: u64) -> ReferralBook {
    let usd = |a: i64| Money::new(Decimal::from(a), Currency::USD);
    let rules = ReferralRules::new(
        Reward::points(500).unwrap(),
        Reward::money(usd(10)).unwrap(),
        usd(25),
        30,
    )
    .unwrap()
    .cap(ReferrerCap::new(3, CapPeriod::Month).unwrap());
    let mut book = ReferralBook::new(rules);
    let mut next = lcg(7);
    for i in 0..n {
        let referrer = MemberId::new(format!("r{}", i % (n / 5).max(1))).unwrap();
        let referee = MemberId::new(format!("f{i}")).unwrap();
        let t = start() + Duration::hours(i64::try_from(next(365 * 24)).unwrap());
        book.refer(referrer, referee.clone(), t).unwrap();
        book.first_order(&referee, usd(30), t + Duration::days(1)).unwrap();
    }
    book
}

fn settle(c: &mut Criterion) {
    let now = start() + Duration::days(500);
    let mut group = c.benchmark_group("referral");
    for n in SIZES {
        let fresh = book(n);
        group.throughput(Throughput::Elements(n));
        // The clone is part of the measurement (settle consumes the due referrals).
        group.bench_with_input(BenchmarkId::new("settle", n), &fresh, |b, fresh| {
            b.iter(|| {
                let mut book = fresh.clone();
                book.settle(black_box(now)).unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, evaluate_and_progress, settle);
criterion_main!(benches);
