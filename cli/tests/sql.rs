//! `loyalty sql` (feature `sql`) run as a user runs it: the README's summary SQL on the
//! bundled CDNOW log and on a directory of partitioned Parquet files gives `loyalty summary`'s
//! numbers for every customer; the output formats; bad queries and table paths fail with one
//! line, exit status 1 (2 for usage), and nothing at the output path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use arrow_array::{ArrayRef, Date32Array, Decimal128Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "stderr: {}", stderr(o));
    stdout(o)
}

/// A fresh directory under the target dir for one test.
fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sql-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path).to_str().unwrap().to_string()
}

/// The README's summary query, its columns named as `loyalty summary` names them.
const SUMMARY_SQL: &str = "SELECT customer_id, s['frequency'] AS frequency, \
     s['recency'] AS recency, s['t'] AS \"T\", s['monetary_value'] AS monetary_value \
     FROM (SELECT customer_id, rfm_summary(date, amount, DATE '1998-06-30', 'day') AS s \
           FROM tx GROUP BY customer_id) ORDER BY customer_id";

/// frequency, recency, T, monetary value per customer id, from a CSV with a header.
fn summary_rows(csv: &str) -> HashMap<String, (u32, f64, f64, f64)> {
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("customer_id,frequency,recency,T,monetary_value"),
        "the header of\n{csv}"
    );
    let mut out = HashMap::new();
    for line in lines {
        let c: Vec<&str> = line.split(',').collect();
        assert_eq!(c.len(), 5, "{line}");
        let f = |s: &str| s.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
        let row = (c[1].parse().unwrap(), f(c[2]), f(c[3]), f(c[4]));
        assert!(out.insert(c[0].to_string(), row).is_none(), "customer {} twice", c[0]);
    }
    out
}

/// Asserts that `loyalty sql`'s summary equals `loyalty summary`'s for every customer:
/// counts and periods exactly, the monetary value (a decimal in one, a double in the other)
/// to the double's precision.
fn assert_same_summary(sql: &str, summary: &str, customers: usize) {
    let (a, b) = (summary_rows(sql), summary_rows(summary));
    assert_eq!(a.len(), customers);
    assert_eq!(b.len(), customers);
    for (id, x) in &b {
        let y = a.get(id).unwrap_or_else(|| panic!("customer {id} missing from sql"));
        assert_eq!((x.0, x.1, x.2), (y.0, y.1, y.2), "customer {id}");
        assert!((x.3 - y.3).abs() <= 1e-12 * x.3.abs().max(1.0), "customer {id}: {x:?} {y:?}");
    }
}

#[test]
fn readme_summary_sql_on_bundled_cdnow_equals_loyalty_summary() {
    let log = repo("examples/data/cdnow_transactions.csv");
    let sql = ok(&run(&["sql", "--table", &format!("tx={log}"), SUMMARY_SQL]));
    let summary = ok(&run(&["summary", "--quiet", "--as-of", "1998-06-30", &log]));
    // CDNOW master: 23,570 customers.
    assert_same_summary(&sql, &summary, 23570);
    // By hand, customer 3: first purchase 1997-01-02, five later purchase days, the last on
    // 1998-05-28 (511 days later), 544 days to 1998-06-30, mean repeat spend
    // (20.76 + 19.54 + 57.45 + 20.96 + 16.99) / 5 = 27.14.
    let c3 = summary_rows(&sql)["3"];
    assert_eq!((c3.0, c3.1, c3.2), (5, 511.0, 544.0));
    assert!((c3.3 - 27.14).abs() < 1e-12, "{c3:?}");
}

