//! The SQL functions against the library: every customer's summary, every fit and every
//! score equal the library's, whatever the partitions and the order of the files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Field, Float64Type, Int64Type, Schema, TimeUnit, TimestampMicrosecondType,
    UInt32Type, UInt64Type,
};
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionConfig, SessionContext};
use loyalty::clv::{
    BgNbd, Customer, GammaGamma, Histogram, MbgNbd, ParetoNbd, PurchaseModel, Span,
    TransactionModel,
};
use loyalty::rfm::{summarize, Period, Summary, SummaryOptions, Transaction};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

type Log = Vec<Transaction<i64>>;

/// A fresh directory under the system's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("loyalty-datafusion-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// CDNOW master (69,659 transactions of 23,570 customers), as the library reads it.
fn cdnow_master() -> Log {
    let text = std::fs::read_to_string(repo("examples/data/CDNOW_master.txt")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let date = NaiveDate::parse_from_str(f[1], "%Y%m%d").unwrap();
            Transaction::on(f[0].parse().unwrap(), date, Decimal::from_str(f[3]).unwrap())
        })
        .collect()
}

/// A generated log: `customers` customers over two years at second resolution, amounts with
/// 0 to 2 decimals, a few refunds and transactions after the end of observation (2021-06-30).
fn generated(customers: i64, transactions: usize, seed: u64) -> Log {
    let mut state = seed;
    let mut next = move || {
        // Knuth's MMIX linear congruential generator; the top bits are the good ones.
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        state >> 33
    };
    let start = NaiveDate::from_ymd_opt(2019, 7, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
    (0..transactions)
        .map(|_| {
            let customer = (next() % customers as u64) as i64 + 1000;
            let at = start + chrono::Duration::seconds((next() % (2 * 366 * 86_400)) as i64);
            let scale = (next() % 3) as u32;
            let mut cents = (next() % 20_000) as i64 + 1;
            if next() % 50 == 0 {
                cents = -cents;
            }
            Transaction::new(customer, at, Decimal::new(cents, 2).round_dp(scale))
        })
        .collect()
}

/// Writes the log as `files` CSV files (rows dealt round-robin) and returns the directory.
/// `reversed` names the files in the opposite order, so a listing reads them the other way.
fn write_csv(log: &Log, dir: &Path, files: usize, reversed: bool) {
    let mut out: Vec<String> = vec!["customer_id,order_time,amount\n".to_string(); files];
    for (i, t) in log.iter().enumerate() {
        out[i % files].push_str(&format!(
            "{},{},{}\n",
            t.customer,
            t.at.format("%Y-%m-%dT%H:%M:%S"),
            t.amount
        ));
    }
    for (i, text) in out.iter().enumerate() {
        let n = if reversed { files - 1 - i } else { i };
        std::fs::write(dir.join(format!("part-{n:03}.csv")), text).unwrap();
    }
}

/// Writes the log's rows in a seeded random order, dealt into `files` CSV files placed in
/// Hive-style directories `part=K/` whose names follow neither the rows' nor the files'
/// order: with [`write_csv`]'s two orders, "the input files in any order".
fn write_csv_shuffled(log: &Log, dir: &Path, files: usize, seed: u64) {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        state >> 33
    };
    let mut rows: Vec<&Transaction<i64>> = log.iter().collect();
    // Fisher-Yates.
    for i in (1..rows.len()).rev() {
        rows.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    let mut names: Vec<usize> = (0..files).collect();
    for i in (1..files).rev() {
        names.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    let mut out: Vec<String> = vec!["customer_id,order_time,amount\n".to_string(); files];
    for (i, t) in rows.iter().enumerate() {
        out[i % files].push_str(&format!(
            "{},{},{}\n",
            t.customer,
            t.at.format("%Y-%m-%dT%H:%M:%S"),
            t.amount
        ));
    }
    for (text, n) in out.iter().zip(&names) {
        let d = dir.join(format!("part={}", n % 3));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("{n:03}.csv")), text).unwrap();
    }
}

