//! Criterion benchmarks for `loyalty::economics`.

use criterion::{criterion_group, criterion_main, Criterion};
use loyalty::economics::{
    cac_by_channel, clv_retention, clv_retention_finite, ChannelSpend, DiscountRate, Retention,
};
use loyalty::{Currency, Money};
use rust_decimal::dec;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let usd = |x| Money::new(x, Currency::USD);
    let channels: Vec<ChannelSpend> = (0..10u64)
        .map(|i| ChannelSpend::new(format!("channel-{i}"), usd(dec!(1234.56)), 100 + i).unwrap())
        .collect();
    c.bench_function("economics/cac_by_channel/10", |b| {
        b.iter(|| cac_by_channel(black_box(&channels)).unwrap())
    });
    let m = usd(dec!(48.20));
    let r = Retention::new(dec!(0.83)).unwrap();
    let d = DiscountRate::new(dec!(0.01)).unwrap();
    c.bench_function("economics/clv_retention", |b| {
        b.iter(|| clv_retention(black_box(m), black_box(r), black_box(d)).unwrap())
    });
    for n in [12u32, 1200] {
        c.bench_function(&format!("economics/clv_retention_finite/{n}"), |b| {
            b.iter(|| clv_retention_finite(black_box(m), r, d, black_box(n)).unwrap())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