/// Writes the bundled CDNOW master log as Parquet, split by customer into Hive-style partition
/// directories `part=K/` of several files each, whose names run against the log's order.
fn partitioned_parquet(root: &Path) -> usize {
    let text = std::fs::read_to_string(repo("examples/data/cdnow_transactions.csv")).unwrap();
    let mut parts: Vec<Vec<(i64, i32, i128)>> = vec![Vec::new(); 6];
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let id: i64 = c[0].parse().unwrap();
        let day = chrono::NaiveDate::parse_from_str(c[1], "%Y-%m-%d").unwrap();
        let cents = (c[2].parse::<rust_decimal::Decimal>().unwrap()
            * rust_decimal::Decimal::ONE_HUNDRED)
            .trunc()
            .mantissa();
        let days = i32::try_from((day - epoch).num_days()).unwrap();
        parts[(id % 6) as usize].push((id, days, cents));
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("date", DataType::Date32, false),
        Field::new("amount", DataType::Decimal128(10, 2), false),
    ]));
    let mut files = 0;
    for (k, rows) in parts.iter().enumerate() {
        let d = root.join(format!("part={}", k / 2));
        std::fs::create_dir_all(&d).unwrap();
        // Two files per part, the later rows in the file whose name sorts first.
        let (early, late) = rows.split_at(rows.len() / 2);
        for (name, rows) in [(format!("b-{k}.parquet"), early), (format!("a-{k}.parquet"), late)] {
            let cols: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(
                    Decimal128Array::from_iter_values(rows.iter().map(|r| r.2))
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ),
            ];
            let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
            let f = std::fs::File::create(d.join(name)).unwrap();
            let mut w = parquet::arrow::ArrowWriter::try_new(f, schema.clone(), None).unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            files += 1;
        }
    }
    files
}

#[test]
fn a_directory_of_partitioned_parquet_files_gives_the_same_summary() {
    let d = dir("partitioned");
    let root = d.join("orders");
    assert_eq!(partitioned_parquet(&root), 12);
    let table = format!("tx={}", root.display());
    let log = repo("examples/data/cdnow_transactions.csv");
    let summary = ok(&run(&["summary", "--quiet", "--as-of", "1998-06-30", &log]));
    for threads in ["1", "2", "8"] {
        let sql = ok(&run(&["sql", "--threads", threads, "--table", &table, SUMMARY_SQL]));
        assert_same_summary(&sql, &summary, 23570);
    }
    // Two tables, several statements: the last one's result is written.
    let csv = format!("csv={log}");
    let out = ok(&run(&[
        "sql",
        "--table",
        &table,
        "--table",
        &csv,
        "CREATE VIEW p AS SELECT count(*) AS parquet_rows FROM tx; \
         SELECT p.parquet_rows, c.csv_rows FROM p CROSS JOIN (SELECT count(*) AS csv_rows FROM csv) c",
    ]));
    assert_eq!(out, "parquet_rows,csv_rows\n69659,69659\n");
}

#[test]
fn the_output_is_written_like_the_other_subcommands() {
    let d = dir("outputs");
    let log = repo("examples/data/cdnow_transactions.csv");
    let table = format!("tx={log}");
    let stdout_csv = ok(&run(&["sql", "--table", &table, SUMMARY_SQL]));
    let csv = d.join("s.csv");
    let jsonl = d.join("s.jsonl");
    let parquet = d.join("s.parquet");
    for p in [&csv, &jsonl, &parquet] {
        assert_eq!(
            ok(&run(&["sql", "--table", &table, "-o", p.to_str().unwrap(), SUMMARY_SQL])),
            ""
        );
    }
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), stdout_csv);
    let lines = std::fs::read_to_string(&jsonl).unwrap();
    assert_eq!(lines.lines().count(), 23570);
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    let third: serde_json::Value = serde_json::from_str(lines.lines().nth(2).unwrap()).unwrap();
    assert_eq!(first["customer_id"], 1);
    assert_eq!(first["frequency"], 0);
    assert_eq!(first["T"], 545.0);
    assert_eq!(third["customer_id"], 3);
    assert_eq!(third["frequency"], 5);
    assert_eq!(third["recency"], 511.0);
    // The Parquet file read back through `loyalty sql` itself.
    let back = ok(&run(&[
        "sql",
        "--table",
        &format!("s={}", parquet.display()),
        "SELECT count(*) AS n, sum(frequency) AS f FROM s",
    ]));
    let total: u64 = summary_rows(&stdout_csv).values().map(|r| u64::from(r.0)).sum();
    assert_eq!(back, format!("n,f\n23570,{total}\n"));
    // --format wins over the extension.
    let forced = d.join("s.txt");
    ok(&run(&[
        "sql",
        "--table",
        &table,
        "--format",
        "jsonl",
        "-o",
        forced.to_str().unwrap(),
        "SELECT 1 AS one",
    ]));
    assert_eq!(std::fs::read_to_string(&forced).unwrap(), "{\"one\":1}\n");
    // A struct column has no CSV form: a clear error, JSON lines holds it.
    let q = "SELECT customer_id, rfm_summary(date, amount, DATE '1998-06-30') AS s FROM tx \
             WHERE customer_id = 3 GROUP BY customer_id";
    let o = run(&["sql", "--table", &table, q]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.starts_with("sql: column `s` is a ") && e.contains("CSV cannot hold"), "{e}");
    let j = ok(&run(&["sql", "--table", &table, "--format", "jsonl", q]));
    let v: serde_json::Value = serde_json::from_str(j.trim()).unwrap();
    assert_eq!(v["s"]["frequency"], 5);
}