fn schema() -> Schema {
    Schema::new(vec![
        Field::new("customer_id", DataType::Int64, true),
        Field::new("order_time", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("amount", DataType::Decimal128(12, 2), true),
    ])
}

/// A context with `partitions` target partitions; with `skip_partial`, one that gives up the
/// partial aggregation after 1,000 rows (so the states come from `convert_to_state`).
async fn context_with(partitions: usize, skip_partial: bool) -> SessionContext {
    let mut config = SessionConfig::new().with_target_partitions(partitions);
    if skip_partial {
        let o = config.options_mut();
        o.execution.skip_partial_aggregation_probe_rows_threshold = 1_000;
        o.execution.skip_partial_aggregation_probe_ratio_threshold = 0.0;
    }
    let ctx = SessionContext::new_with_config(config);
    loyalty_datafusion::register(&ctx);
    ctx
}

async fn context(partitions: usize) -> SessionContext {
    context_with(partitions, false).await
}

async fn register_csv(ctx: &SessionContext, name: &str, dir: &Path) {
    let schema = schema();
    let options = CsvReadOptions::new().schema(&schema).file_extension(".csv");
    ctx.register_csv(name, dir.to_str().unwrap(), options).await.unwrap();
}

async fn sql(ctx: &SessionContext, query: &str) -> datafusion::error::Result<Vec<RecordBatch>> {
    ctx.sql(query).await?.collect().await
}

/// One customer's row of the SQL summary, flattened with `s['field']`.
#[derive(Debug, PartialEq)]
struct Row {
    frequency: u32,
    recency: u64,
    t: u64,
    monetary_value: u64,
    periods: [u32; 5],
    total_spend: u64,
    first_amount: u64,
    first: i64,
    last: i64,
}

const FLAT: &str = "customer_id, s['frequency'], s['recency'], s['t'], s['monetary_value'], \
     s['recency_periods'], s['t_periods'], s['periods_since_last_purchase'], \
     s['purchase_periods'], s['orders'], s['total_spend'], s['first_purchase_amount'], \
     s['first_purchase'], s['last_purchase']";

fn rows_of(batches: &[RecordBatch]) -> HashMap<i64, Row> {
    let mut out = HashMap::new();
    for b in batches {
        let f = |i: usize| b.column(i).as_primitive::<Float64Type>().clone();
        let u = |i: usize| b.column(i).as_primitive::<UInt32Type>().clone();
        let ts = |i: usize| b.column(i).as_primitive::<TimestampMicrosecondType>().clone();
        let id = b.column(0).as_primitive::<Int64Type>();
        for r in 0..b.num_rows() {
            let row = Row {
                frequency: u(1).value(r),
                recency: f(2).value(r).to_bits(),
                t: f(3).value(r).to_bits(),
                monetary_value: f(4).value(r).to_bits(),
                periods: [
                    u(5).value(r),
                    u(6).value(r),
                    u(7).value(r),
                    u(8).value(r),
                    u(9).value(r),
                ],
                total_spend: f(10).value(r).to_bits(),
                first_amount: f(11).value(r).to_bits(),
                first: ts(12).value(r),
                last: ts(13).value(r),
            };
            assert!(out.insert(id.value(r), row).is_none(), "customer {} twice", id.value(r));
        }
    }
    out
}

fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

fn expected_rows(s: &Summary<i64>) -> HashMap<i64, Row> {
    s.rows()
        .iter()
        .map(|r| {
            let row = Row {
                frequency: r.frequency(),
                recency: r.recency().to_bits(),
                t: r.t().to_bits(),
                monetary_value: r.clv_inputs().monetary_value.to_bits(),
                periods: [
                    r.recency_periods(),
                    r.t_periods(),
                    r.periods_since_last_purchase(),
                    r.purchase_periods(),
                    r.orders(),
                ],
                total_spend: r.total_spend().to_f64().unwrap().to_bits(),
                first_amount: r.first_purchase_amount().to_f64().unwrap().to_bits(),
                first: micros(r.first_purchase()),
                last: micros(r.last_purchase()),
            };
            (*r.customer(), row)
        })
        .collect()
}

/// The SQL summary of table `tx` under `partitions`, against the library's.
async fn check_summary(
    dirs: &[&Path],
    log: &Log,
    as_of: &str,
    period: &str,
    options: &str,
    library: SummaryOptions,
) {
    let as_of_t = NaiveDate::parse_from_str(as_of, "%Y-%m-%d").unwrap();
    // The table reads amounts as DECIMAL(12, 2): the library sees the same decimals.
    let log = at_table_scale(log);
    let expected = expected_rows(&summarize(&log, as_of_t, library).unwrap());
    // Each customer's transactions after the window and refunds inside it, from the library's
    // summary of that customer alone (the summary's counts are the whole log's).
    let mut by_customer: HashMap<i64, Log> = HashMap::new();
    for t in &log {
        by_customer.entry(t.customer).or_default().push(t.clone());
    }
    let counts: HashMap<i64, (u64, u64)> = by_customer
        .iter()
        .filter(|(id, _)| expected.contains_key(id))
        .map(|(id, own)| {
            let s = summarize(own, as_of_t, library).unwrap();
            (*id, (s.excluded_after_as_of(), s.negative_amounts()))
        })
        .collect();
    if as_of == "2021-06-30" {
        // The generated log has both, so the comparison below has something to catch.
        assert!(counts.values().any(|c| c.0 > 0) && counts.values().any(|c| c.1 > 0));
    }
    // (1, 2 and 8 partitions; 4 partitions without the partial aggregation.)
    for (partitions, skip_partial) in [(1, false), (2, false), (8, false), (4, true)] {
        for dir in dirs {
            let ctx = context_with(partitions, skip_partial).await;
            register_csv(&ctx, "tx", dir).await;
            let query = format!(
                "SELECT {FLAT} FROM (SELECT customer_id, \
                 rfm_summary(order_time, amount, DATE '{as_of}', '{period}', '{options}') AS s \
                 FROM tx GROUP BY customer_id) WHERE s IS NOT NULL"
            );
            let got = rows_of(&sql(&ctx, &query).await.unwrap());
            assert_eq!(got.len(), expected.len(), "{partitions} partitions, {dir:?}");
            for (id, row) in &expected {
                assert_eq!(got.get(id), Some(row), "customer {id}, {partitions} partitions");
            }
            let query = format!(
                "SELECT customer_id, s['excluded_after_as_of'], s['negative_amounts'] FROM \
                 (SELECT customer_id, \
                 rfm_summary(order_time, amount, DATE '{as_of}', '{period}', '{options}') AS s \
                 FROM tx GROUP BY customer_id) WHERE s IS NOT NULL"
            );
            let mut got = HashMap::new();
            for b in sql(&ctx, &query).await.unwrap() {
                let id = b.column(0).as_primitive::<Int64Type>();
                let (x, n) = (b.column(1).as_primitive::<UInt64Type>(), b.column(2));
                for r in 0..b.num_rows() {
                    let n = n.as_primitive::<UInt64Type>().value(r);
                    got.insert(id.value(r), (x.value(r), n));
                }
            }
            assert_eq!(got, counts, "{partitions} partitions, {dir:?}");
        }
    }
}

#[tokio::test]
async fn cdnow_master_summary_equals_the_library_for_every_customer() {
    let log = cdnow_master();
    assert_eq!(log.len(), 69_659);
    let (a, b, c) = (scratch("cdnow-a"), scratch("cdnow-b"), scratch("cdnow-c"));
    write_csv(&log, &a, 5, false);
    write_csv(&log, &b, 5, true);
    write_csv_shuffled(&log, &c, 6, 7);
    for (period, library) in [("day", Period::DAY), ("week", Period::WEEK)] {
        let o = SummaryOptions::default().period(library);
        check_summary(&[&a, &b, &c], &log, "1998-06-30", period, "", o).await;
    }
}

#[tokio::test]
async fn cdnow_master_summary_is_lifetimes_summary() {
    // The issue's query, on CDNOW master in one Parquet file, against lifetimes 0.11.3's own
    // output (tests/data/rfm_cdnow_master_lifetimes.csv at the repository root).
    let log = cdnow_master();
    let dir = scratch("cdnow-parquet");
    write_csv(&log, &dir, 1, false);
    let ctx = context(4).await;
    register_csv(&ctx, "csv", &dir).await;
    let out = dir.join("tx.parquet");
    sql(&ctx, &format!("COPY csv TO '{}' STORED AS PARQUET", out.display())).await.unwrap();
    ctx.register_parquet("tx", out.to_str().unwrap(), ParquetReadOptions::default()).await.unwrap();
    let batches = sql(
        &ctx,
        "SELECT customer_id, s['frequency'], s['recency'], s['t'], s['monetary_value'] FROM \
         (SELECT customer_id, rfm_summary(order_time, amount, DATE '1998-06-30', 'day') AS s \
         FROM tx GROUP BY customer_id)",
    )
    .await
    .unwrap();
    let text = std::fs::read_to_string(repo("tests/data/rfm_cdnow_master_lifetimes.csv")).unwrap();
    let mut expected = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let v: Vec<f64> = f[1..5].iter().map(|x| x.parse().unwrap()).collect();
        expected.insert(f[0].parse::<i64>().unwrap(), v);
    }
    let mut seen = 0;
    for b in &batches {
        let id = b.column(0).as_primitive::<Int64Type>();
        let x = b.column(1).as_primitive::<UInt32Type>();
        for r in 0..b.num_rows() {
            let e = &expected[&id.value(r)];
            let got = [
                f64::from(x.value(r)),
                b.column(2).as_primitive::<Float64Type>().value(r),
                b.column(3).as_primitive::<Float64Type>().value(r),
                b.column(4).as_primitive::<Float64Type>().value(r),
            ];
            assert_eq!(&got[..3], &e[..3], "customer {}", id.value(r));
            // lifetimes averages floats; the library's mean is the exact sum over the count.
            assert!((got[3] - e[3]).abs() <= 1e-9 * e[3].abs(), "customer {}", id.value(r));
            seen += 1;
        }
    }
    assert_eq!(seen, 23_570);
}

