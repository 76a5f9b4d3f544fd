//! Criterion benchmarks for `loyalty::care`: one daily run over a synthetic customer base.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use loyalty::care::{
    due, ActionKind, Birthday, CareConfig, CareInput, Channel, Contact, Customer, CustomerId,
    FestivalCalendar, Order, Promotion,
};
use std::hint::black_box;

const ZONES: [&str; 6] = [
    "Asia/Tokyo",
    "Europe/Berlin",
    "America/Sao_Paulo",
    "Pacific/Kiritimati",
    "UTC",
    "America/New_York",
];

struct World {
    customers: Vec<Customer>,
    orders: Vec<Order>,
    contacts: Vec<Contact>,
    promotions: Vec<Promotion>,
    calendar: FestivalCalendar,
}

/// `n` customers with 5 orders each and 2 past contacts, deterministic (an LCG, no rand).
fn world(n: u64) -> World {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move |m: u64| {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % m
    };
    let day0 = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 6, 30, 12, 0, 0).unwrap();
    let mut customers = Vec::new();
    let mut orders = Vec::new();
    let mut contacts = Vec::new();
    for id in 0..n {
        let mut c = Customer::new(CustomerId(id), ZONES[next(6) as usize])
            .unwrap()
            .market(["JP", "DE", "BR"][next(3) as usize])
            .consent(Channel::Email)
            .tag(format!("t{}", next(20)));
        c.birthday = Birthday::month_day(1 + next(12) as u32, 1 + next(28) as u32).ok();
        customers.push(c);
        for k in 0..5 {
            let ordered = day0 - Duration::days(next(400) as i64);
            let delivered = Some(ordered + Duration::days(next(6) as i64));
            orders.push(
                Order::new(format!("{id}-{k}"), CustomerId(id), ordered, delivered)
                    .unwrap()
                    .category(["beans", "cast-iron", "mug"][next(3) as usize]),
            );
        }
        for _ in 0..2 {
            contacts.push(Contact {
                customer: CustomerId(id),
                kind: ActionKind::ALL[next(8) as usize],
                at: now - Duration::hours(next(24 * 60) as i64),
                channel: None,
            });
        }
    }
    let promotions = (0..20)
        .map(|i| {
            Promotion::new(format!("p{i}"), day0 - Duration::days(10), day0 + Duration::days(10))
                .unwrap()
                .tag(format!("t{i}"))
        })
        .collect();
    let mut calendar = FestivalCalendar::new();
    calendar.add("JP", "Tanabata", "07-07").unwrap();
    calendar.add("DE", "x", "06-30").unwrap();
    World { customers, orders, contacts, promotions, calendar }
}

fn bench_due(c: &mut Criterion) {
    let mut cfg = CareConfig::default();
    cfg.care_tip.upkeep_categories.insert("cast-iron".into());
    cfg.replenish.categories.insert("beans".into(), Some(30));
    let now = Utc.with_ymd_and_hms(2026, 6, 30, 12, 0, 0).unwrap();
    let mut g = c.benchmark_group("care/due");
    for n in [1_000u64, 10_000] {
        let w = world(n);
        let input = CareInput {
            customers: &w.customers,
            orders: &w.orders,
            contacts: &w.contacts,
            promotions: &w.promotions,
            calendar: &w.calendar,
        };
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::new("customers", n), &input, |b, input| {
            b.iter(|| due(black_box(now), &cfg, input).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench_due);
criterion_main!(benches);