/// Asserts a failure with exit status `code`, one line on stderr containing every part, no
/// panic, and nothing on stdout.
fn fails(o: &Output, code: i32, parts: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {e}");
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    for p in parts {
        assert!(e.contains(p), "`{p}` not in: {e}");
    }
    assert!(!e.contains("panicked"), "{e}");
    assert!(o.stdout.is_empty(), "{}", stdout(o));
}

#[test]
fn bad_queries_and_table_paths_fail_with_one_line() {
    let d = dir("errors");
    let log = repo("examples/data/cdnow_transactions.csv");
    let table = format!("tx={log}");
    let out = d.join("out.csv");
    let o = out.to_str().unwrap();
    // A query that does not parse.
    fails(&run(&["sql", "--table", &table, "-o", o, "SELEKT 1"]), 1, &["sql: ", "SELEKT"]);
    // A table the query names but nobody registered.
    fails(&run(&["sql", "SELECT * FROM nowhere"]), 1, &["sql: ", "nowhere", "not found"]);
    // A table path that does not exist, or holds no CSV or Parquet file.
    let missing = d.join("missing.parquet");
    fails(
        &run(&["sql", "--table", &format!("tx={}", missing.display()), "SELECT 1"]),
        1,
        &["table tx", "missing.parquet", "no such file or directory"],
    );
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "x").unwrap();
    fails(
        &run(&["sql", "--table", &format!("tx={}", empty.display()), "SELECT 1"]),
        1,
        &["table tx", "no .csv or .parquet file"],
    );
    // A loyalty function's bad argument names the function and the argument.
    fails(
        &run(&["sql", "--table", &table, "SELECT rfm_summary(date, amount) FROM tx"]),
        1,
        &["rfm_summary"],
    );
    fails(
        &run(&[
            "sql",
            "--table",
            &table,
            "-o",
            o,
            "SELECT customer_id, rfm_summary(date, -amount, DATE '1998-06-30', 'day', \
             'negative=reject') FROM tx GROUP BY customer_id",
        ]),
        1,
        &["rfm_summary", "amount", "negative"],
    );
    // Usage: --table without NAME=PATH, no query (clap's message, exit status 2).
    let o1 = run(&["sql", "--table", "tx", "SELECT 1"]);
    assert_eq!(o1.status.code(), Some(2));
    assert!(stderr(&o1).contains("NAME=PATH"), "{}", stderr(&o1));
    let o2 = run(&["sql"]);
    assert_eq!(o2.status.code(), Some(2));
    // Nothing was left at the output path, and no temporary file beside it.
    assert!(!out.exists());
    let left: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[test]
fn a_null_customer_id_fails_with_one_line_or_is_skipped_by_the_nulls_option() {
    let d = dir("null-ids");
    let log = d.join("tx.csv");
    std::fs::write(
        &log,
        "customer_id,date,amount\n1,2020-01-01,5.00\n,2020-01-02,2.00\n1,2020-01-09,1.50\n",
    )
    .unwrap();
    let table = format!("tx={}", log.display());
    let q = |options: &str| {
        format!(
            "SELECT customer_id, s['orders'] AS orders, s['skipped_nulls'] AS skipped FROM \
             (SELECT customer_id, rfm_summary(date, amount, DATE '2020-03-01', 'day', \
             '{options}', customer_id) AS s FROM tx GROUP BY customer_id) ORDER BY customer_id"
        )
    };
    let o = run(&["sql", "--table", &table, &q("nulls=error")]);
    fails(&o, 1, &[]);
    assert_eq!(
        stderr(&o).trim_end(),
        "sql: Execution error: rfm_summary: argument customer_id = NULL: NULL in the \
         log (filter it out, or pass the option nulls=skip to skip and count it)"
    );
    // Skipped: customer 1's two orders; the group of no customer has no purchase (NULL).
    assert_eq!(
        ok(&run(&["sql", "--table", &table, &q("nulls=skip")])),
        "customer_id,orders,skipped\n1,2,0\n,,\n"
    );
}