#[tokio::test]
async fn generated_multi_file_log_equals_the_library_under_every_option() {
    let log = generated(3_000, 40_000, 20);
    let (a, b, c) = (scratch("gen-a"), scratch("gen-b"), scratch("gen-c"));
    write_csv(&log, &a, 7, false);
    write_csv(&log, &b, 7, true);
    write_csv_shuffled(&log, &c, 9, 21);
    let day = SummaryOptions::default();
    check_summary(&[&a, &b, &c], &log, "2021-06-30", "day", "", day).await;
    let hourly = SummaryOptions::default()
        .period(Period::new(loyalty::rfm::PeriodUnit::Hour, 24).unwrap())
        .first_purchase(loyalty::rfm::FirstPurchase::Included)
        .monetary(loyalty::rfm::MonetaryMeasure::Total);
    check_summary(
        &[&a, &b],
        &log,
        "2021-06-30",
        "24 hours",
        "first_purchase=included, monetary=total",
        hourly,
    )
    .await;
    let monthly = SummaryOptions::default()
        .period(Period::MONTH)
        .frequency(loyalty::rfm::FrequencyCount::Orders)
        .cutoff(loyalty::rfm::Cutoff::Instant);
    check_summary(&[&a], &log, "2021-06-30", "month", "frequency=orders, cutoff=instant", monthly)
        .await;
}

/// Expects `query` to fail with a message containing every one of `parts`.
async fn fails(ctx: &SessionContext, query: &str, parts: &[&str]) {
    let e = sql(ctx, query).await.expect_err(query).to_string();
    for p in parts {
        assert!(e.contains(p), "{query}\n{e}\nmissing {p:?}");
    }
}

