//! Criterion benchmarks for `loyalty::sla`.
//!
//! The target: at least 2 million deadline computations per second for 3-business-day
//! targets on a calendar with holidays, flat in the length of the target. Each benchmark
//! computes deadlines for a batch of 1 000 start instants spread over 2024 (throughput is per
//! deadline), on a Mon–Fri 09:00–17:00 America/New_York calendar with 11 holidays a year for
//! 2020–2030 (DST changes included).

use std::hint::black_box;

use chrono::{DateTime, NaiveDate, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use loyalty::sla::{
    evaluate, Calendar, EvaluateOptions, Event, Filter, Policy, Shift, Target, Targets, TimeSpan,
};

const HOLIDAYS: [(u32, u32); 11] = [
    (1, 1),
    (1, 15),
    (2, 19),
    (5, 27),
    (6, 19),
    (7, 4),
    (9, 2),
    (10, 14),
    (11, 11),
    (11, 28),
    (12, 25),
];

fn calendar() -> Calendar {
    let mut b = Calendar::builder("America/New_York");
    b.weekdays(&[Shift::hm(9, 0, 17, 0).unwrap()]);
    for y in 2020..=2030 {
        for (m, d) in HOLIDAYS {
            b.holiday(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        }
    }
    b.build().unwrap()
}

fn starts() -> Vec<DateTime<Utc>> {
    // 2024-01-01T00:00Z plus a prime stride so starts hit every hour of the week.
    (0..1000i64).map(|i| DateTime::from_timestamp(1_704_067_200 + i * 31_337, 0).unwrap()).collect()
}

fn deadlines(c: &mut Criterion) {
    let cal = calendar();
    let starts = starts();
    let mut g = c.benchmark_group("sla/deadline");
    g.throughput(Throughput::Elements(starts.len() as u64));
    for days in [1u32, 3, 10, 30, 250] {
        g.bench_with_input(BenchmarkId::new("business_days", days), &days, |b, &n| {
            b.iter(|| {
                for &t in &starts {
                    black_box(cal.add_business_days(black_box(t), n).unwrap());
                }
            });
        });
        let work = TimeSpan::hours(8 * i64::from(days)).unwrap();
        g.bench_with_input(BenchmarkId::new("working_hours_x8", days), &work, |b, &d| {
            b.iter(|| {
                for &t in &starts {
                    black_box(cal.add(black_box(t), d).unwrap());
                }
            });
        });
    }
    g.finish();

    let mut g = c.benchmark_group("sla/between");
    g.throughput(Throughput::Elements(starts.len() as u64));
    for days in [3i64, 90] {
        g.bench_with_input(BenchmarkId::from_parameter(days), &days, |b, &d| {
            b.iter(|| {
                for &t in &starts {
                    black_box(cal.between(black_box(t), t + chrono::TimeDelta::days(d)).unwrap());
                }
            });
        });
    }
    g.finish();
}

fn evaluation(c: &mut Criterion) {
    let cal = [calendar()];
    let policy = Policy::new(
        "default",
        Filter::any(),
        Targets::none()
            .first_reply(Target::business_days(0))
            .next_reply(Target::working(TimeSpan::hours(8).unwrap()).unwrap())
            .resolution(Target::business_days(3)),
    )
    .unwrap();
    let t0 = DateTime::from_timestamp(1_718_000_000, 0).unwrap();
    let events: Vec<Event> = (0..10i64)
        .flat_map(|i| {
            let t = t0 + chrono::TimeDelta::hours(5 * i);
            [Event::customer_message(t), Event::agent_reply(t + chrono::TimeDelta::minutes(50))]
        })
        .collect();
    let now = t0 + chrono::TimeDelta::days(3);
    let opts = EvaluateOptions::default();
    c.bench_function("sla/evaluate/20_events", |b| {
        b.iter(|| black_box(evaluate(black_box(&events), &policy, &cal, now, &opts).unwrap()));
    });
    c.bench_function("sla/calendar/build", |b| b.iter(|| black_box(calendar())));
}

criterion_group!(benches, deadlines, evaluation);
criterion_main!(benches);