#[tokio::test]
async fn bad_input_names_the_function_the_argument_and_the_value() {
    let ctx = context(2).await;
    sql(
        &ctx,
        "CREATE TABLE tx (customer_id INT, d DATE, amount DECIMAL(10, 2), note VARCHAR) AS VALUES \
         (1, DATE '2020-01-01', 5.00, 'a'), (1, DATE '2020-01-09', -2.50, 'b'), \
         (2, DATE '2020-01-03', NULL, 'c'), (2, NULL, 3.00, 'd'), (3, DATE '2020-02-01', 1.00, 'e')",
    )
    .await
    .unwrap();
    let q = |args: &str| {
        format!("SELECT customer_id, rfm_summary({args}) AS s FROM tx GROUP BY customer_id")
    };
    fails(&ctx, &q("d, amount, DATE '2020-03-01'"), &["rfm_summary", "argument", "NULL"]).await;
    fails(
        &ctx,
        &q("d, amount, DATE '2020-03-01', 'day', 'negative=reject, nulls=skip'"),
        &["rfm_summary: argument amount = -2.50", "negative=reject"],
    )
    .await;
    fails(&ctx, &q("d, note, DATE '2020-03-01'"), &["rfm_summary: argument amount has type Utf8"])
        .await;
    fails(&ctx, &q("note, amount, DATE '2020-03-01'"), &["rfm_summary: argument order_time"]).await;
    fails(&ctx, &q("d, amount, d"), &["rfm_summary: argument as_of", "must be a constant"]).await;
    fails(
        &ctx,
        &q("d, amount, DATE '2020-03-01', 'fortnight'"),
        &["argument period = 'fortnight'"],
    )
    .await;
    fails(&ctx, &q("d, amount, DATE '2020-03-01', 'day', 'tz=utc'"), &["unknown option \"tz\""])
        .await;
    fails(&ctx, &q("d, amount"), &["rfm_summary: takes (order_time, amount, as_of"]).await;

    // Skipped and counted: customer 2 has only NULL rows, so no summary (NULL) at all.
    let batches = sql(
        &ctx,
        &format!(
            "SELECT customer_id, s['skipped_nulls'], s['negative_amounts'], s['frequency'] FROM \
             ({}) ORDER BY customer_id",
            q("d, amount, DATE '2020-03-01', 'day', 'nulls=skip'")
        ),
    )
    .await
    .unwrap();
    let b = &batches[0];
    let skipped = b.column(1).as_primitive::<UInt64Type>();
    assert_eq!((skipped.is_null(1), skipped.value(0)), (true, 0));
    assert_eq!(b.column(2).as_primitive::<UInt64Type>().value(0), 1);
    assert_eq!(b.column(3).as_primitive::<UInt32Type>().value(0), 1);

    // Without the `customer_id` argument a NULL customer id is one SQL group like any other
    // (the aggregate never sees the key): `WHERE customer_id IS NOT NULL` leaves it out.
    // `null_customer_ids_obey_the_nulls_option_on_every_partitioning` has the argument.
    sql(
        &ctx,
        "CREATE TABLE nid (customer_id INT, d DATE, amount DECIMAL(10, 2)) AS VALUES \
         (NULL, DATE '2020-01-01', 1.00), (NULL, DATE '2020-01-05', 2.00), \
         (1, DATE '2020-01-02', 1.00)",
    )
    .await
    .unwrap();
    let groups = |filter: &'static str| {
        let ctx = &ctx;
        async move {
            let b = sql(
                ctx,
                &format!(
                    "SELECT count(*), sum(s['orders']) FROM (SELECT customer_id, \
                     rfm_summary(d, amount, DATE '2020-03-01') AS s FROM nid {filter} \
                     GROUP BY customer_id)"
                ),
            )
            .await
            .unwrap();
            let n = b[0].column(0).as_primitive::<Int64Type>().value(0);
            let orders = datafusion::arrow::compute::cast(b[0].column(1), &DataType::Int64)
                .unwrap()
                .as_primitive::<Int64Type>()
                .value(0);
            (n, orders)
        }
    };
    assert_eq!(groups("").await, (2, 3));
    assert_eq!(groups("WHERE customer_id IS NOT NULL").await, (1, 1));

    // A fit over no repeat buyers, and a model of the wrong kind.
    sql(&ctx, "CREATE TABLE one (x DOUBLE, tx DOUBLE, t DOUBLE, m DOUBLE) AS VALUES (0, 0, 5, 0), (0, 0, 7, 0)")
        .await
        .unwrap();
    fails(
        &ctx,
        "SELECT gamma_gamma_fit(x, m) FROM one",
        &["gamma_gamma_fit: argument frequency = 0", "repeat buyers"],
    )
    .await;
    for f in ["bgnbd_fit", "mbgnbd_fit", "pareto_nbd_fit"] {
        fails(
            &ctx,
            &format!("SELECT {f}(x, tx, t) FROM one"),
            &[&format!("{f}: argument frequency = 0"), "repeat buyers"],
        )
        .await;
    }
    // Wrong column types for the fits.
    fails(
        &ctx,
        "SELECT bgnbd_fit(x, tx, 'long') FROM one",
        &["bgnbd_fit: argument t has type Utf8"],
    )
    .await;
    fails(
        &ctx,
        "SELECT gamma_gamma_fit(x, DATE '2020-01-01') FROM one",
        &["gamma_gamma_fit: argument monetary_value has type Date32"],
    )
    .await;
    fails(
        &ctx,
        "SELECT bgnbd_fit(x, tx, t) FROM one WHERE x > 1",
        &["bgnbd_fit: argument frequency", "no customers"],
    )
    .await;
    fails(&ctx, "SELECT bgnbd_fit(x, t, tx) FROM one", &["bgnbd_fit: argument recency = 5"]).await;
    let gg = "named_struct('model', 'gamma_gamma', 'p', 6.25, 'q', 3.74, 'v', 15.44)";
    let bg = "named_struct('model', 'bgnbd', 'r', 0.24, 'alpha', 4.41, 'a', 0.79, 'b', 2.43)";
    fails(
        &ctx,
        &format!("SELECT p_alive({gg}, x, tx, t) FROM one"),
        &["p_alive: argument model = gamma_gamma", "spend model"],
    )
    .await;
    fails(
        &ctx,
        &format!("SELECT clv({bg}, {bg}, x, tx, t, m) FROM one"),
        &["clv: argument spend_model = bgnbd"],
    )
    .await;
    fails(
        &ctx,
        &format!("SELECT p_alive({bg}, x, tx - 1, t) FROM one"),
        &["p_alive: argument recency = -1"],
    )
    .await;
    fails(
        &ctx,
        "SELECT p_alive(named_struct('model', 'bg', 'r', 1.0), x, tx, t) FROM one",
        &["p_alive: argument model = bg", "unknown model"],
    )
    .await;
    fails(
        &ctx,
        &format!("SELECT p_alive({bg}, 'x', tx, t) FROM one"),
        &["p_alive: argument frequency has type Utf8"],
    )
    .await;
    // A spend model where a purchase model is expected, the other way round too.
    fails(
        &ctx,
        &format!("SELECT expected_spend({bg}, x, m) FROM one"),
        &["expected_spend: argument spend_model = bgnbd"],
    )
    .await;
    fails(
        &ctx,
        &format!("SELECT expected_purchases({gg}, 10, x, tx, t) FROM one"),
        &["expected_purchases: argument model = gamma_gamma"],
    )
    .await;
    fails(&ctx, "SELECT rfm_segment(6, 1, 1) FROM one", &["rfm_segment", "6"]).await;
    fails(
        &ctx,
        "SELECT rfm_segment(1, 1, 1, 'twelve') FROM one",
        &["rfm_segment: argument map = 'twelve'"],
    )
    .await;
}

/// The root of a failed query's error, whatever DataFusion wrapped around it on the way.
async fn root_error(ctx: &SessionContext, query: &str) -> String {
    sql(ctx, query).await.expect_err(query).find_root().to_string()
}

#[tokio::test]
async fn null_customer_ids_obey_the_nulls_option_on_every_partitioning() {
    let log = generated(200, 3_000, 33);
    let dir = scratch("null-ids");
    write_csv(&log, &dir, 4, false);
    // A fifth file of seven rows of no customer (an empty field), one of them with no amount.
    let mut nulls = "customer_id,order_time,amount\n".to_string();
    for day in 1..=6 {
        nulls.push_str(&format!(",2020-03-{day:02}T10:00:00,{day}.25\n"));
    }
    nulls.push_str(",2020-03-09T10:00:00,\n");
    std::fs::write(dir.join("part-nul.csv"), nulls).unwrap();

    let as_of = NaiveDate::from_ymd_opt(2021, 6, 30).unwrap();
    let log = at_table_scale(&log);
    let expected = expected_rows(&summarize(&log, as_of, SummaryOptions::default()).unwrap());
    // Every customer's transactions as one customer's: the summary without `GROUP BY`.
    let as_one: Log = log.iter().map(|t| Transaction::new(0, t.at, t.amount)).collect();
    let all = summarize(&as_one, as_of, SummaryOptions::default()).unwrap();
    let all_orders = all.rows()[0].orders();

    let message = "Execution error: rfm_summary: argument customer_id = NULL: NULL in the log \
                   (filter it out, or pass the option nulls=skip to skip and count it)";
    for (partitions, skip_partial) in [(1, false), (2, false), (8, false), (4, true)] {
        let at = format!("{partitions} partitions, skip_partial {skip_partial}");
        let ctx = context_with(partitions, skip_partial).await;
        register_csv(&ctx, "tx", &dir).await;
        let q = |options: &str, key: &str| {
            format!(
                "SELECT customer_id, rfm_summary(order_time, amount, DATE '2021-06-30', 'day', \
                 '{options}'{key}) AS s FROM tx GROUP BY customer_id"
            )
        };
        // An error naming the argument, by default and with nulls=error.
        for options in ["", "nulls=error", "negative=subtract"] {
            assert_eq!(root_error(&ctx, &q(options, ", customer_id")).await, message, "{at}");
        }
        // Skipped: every customer's summary is the library's; the NULL group has no purchase
        // left and is NULL, like any empty group.
        let skip = q("nulls=skip", ", customer_id");
        let got = rows_of(
            &sql(&ctx, &format!("SELECT {FLAT} FROM ({skip}) WHERE s IS NOT NULL")).await.unwrap(),
        );
        assert_eq!(got, expected, "{at}");
        let b = sql(
            &ctx,
            &format!(
                "SELECT count(*), count(s), sum(s['skipped_nulls']), \
                 count(*) FILTER (WHERE customer_id IS NULL AND s IS NULL) FROM ({skip})"
            ),
        )
        .await
        .unwrap();
        let int = |i: usize| {
            datafusion::arrow::compute::cast(b[0].column(i), &DataType::Int64)
                .unwrap()
                .as_primitive::<Int64Type>()
                .value(0)
        };
        assert_eq!(
            [int(0), int(1), int(2), int(3)],
            [expected.len() as i64 + 1, expected.len() as i64, 0, 1],
            "{at}"
        );
        // The count, in one summary of every row: the seven rows without a customer.
        let b = sql(
            &ctx,
            "SELECT s['skipped_nulls'], s['orders'] FROM (SELECT rfm_summary(order_time, amount, \
             DATE '2021-06-30', 'day', 'nulls=skip', customer_id) AS s FROM tx)",
        )
        .await
        .unwrap();
        assert_eq!(b[0].column(0).as_primitive::<UInt64Type>().value(0), 7, "{at}");
        assert_eq!(b[0].column(1).as_primitive::<UInt32Type>().value(0), all_orders, "{at}");
        // Without the argument, as before: the NULL ids are a customer of their own, and only
        // their NULL amount obeys the option.
        let e = root_error(&ctx, &q("", "")).await;
        assert!(e.contains("rfm_summary: argument amount = NULL"), "{at}: {e}");
        let b = sql(
            &ctx,
            &format!(
                "SELECT s['orders'], s['skipped_nulls'] FROM ({}) WHERE customer_id IS NULL",
                q("nulls=skip", "")
            ),
        )
        .await
        .unwrap();
        let b = &b[0];
        assert_eq!(b.column(0).as_primitive::<UInt32Type>().value(0), 6, "{at}");
        assert_eq!(b.column(1).as_primitive::<UInt64Type>().value(0), 1, "{at}");
    }
}

#[tokio::test]
async fn fits_skip_and_count_null_rows_on_every_partitioning() {
    // Every tenth customer of the CDNOW sample (IDs 1 to 2,357) has one NULL argument: 235
    // rows skipped, and the fits are the library's fits of the other 2,122.
    let customers = cdnow_customers();
    let kept: Vec<Customer> =
        customers.iter().enumerate().filter(|(i, _)| (i + 1) % 10 != 0).map(|(_, c)| *c).collect();
    assert_eq!(kept.len(), 2_122);
    let h = Histogram::from_customers(&kept).unwrap();
    let o = loyalty::clv::FitOptions::default();
    let bg = BgNbd::fit(&h, &o).unwrap();
    let mbg = MbgNbd::fit(&h, &o).unwrap();
    let pnbd = ParetoNbd::fit(&h, &o).unwrap();
    let gg = GammaGamma::fit(&kept, &o).unwrap();
    let null = |column: &str| format!("CASE WHEN \"ID\" % 10 = 0 THEN NULL ELSE {column} END");
    let cases = [
        (format!("bgnbd_fit({}, t_x, \"T\")", null("x")), "r", bg.params.r(), bg.report.customers),
        (
            format!("mbgnbd_fit(x, t_x, {})", null("\"T\"")),
            "b",
            mbg.params.b(),
            mbg.report.customers,
        ),
        (
            format!("pareto_nbd_fit(x, {}, \"T\")", null("t_x")),
            "beta",
            pnbd.params.beta(),
            pnbd.report.customers,
        ),
        (format!("gamma_gamma_fit(x, {})", null("zbar")), "q", gg.params.q(), gg.report.customers),
    ];
    for partitions in [1, 2, 8] {
        let ctx = context(partitions).await;
        cdnow_summary_table(&ctx).await;
        for (call, name, value, fitted) in &cases {
            let b = sql(
                &ctx,
                &format!(
                    "SELECT f['{name}'], f['customers'], f['skipped_nulls'] FROM \
                     (SELECT {call} AS f FROM summary)"
                ),
            )
            .await
            .unwrap();
            let b = &b[0];
            let at = format!("{call}, {partitions} partitions");
            assert_eq!(b.column(0).as_primitive::<Float64Type>().value(0), *value, "{at}");
            assert_eq!(b.column(1).as_primitive::<UInt64Type>().value(0), *fitted, "{at}");
            assert_eq!(b.column(2).as_primitive::<UInt64Type>().value(0), 235, "{at}");
        }
    }
}

/// CDNOW sample summary in weeks (lifetimes' dataset), split over three CSV files.
async fn cdnow_summary_table(ctx: &SessionContext) {
    let text =
        std::fs::read_to_string(repo("tests/data/cdnow_customers_summary_with_transactions.csv"))
            .unwrap();
    let dir = scratch(&format!("summary-{}", ctx.session_id()));
    let lines: Vec<&str> = text.lines().collect();
    for (i, chunk) in lines[1..].chunks(800).enumerate() {
        std::fs::write(
            dir.join(format!("{i}.csv")),
            format!("{}\n{}\n", lines[0], chunk.join("\n")),
        )
        .unwrap();
    }
    ctx.register_csv("summary", dir.to_str().unwrap(), CsvReadOptions::new()).await.unwrap();
}

fn cdnow_customers() -> Vec<Customer> {
    let text =
        std::fs::read_to_string(repo("tests/data/cdnow_customers_summary_with_transactions.csv"))
            .unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|x| x.trim_matches('"').parse().unwrap()).collect();
            Customer::new(v[1], v[2], v[3], Period::WEEK).unwrap().with_monetary_value(v[4])
        })
        .collect()
}

#[tokio::test]
async fn a_fit_at_the_boundary_says_so_in_its_status() {
    // 30 customers who bought only in the first days of a 152-day log (the odd ones again two
    // days later): BG/NBD's likelihood rises all the way to b = 0 (see the library's tests).
    let rows: Vec<String> = (0..30)
        .map(|i| {
            let (x, tx) = if i % 2 == 1 { (1.0, 2.0) } else { (0.0, 0.0) };
            format!("({x:.1}, {tx:.1}, {:.1})", 152 - i % 5)
        })
        .collect();
    let ctx = context(1).await;
    let query = format!(
        "SELECT f['status'], f['boundary_parameters'], f['se_b'], f['b'], f['converged'] FROM \
         (SELECT bgnbd_fit(x, t_x, t) AS f FROM (VALUES {}) AS s(x, t_x, t))",
        rows.join(", ")
    );
    let b = &sql(&ctx, &query).await.unwrap()[0];
    assert_eq!(b.column(0).as_string::<i32>().value(0), "boundary");
    assert_eq!(b.column(1).as_string::<i32>().value(0), "b");
    assert!(b.column(2).is_null(0));
    assert!(b.column(3).as_primitive::<Float64Type>().value(0) < 1e-6);
    assert!(b.column(4).as_boolean().value(0));
    // On CDNOW: an interior optimum.
    cdnow_summary_table(&ctx).await;
    let b = &sql(
        &ctx,
        "SELECT f['status'], f['boundary_parameters'] FROM \
         (SELECT bgnbd_fit(x, t_x, \"T\") AS f FROM summary)",
    )
    .await
    .unwrap()[0];
    assert_eq!(b.column(0).as_string::<i32>().value(0), "converged");
    assert_eq!(b.column(1).as_string::<i32>().value(0), "");
}

#[tokio::test]
async fn fits_and_scores_equal_the_library() {
    let customers = cdnow_customers();
    let h = Histogram::from_customers(&customers).unwrap();
    let o = loyalty::clv::FitOptions::default();
    let bg = BgNbd::fit(&h, &o).unwrap();
    let mbg = MbgNbd::fit(&h, &o).unwrap();
    let pnbd = ParetoNbd::fit(&h, &o).unwrap();
    let gg = GammaGamma::fit(&customers, &o).unwrap();
    // Published BG/NBD estimates for this data (FHL 2005): r 0.243, alpha 4.414, a 0.793, b 2.426.
    assert!((bg.params.r() - 0.2426).abs() < 1e-3 && (bg.params.b() - 2.4259).abs() < 1e-2);
    for partitions in [1, 3] {
        let ctx = context(partitions).await;
        cdnow_summary_table(&ctx).await;
        let fit = sql(
            &ctx,
            "SELECT f['model'], f['r'], f['alpha'], f['a'], f['b'], f['log_likelihood'], \
             f['se_r'], f['converged'], f['customers'] FROM (SELECT bgnbd_fit(x, t_x, \"T\") AS f FROM summary)",
        )
        .await
        .unwrap();
        let b = &fit[0];
        let num = |i: usize| b.column(i).as_primitive::<Float64Type>().value(0);
        assert_eq!(b.column(0).as_string::<i32>().value(0), "bgnbd");
        let p = &bg.params;
        assert_eq!([num(1), num(2), num(3), num(4)], [p.r(), p.alpha(), p.a(), p.b()]);
        assert_eq!(num(5), bg.report.log_likelihood);
        assert_eq!(num(6), bg.report.standard_errors[0]);
        assert!(b.column(7).as_boolean().value(0));
        assert_eq!(b.column(8).as_primitive::<UInt64Type>().value(0), 2_357);
        let one = |sql_text: String| {
            let ctx = ctx.clone();
            async move {
                let b = sql(&ctx, &sql_text).await.unwrap();
                b[0].column(0).as_primitive::<Float64Type>().value(0)
            }
        };
        assert_eq!(
            one("SELECT f['s'] FROM (SELECT pareto_nbd_fit(x, t_x, \"T\") AS f FROM summary)"
                .into())
            .await,
            pnbd.params.s()
        );
        assert_eq!(
            one("SELECT f['b'] FROM (SELECT mbgnbd_fit(x, t_x, \"T\") AS f FROM summary)".into())
                .await,
            mbg.params.b()
        );
        assert_eq!(
            one("SELECT f['q'] FROM (SELECT gamma_gamma_fit(x, zbar) AS f FROM summary)".into())
                .await,
            gg.params.q()
        );

        // Scores of every customer, with the fitted structs joined in.
        let scored = sql(
            &ctx,
            "WITH m AS (SELECT bgnbd_fit(x, t_x, \"T\") AS bg, gamma_gamma_fit(x, zbar) AS gg FROM summary) \
             SELECT \"ID\", p_alive(bg, x, t_x, \"T\"), expected_purchases(bg, 10, x, t_x, \"T\"), \
             expected_spend(gg, x, zbar), clv(bg, gg, x, t_x, \"T\", zbar, 'horizon_months=6, period=week') \
             FROM summary CROSS JOIN m ORDER BY \"ID\"",
        )
        .await
        .unwrap();
        let model = TransactionModel::BgNbd(bg.params);
        let clv_o = loyalty::clv::ClvOptions::default()
            .with_horizon(loyalty::clv::Horizon::months(6).unwrap());
        let clv_model = loyalty::clv::ClvModel::new(bg.params, gg.params);
        let mut n = 0;
        for b in &scored {
            for r in 0..b.num_rows() {
                let c = customers[n];
                let col = |i: usize| b.column(i).as_primitive::<Float64Type>().value(r);
                assert_eq!(col(1), model.probability_alive(&c).unwrap(), "row {n}");
                assert_eq!(
                    col(2),
                    model.conditional_expected_purchases(&c, Span::weeks(10.0).unwrap()).unwrap()
                );
                assert_eq!(col(3), gg.params.conditional_expected_average_spend(&c).unwrap());
                assert_eq!(col(4), clv_model.customer_lifetime_value(&c, &clv_o).unwrap());
                n += 1;
            }
        }
        assert_eq!(n, 2_357);
    }
}

#[tokio::test]
async fn segments_name_scores_as_the_library_does() {
    let ctx = context(1).await;
    let b = sql(
        &ctx,
        "SELECT rfm_segment(5, 5, 5), rfm_segment(1, 1, 1), rfm_segment(5, 5, 1, 'rf_ten')",
    )
    .await
    .unwrap();
    let map = loyalty::rfm::SegmentMap::eleven_segments();
    let score = |r, f, m| loyalty::rfm::RfmScore::new(r, f, m).unwrap();
    let name = |i: usize| b[0].column(i).as_string::<i32>().value(0).to_string();
    assert_eq!(name(0), map.name(map.segment(score(5, 5, 5)).unwrap()));
    assert_eq!(name(0), "Champions");
    assert_eq!(name(1), map.name(map.segment(score(1, 1, 1)).unwrap()));
    let rf = loyalty::rfm::SegmentMap::rf_ten_segments();
    assert_eq!(name(2), rf.name(rf.segment(score(5, 5, 1)).unwrap()));
}

#[tokio::test]
async fn readme_pipeline_runs() {
    // The README's pipeline, statement by statement, on CDNOW master in four Parquet files.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split("## The pipeline in SQL").nth(1).unwrap();
    let block = section.split("```sql").nth(1).unwrap().split("```").next().unwrap();
    let log = cdnow_master();
    let dir = scratch("readme");
    let (csv, orders, scores) = (dir.join("csv"), dir.join("orders"), dir.join("scores.parquet"));
    std::fs::create_dir_all(&csv).unwrap();
    write_csv(&log, &csv, 4, false);
    let ctx = context(2).await;
    register_csv(&ctx, "csv", &csv).await;
    sql(&ctx, &format!("COPY csv TO '{}/' STORED AS PARQUET", orders.display())).await.unwrap();
    let block = block
        .replace("'orders/'", &format!("'{}/'", orders.display()))
        .replace("'scores.parquet'", &format!("'{}'", scores.display()));
    for statement in block.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        sql(&ctx, statement).await.unwrap_or_else(|e| panic!("{statement}\n{e}"));
    }
    ctx.register_parquet("scores", scores.to_str().unwrap(), ParquetReadOptions::default())
        .await
        .unwrap();
    let batches = sql(&ctx, "SELECT customer_id, p_alive, clv FROM scores").await.unwrap();

    let summary =
        summarize(&log, NaiveDate::from_ymd_opt(1998, 6, 30).unwrap(), SummaryOptions::default())
            .unwrap();
    let customers: HashMap<i64, Customer> =
        summary.rows().iter().map(|r| (*r.customer(), r.clv_inputs().into())).collect();
    let all: Vec<Customer> = customers.values().copied().collect();
    let spenders: Vec<Customer> = all.iter().copied().filter(|c| c.monetary_value > 0.0).collect();
    let scored = all.iter().filter(|c| c.frequency == 0.0 || c.monetary_value > 0.0).count();
    let o = loyalty::clv::FitOptions::default();
    let bg = TransactionModel::BgNbd(
        BgNbd::fit(&Histogram::from_customers(&all).unwrap(), &o).unwrap().params,
    );
    let gg = GammaGamma::fit(&spenders, &o).unwrap().params;
    let mut n = 0;
    for b in &batches {
        let id = b.column(0).as_primitive::<Int64Type>();
        for r in 0..b.num_rows() {
            let c = &customers[&id.value(r)];
            assert_eq!(
                b.column(1).as_primitive::<Float64Type>().value(r),
                bg.probability_alive(c).unwrap()
            );
            let clv = loyalty::clv::ClvModel::new(bg, gg)
                .customer_lifetime_value(c, &Default::default())
                .unwrap();
            assert_eq!(b.column(2).as_primitive::<Float64Type>().value(r), clv);
            n += 1;
        }
    }
    assert_eq!(n, scored);
    assert!(scored > 23_000);

    // Left at its defaults (daily periods, 12 months, 0.01 a month), the SQL pipeline is
    // lifetimes' daily workflow: CLV equal to lifetimes' `customer_lifetime_value(...,
    // freq="D")` output for every customer scored (committed with its script in tests/data).
    let lifetimes =
        std::fs::read_to_string(repo("tests/data/clv_cdnow_master_daily_lifetimes.csv")).unwrap();
    let want: HashMap<i64, (f64, f64)> = lifetimes
        .lines()
        .skip(1)
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            (v[0].parse().unwrap(), (v[1].parse().unwrap(), v[4].parse().unwrap()))
        })
        .collect();
    assert_eq!(want.len(), 23_570);
    for b in &batches {
        let id = b.column(0).as_primitive::<Int64Type>();
        for r in 0..b.num_rows() {
            let (p_alive, clv) = want[&id.value(r)];
            for (got, want) in [
                (b.column(1).as_primitive::<Float64Type>().value(r), p_alive),
                (b.column(2).as_primitive::<Float64Type>().value(r), clv),
            ] {
                let e = (got - want).abs() / want.abs().max(1e-6);
                assert!(e < 1e-6, "customer {}: {got} vs lifetimes {want}", id.value(r));
            }
        }
    }
}

/// `log` with amounts at the scale the tables read them (DECIMAL(12, 2)), so that the library
/// sees the same decimals as the engine.
fn at_table_scale(log: &[Transaction<i64>]) -> Log {
    log.iter()
        .map(|t| {
            let mut amount = t.amount;
            amount.rescale(2);
            Transaction::new(t.customer, t.at, amount)
        })
        .collect()
}
