//! The `loyalty` binary run as a user runs it: every bad input of the issue gives one line
//! on stderr naming the file, line, column and value, exit status 1 (2 for usage), nothing at
//! the output path and no panic; good inputs in every format give the library's numbers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_loyalty"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).stdin(Stdio::null()).output().expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A fresh directory under the target dir for one test.
fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn file(d: &Path, name: &str, text: &str) -> String {
    let p = d.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Asserts a failure with exit status 1, one line on stderr equal to `expected`, and no
/// panic.
fn fails(o: &Output, expected: &str) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(1), "stderr: {e}");
    assert_eq!(e.trim_end(), expected);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(o.stdout.is_empty(), "{}", stdout(o));
}

/// lifetimes' first pinned case (tests of `summary_data_from_transaction_data`), written
/// three ways below.
const LOG: &str = "customer_id,date,amount\n1,2015-02-01,1\n1,2015-02-06,1\n2,2015-01-01,1\n3,2015-01-01,1\n3,2015-01-02,1\n3,2015-01-05,1\n";
const SUMMARY: &str =
    "customer_id,frequency,recency,T,monetary_value\n1,1,5,5,1\n2,0,0,36,0\n3,2,4,36,1\n";

#[test]
fn summary_of_lifetimes_pinned_case() {
    let d = dir("summary_pinned");
    let p = file(&d, "log.csv", LOG);
    let o = run(&["summary", &p]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), SUMMARY);
    // With --as-of 2015-02-07 the published T values (6 and 37) follow.
    let o = run(&["summary", "--as-of", "2015-02-07", &p]);
    assert_eq!(
        stdout(&o),
        "customer_id,frequency,recency,T,monetary_value\n1,1,5,6,1\n2,0,0,37,0\n3,2,4,37,1\n"
    );
}

#[test]
fn quoted_fields_bom_column_order_and_extra_columns() {
    let d = dir("quoting");
    let text = "\u{feff}amount,note,date,customer_id\n\
                1,\"a, quoted note\",2015-02-01,\"1\"\n\
                1,,2015-02-06,1\n\
                \"1\",\"line\nbreak\",2015-01-01,2\n\
                1,x,2015-01-01,3\n1,x,2015-01-02,3\n1,x,2015-01-05,3\n";
    let p = file(&d, "odd.csv", text);
    let o = run(&["summary", &p]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), SUMMARY);
}

#[test]
fn other_column_names_tsv_and_date_format() {
    let d = dir("names");
    let text = "who\twhen\tpaid\n1\t01/02/2015\t1\n1\t06/02/2015\t1\n2\t01/01/2015\t1\n3\t01/01/2015\t1\n3\t02/01/2015\t1\n3\t05/01/2015\t1\n";
    let p = file(&d, "log.tsv", text);
    let o = run(&[
        "summary",
        "--customer-col",
        "who",
        "--date-col",
        "when",
        "--amount-col",
        "paid",
        "--date-format",
        "%d/%m/%Y",
        &p,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), SUMMARY);
}

#[test]
fn json_lines_in_and_out() {
    let d = dir("jsonl");
    let text = "{\"customer_id\":1,\"date\":\"2015-02-01\",\"amount\":1}\n{\"customer_id\":1,\"date\":\"2015-02-06\",\"amount\":1.0}\n\n{\"customer_id\":\"2\",\"date\":\"2015-01-01\",\"amount\":\"1\"}\n{\"customer_id\":3,\"date\":\"2015-01-01\",\"amount\":1}\n{\"customer_id\":3,\"date\":\"2015-01-02\",\"amount\":1}\n{\"customer_id\":3,\"date\":\"2015-01-05\",\"amount\":1}\n";
    let p = file(&d, "log.jsonl", text);
    let o = run(&["summary", &p]);
    assert_eq!(stdout(&o), SUMMARY, "{}", stderr(&o));
    let o = run(&["summary", "--format", "jsonl", &p]);
    let first = stdout(&o).lines().next().unwrap().to_string();
    assert_eq!(
        first,
        "{\"customer_id\":\"1\",\"frequency\":1,\"recency\":5.0,\"T\":5.0,\"monetary_value\":1}"
    );
    // Two ids beyond 64 bits are the same float: refused rather than merged into one customer.
    let text = "{\"customer_id\":123456789012345678901234,\"date\":\"2015-01-01\",\"amount\":1}\n\
                {\"customer_id\":123456789012345678901235,\"date\":\"2015-01-02\",\"amount\":1}\n";
    let p = file(&d, "big_ids.jsonl", text);
    let o = run(&["summary", &p]);
    fails(
        &o,
        &format!(
            "{p}:1: customer_id: 1.2345678901234569e+23: a number id must be a 64-bit integer (quote longer ids as strings)"
        ),
    );
}

/// The pinned log as Parquet: ids as `id_type`, dates as Date32, amounts as Decimal128(10, 2),
/// with an extra column first.
fn log_parquet(path: &Path, text_ids: bool, dates_as_int: bool) {
    use arrow_array::RecordBatch;
    use arrow_array::{ArrayRef, Date32Array, Decimal128Array, Int64Array, StringArray};
    use std::sync::Arc;
    let ids = [1i64, 1, 2, 3, 3, 3];
    // Days since 1970-01-01 of 2015-02-01, 02-06, 01-01, 01-01, 01-02, 01-05.
    let days = [16467i32, 16472, 16436, 16436, 16437, 16440];
    let id: ArrayRef = if text_ids {
        Arc::new(StringArray::from_iter_values(ids.iter().map(|i| i.to_string())))
    } else {
        Arc::new(Int64Array::from(ids.to_vec()))
    };
    let date: ArrayRef = if dates_as_int {
        Arc::new(Int64Array::from(days.iter().map(|&d| i64::from(d)).collect::<Vec<_>>()))
    } else {
        Arc::new(Date32Array::from(days.to_vec()))
    };
    let amount: ArrayRef =
        Arc::new(Decimal128Array::from(vec![100i128; 6]).with_precision_and_scale(10, 2).unwrap());
    let extra: ArrayRef = Arc::new(StringArray::from_iter_values(["x"; 6]));
    let batch = RecordBatch::try_from_iter([
        ("extra", extra),
        ("amount", amount),
        ("date", date),
        ("customer_id", id),
    ])
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn parquet_in_and_out() {
    let d = dir("parquet");
    for text_ids in [false, true] {
        let log = d.join("log.parquet");
        log_parquet(&log, text_ids, false);
        let o = run(&["summary", log.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), SUMMARY);
    }
    // Written as Parquet and read back with the reader of the tests.
    let csv = file(&d, "log.csv", LOG);
    let out = d.join("summary.parquet");
    let o = run(&["summary", "-o", out.to_str().unwrap(), &csv]);
    assert!(o.status.success(), "{}", stderr(&o));
    use arrow_array::cast::AsArray;
    let f = std::fs::File::open(&out).unwrap();
    let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = r.map(Result::unwrap).collect();
    let b = &batches[0];
    assert_eq!(b.num_rows(), 3);
    let ids = b.column_by_name("customer_id").unwrap().as_string::<i32>();
    assert_eq!((0..3).map(|i| ids.value(i)).collect::<Vec<_>>(), ["1", "2", "3"]);
    let t = b.column_by_name("T").unwrap().as_primitive::<arrow_array::types::Float64Type>();
    assert_eq!(t.values().to_vec(), [5.0, 36.0, 36.0]);
    let m = b.column_by_name("monetary_value").unwrap();
    assert_eq!(m.data_type(), &arrow_schema::DataType::Decimal128(38, 0));
    // Parquet to stdout is a usage mistake, said in one line.
    let o = run(&["summary", "--format", "parquet", &csv]);
    fails(&o, "parquet output needs a file: give -o PATH.parquet");
}

#[test]
fn parquet_with_wrong_column_types() {
    let d = dir("parquet_types");
    let log = d.join("log.parquet");
    log_parquet(&log, false, true);
    let o = run(&["summary", log.to_str().unwrap()]);
    fails(
        &o,
        &format!(
            "{}: column `date` has type Int64: expected dates, timestamps or text",
            log.display()
        ),
    );
}

/// A zone-aware timestamp column holds UTC instants; pandas reads it zone-aware and lifetimes
/// floors the clock time in its zone. Purchases at 22:00 on 1 March, 23:30 on 5 March and
/// 01:00 on 8 March (local time) are days 0, 4 and 7 there: lifetimes 0.11.3 gives
/// frequency 2, recency 7, T 7 and monetary value 2.625 in every zone, where the UTC dates
/// (2, 6 and 8 March in New York) would give recency 6.
#[test]
fn zoned_timestamps_are_read_in_their_zone() {
    use arrow_array::{ArrayRef, Float64Array, Int64Array, TimestampMicrosecondArray};
    use std::sync::Arc;
    let d = dir("zoned");
    // The instants (Unix seconds) of the three local times, from Python's zoneinfo.
    let cases: [(&str, [i64; 3]); 4] = [
        ("America/New_York", [1583118000, 1583469000, 1583647200]),
        ("Asia/Kathmandu", [1583079300, 1583430300, 1583608500]),
        ("+05:45", [1583079300, 1583430300, 1583608500]),
        ("Pacific/Chatham", [1583050500, 1583401500, 1583579700]),
    ];
    let batch = |zone: &str, seconds: [i64; 3]| {
        let micros = seconds.map(|s| s * 1_000_000).to_vec();
        let dates: ArrayRef =
            Arc::new(TimestampMicrosecondArray::from(micros).with_timezone(zone.to_string()));
        arrow_array::RecordBatch::try_from_iter([
            ("customer_id", Arc::new(Int64Array::from(vec![1i64; 3])) as ArrayRef),
            ("date", dates),
            ("amount", Arc::new(Float64Array::from(vec![1.5, 2.0, 3.25])) as ArrayRef),
        ])
        .unwrap()
    };
    let write = |zone: &str, seconds: [i64; 3], name: &str| {
        let b = batch(zone, seconds);
        let pq = d.join(format!("{name}.parquet"));
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&pq).unwrap(),
            b.schema(),
            None,
        )
        .unwrap();
        w.write(&b).unwrap();
        w.close().unwrap();
        let ipc = d.join(format!("{name}.arrow"));
        let f = std::fs::File::create(&ipc).unwrap();
        let mut w = arrow_ipc::writer::FileWriter::try_new(f, &b.schema()).unwrap();
        w.write(&b).unwrap();
        w.finish().unwrap();
        [pq, ipc]
    };
    let expected = "customer_id,frequency,recency,T,monetary_value\n1,2,7,7,2.625\n";
    for (i, (zone, seconds)) in cases.into_iter().enumerate() {
        for p in write(zone, seconds, &format!("z{i}")) {
            let o = run(&["summary", p.to_str().unwrap()]);
            assert!(o.status.success(), "{zone}: {}", stderr(&o));
            assert_eq!(stdout(&o), expected, "{zone} {}", p.display());
        }
    }
    // An unknown zone is refused, not read as UTC.
    for p in write("Mars/Olympus_Mons", cases[0].1, "mars") {
        let o = run(&["summary", p.to_str().unwrap()]);
        fails(
            &o,
            &format!(
                "{}: column `date` has time zone `Mars/Olympus_Mons`, which is not known",
                p.display()
            ),
        );
    }
}

#[test]
fn arrow_ipc_input() {
    use arrow_array::{ArrayRef, Float64Array, StringArray};
    use std::sync::Arc;
    let d = dir("ipc");
    let ids: ArrayRef = Arc::new(StringArray::from(vec!["1", "1", "2", "3", "3", "3"]));
    let dates: ArrayRef = Arc::new(StringArray::from(vec![
        "2015-02-01",
        "2015-02-06",
        "2015-01-01",
        "2015-01-01",
        "2015-01-02",
        "2015-01-05",
    ]));
    let amounts: ArrayRef = Arc::new(Float64Array::from(vec![1.0; 6]));
    let batch = arrow_array::RecordBatch::try_from_iter([
        ("customer_id", ids),
        ("date", dates),
        ("amount", amounts),
    ])
    .unwrap();
    let p = d.join("log.arrow");
    let mut w =
        arrow_ipc::writer::FileWriter::try_new(std::fs::File::create(&p).unwrap(), &batch.schema())
            .unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    let o = run(&["summary", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), SUMMARY);
}

#[test]
fn score_columns_and_values() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/cdnow_transactions.csv");
    let o = run(&["score", "--quiet", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "customer_id,frequency,recency,T,monetary_value,r_score,f_score,m_score,segment,p_alive,expected_purchases,expected_spend,clv"
    );
    assert_eq!(lines.count(), 23570);
}

#[test]
fn score_defaults_equal_lifetimes_and_mbgnbd_is_one_flag_away() {
    // lifetimes 0.11.3's defaults-only workflow on the CDNOW master log (daily, BG/NBD,
    // Gamma-Gamma, 12 months, 1 % a month): tests/data/clv_cdnow_master_daily_lifetimes.csv.
    let want: std::collections::HashMap<u32, Vec<f64>> = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/data/clv_cdnow_master_daily_lifetimes.csv"),
    )
    .unwrap()
    .lines()
    .skip(1)
    .map(|l| {
        let mut f = l.split(',');
        let id = f.next().unwrap().parse().unwrap();
        (id, f.map(|v| v.parse().unwrap()).collect())
    })
    .collect();
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/cdnow_transactions.csv");
    let p = p.to_str().unwrap();
    // customer_id, frequency, ..., monetary_value (4), ..., p_alive (9), expected_purchases,
    // expected_spend, clv (12).
    let rows = |args: &[&str]| -> Vec<Vec<String>> {
        let o = run(args);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect()
    };
    let num = |s: &str| s.parse::<f64>().unwrap();
    let defaults = rows(&["score", "--quiet", p]);
    assert_eq!(defaults.len(), 23_570);
    let mut stand_ins = 0;
    for r in &defaults {
        assert_eq!(r.len(), 13, "{r:?}");
        let w = &want[&r[0].parse::<u32>().unwrap()];
        // A repeat buyer whose repeat purchases cost nothing is valued at the mean spend by
        // the command (a note says so), at m_x = 0 by lifetimes: P(alive) and purchases only.
        let columns = if r[1] != "0" && num(&r[4]) <= 0.0 {
            stand_ins += 1;
            2
        } else {
            4
        };
        for k in 0..columns {
            let (got, want) = (num(&r[9 + k]), w[k]);
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1e-6),
                "customer {} column {}: {got} vs lifetimes {want}",
                r[0],
                9 + k
            );
        }
    }
    assert_eq!(stand_ins, 1);
    // BG/NBD gives every one-time buyer P(alive) 1; --model mbgnbd does not.
    let mbg = rows(&["score", "--quiet", "--model", "mbgnbd", p]);
    let once: Vec<usize> = (0..defaults.len()).filter(|&i| defaults[i][1] == "0").collect();
    assert_eq!(once.len(), 12_054);
    assert!(once.iter().all(|&i| num(&defaults[i][9]) == 1.0));
    assert!(once.iter().all(|&i| mbg[i][0] == defaults[i][0] && num(&mbg[i][9]) < 1.0));
}

#[test]
fn missing_file() {
    let o = run(&["summary", "/nonexistent/x.csv"]);
    fails(&o, "/nonexistent/x.csv: no such file or directory");
}

#[test]
fn unknown_column() {
    let d = dir("unknown_column");
    let p = file(&d, "log.csv", "id,date,amount\n1,2015-01-01,1\n");
    let o = run(&["summary", &p]);
    fails(&o, &format!("{p}:1: no column `customer_id` (name it with --customer-col); the header has: id, date, amount"));
}

#[test]
fn unparsable_date_and_amount() {
    let d = dir("bad_values");
    let p = file(&d, "log.csv", "customer_id,date,amount\n1,2015-01-01,1\n2,2015-13-01,5\n");
    let o = run(&["summary", &p]);
    fails(&o, &format!("{p}:3: date: 2015-13-01: not a date (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, RFC 3339 or YYYYMMDD; see --date-format)"));
    let p = file(&d, "log2.csv", "customer_id,date,amount\n1,2015-01-01,1\n1,2015-01-02,ten\n");
    let o = run(&["summary", &p]);
    fails(&o, &format!("{p}:3: amount: ten: not a decimal amount"));
    let p = file(&d, "log3.csv", "customer_id,date,amount\n,2015-01-01,1\n");
    let o = run(&["summary", &p]);
    fails(&o, &format!("{p}:2: customer_id: (empty): empty customer id"));
    // An unquoted thousands separator makes a fourth field: refused, not read as 1.
    let p =
        file(&d, "log4.csv", "customer_id,date,amount\n1,2015-01-01,1\n1,2015-01-02,1,234.50\n");
    let o = run(&["summary", &p]);
    fails(&o, &format!("{p}:3: 4 fields where the header has 3"));
}

#[test]
fn empty_file_and_header_only() {
    let d = dir("empty");
    let p = file(&d, "empty.csv", "");
    fails(&run(&["summary", &p]), &format!("{p}: empty file: no header"));
    let p = file(&d, "header.csv", "customer_id,date,amount\n");
    fails(&run(&["summary", &p]), &format!("{p}: no transactions: the file has a header only"));
}

#[test]
fn as_of_before_all_data() {
    let d = dir("as_of");
    let p = file(&d, "log.csv", LOG);
    let o = run(&["score", "--as-of", "2014-12-31", &p]);
    fails(&o, &format!("--as-of 2014-12-31 is before the first transaction in {p} (2015-01-01)"));
}

#[test]
fn output_that_cannot_be_written_leaves_nothing() {
    let d = dir("unwritable");
    let p = file(&d, "log.csv", LOG);
    let out = d.join("no/such/dir/out.csv");
    let o = run(&["summary", "-o", out.to_str().unwrap(), &p]);
    assert_eq!(o.status.code(), Some(1));
    fails(&o, &format!("{}: cannot write the output: no such file or directory", out.display()));
    // The report's page too, and its stdout stays empty.
    let page = d.join("no/such/dir/report.html");
    let o = run(&["report", "--quiet", "--html", page.to_str().unwrap(), &p]);
    fails(&o, &format!("{}: cannot write the output: no such file or directory", page.display()));
    // A directory is not a file.
    let o = run(&["summary", "-o", d.to_str().unwrap(), &p]);
    fails(&o, &format!("{}: cannot write the output: is a directory", d.display()));
    // A bad row: the output file (which existed before) is left as it was, no temp file.
    let target = file(&d, "out.csv", "before\n");
    let bad = file(&d, "bad.csv", "customer_id,date,amount\n1,2015-01-01,x\n");
    let o = run(&["summary", "-o", &target, &bad]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "before\n");
    let leftovers: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with(".loyalty-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Runs `args` with stdout closed before the command writes: a reader that went away, as
/// `loyalty summary big.csv | head -1` after the first line.
fn run_into_closed_pipe(args: &[&str]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the only reading end before the command has read its input.
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_broken_pipe_fails_with_one_line_for_every_command() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data");
    let log = data.join("cdnow_transactions.csv");
    let log = log.to_str().unwrap();
    let summary = data.join("cdnow_summary.csv");
    let runs: [&[&str]; 7] = [
        &["summary", log],
        &["summary", "--format", "jsonl", log],
        &["score", "--quiet", log],
        &["fit", "--model", "bgnbd", log],
        &["fit", "--model", "gamma-gamma", "--summary-input", summary.to_str().unwrap()],
        &["validate", "--calibration-end", "1997-09-30", "--period", "week", log],
        &["report", "--quiet", log],
    ];
    for args in runs {
        // Another test of this binary may be between fork and exec at the moment the command
        // writes, holding a copy of the pipe's reading end for a few microseconds: the write
        // then succeeds and the command rightly exits 0. So a run either meets the closed pipe
        // (exit 1, one line) or had a reader (exit 0, silent), and one of a few runs must meet
        // it; a command that ignores a broken pipe never exits 1 and fails here.
        let mut broke = false;
        for _ in 0..20 {
            let o = run_into_closed_pipe(args);
            let e = stderr(&o);
            match o.status.code() {
                Some(1) => {
                    assert_eq!(e, "writing to stdout: broken pipe\n", "{args:?}");
                    broke = true;
                    break;
                }
                Some(0) => assert_eq!(e, "", "{args:?}"),
                other => panic!("{args:?}: exit {other:?}: {e}"),
            }
        }
        assert!(broke, "{args:?}: never failed on the closed pipe");
    }
}

#[test]
fn usage_errors_exit_2_with_one_line_and_help_works() {
    let cases: [(&[&str], &str); 8] = [
        (&["summary"], "the following required arguments were not provided: <INPUT>: see --help"),
        (
            &["fit", "--model", "nope", "x.csv"],
            "invalid value 'nope' for '--model <MODEL>' [possible values: bgnbd, mbgnbd, pareto-nbd, gamma-gamma]: see --help",
        ),
        (
            &["validate", "x.csv"],
            "the following required arguments were not provided: --calibration-end <CALIBRATION_END>: see --help",
        ),
        (
            &["validate", "--calibration-end", "1997-13-01", "x.csv"],
            "invalid value '1997-13-01' for '--calibration-end <CALIBRATION_END>': `1997-13-01` is not a YYYY-MM-DD date: input is out of range: see --help",
        ),
        (&["sumary", "x.csv"], "unrecognized subcommand 'sumary' tip: a similar subcommand exists: 'summary': see --help"),
        // A CLV option the library refuses is a usage error before the log is read, not
        // empty model columns with exit status 0.
        (
            &["score", "--horizon-months", "0", "x.csv"],
            "invalid value '0' for '--horizon-months <HORIZON_MONTHS>': invalid horizon `0`: must be at least one period: see --help",
        ),
        (
            &["report", "--discount-rate=-1", "x.csv"],
            "invalid value '-1' for '--discount-rate <DISCOUNT_RATE>': invalid discount rate `-1`: must be finite and > -1: see --help",
        ),
        (
            &["score", "--discount-rate", "NaN", "x.csv"],
            "invalid value 'NaN' for '--discount-rate <DISCOUNT_RATE>': invalid discount rate `NaN`: must be finite and > -1: see --help",
        ),
    ];
    for (args, want) in cases {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&o), format!("{want}\n"), "{args:?}");
        assert!(o.stdout.is_empty());
    }
    for sub in ["summary", "fit", "score", "validate", "report"] {
        let o = run(&[sub, "--help"]);
        assert!(o.status.success(), "{sub}");
        assert!(stdout(&o).contains("--as-of"), "{sub}");
    }
    let o = run(&["--version"]);
    assert_eq!(stdout(&o), format!("loyalty {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn cdnow_text_format_matches_the_csv() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data");
    let a = run(&[
        "summary",
        "--input-format",
        "cdnow",
        data.join("CDNOW_master.txt").to_str().unwrap(),
    ]);
    let b = run(&["summary", data.join("cdnow_transactions.csv").to_str().unwrap()]);
    assert!(a.status.success(), "{}", stderr(&a));
    // CDNOW's ids are zero-padded in the text file and plain in the CSV.
    let strip =
        |s: String| s.lines().map(|l| l.trim_start_matches('0').to_string()).collect::<Vec<_>>();
    assert_eq!(strip(stdout(&a)), strip(stdout(&b)));
    // Text ids: the first line is a purchase, not a header to skip.
    let d = dir("cdnow_text_ids");
    let p = file(&d, "log.txt", "A1 19970101 1 10.00\nA1 19970105 2 30.00\nB2 19970103 1 5.00\n");
    let o = run(&["summary", "--input-format", "cdnow", &p]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "customer_id,frequency,recency,T,monetary_value\nA1,1,4,4,30\nB2,0,0,2,0\n"
    );
}

#[test]
fn fit_bgnbd_on_the_published_cdnow_summary() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/cdnow_customers_summary.csv");
    let o = run(&["fit", "--model", "bgnbd", "--summary-input", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // Fader, Hardie & Lee (2005): r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4.
    let close = |k: &str, want: f64| {
        let got = v["params"][k].as_f64().unwrap();
        assert!((got - want).abs() < 1e-3, "{k} {got}");
    };
    close("r", 0.2426);
    close("alpha", 4.4136);
    close("a", 0.7930);
    close("b", 2.4259);
    assert!((v["log_likelihood"].as_f64().unwrap() + 9582.43).abs() < 0.01);
    assert_eq!(v["converged"], true);
    assert!(v["standard_errors"]["r"].as_f64().unwrap() > 0.0);
}

/// The CDNOW 1/10 sample as `customer_id,date,amount` (the sample id), as the library's
/// validation tests and lifetimes read it.
fn cdnow_sample_csv(d: &Path) -> String {
    let text = include_str!("../../examples/data/CDNOW_sample.txt");
    let mut csv = String::from("customer_id,date,amount\n");
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = l.split_whitespace().collect();
        let id: u32 = f[1].parse().unwrap();
        csv.push_str(&format!("{id},{},{}\n", f[2], f[4]));
    }
    file(d, "cdnow_sample.csv", &csv)
}

/// Rows of numbers of a committed lifetimes output.
fn lifetimes(name: &str) -> Vec<Vec<f64>> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data").join(name);
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Equal up to the last bits serde_json's float parsing may change.
fn same(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-12), "{what}: {a} vs the library's {b}");
}

/// Within the fit's agreement with lifetimes (parameters to 1e-5 relative).
fn near(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-4 * b.abs().max(1e-3), "{what}: {a} vs lifetimes' {b}");
}

#[test]
fn validate_on_the_cdnow_sample_equals_the_library_and_lifetimes() {
    use chrono::NaiveDate;
    use loyalty::clv::{
        evaluate_holdout, period_transactions, tracking, BgNbd, ClvModel, FitOptions, GammaGamma,
        Histogram,
    };
    use loyalty::rfm::{calibration_and_holdout, summarize, SummaryOptions, Transaction};
    use rust_decimal::Decimal;

    let d = dir("validate_sample");
    let p = cdnow_sample_csv(&d);
    let o = run(&["validate", "--calibration-end", "1997-09-30", "--as-of", "1998-06-30", &p]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["model"], "BG/NBD");
    assert_eq!(v["calibration_end"], "1997-09-30");
    assert_eq!(v["observation_end"], "1998-06-30");
    assert_eq!(f(&v["holdout_periods"]), 273.0);

    // The library on the same log, fitted as the command fits.
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y%m%d").unwrap();
    let log: Vec<Transaction<u32>> = include_str!("../../examples/data/CDNOW_sample.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Transaction::on(f[1].parse().unwrap(), day(f[2]), f[4].parse::<Decimal>().unwrap())
        })
        .collect();
    let cal = NaiveDate::from_ymd_opt(1997, 9, 30).unwrap().and_hms_opt(23, 59, 59).unwrap();
    let end = NaiveDate::from_ymd_opt(1998, 6, 30).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let split = calibration_and_holdout(&log, cal, end, SummaryOptions::default()).unwrap();
    let calibration = summarize(&log, cal, SummaryOptions::default()).unwrap();
    let customers: Vec<_> =
        calibration.rows().iter().map(|r| loyalty::clv::Customer::from(r.clv_inputs())).collect();
    let h = Histogram::from_customers(&customers).unwrap();
    let bg = BgNbd::fit(&h, &FitOptions::default()).unwrap().params;
    let m = ClvModel::new(bg, GammaGamma::new(6.0, 4.0, 15.0).unwrap());
    let eval = evaluate_holdout(&m, &split).unwrap();
    let track = tracking(&m, &log, end).unwrap();
    let bins = period_transactions(&m, &calibration, 6).unwrap();

    // Parameters: the library's fit, and lifetimes' to 1e-5.
    let params = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/clv_cdnow_sample_validation_params.csv");
    let params = std::fs::read_to_string(params).unwrap();
    for (line, (k, mine)) in params.lines().skip(1).zip([
        ("r", bg.r()),
        ("alpha", bg.alpha()),
        ("a", bg.a()),
        ("b", bg.b()),
    ]) {
        let (name, value) = line.split_once(',').unwrap();
        assert_eq!(name, k);
        same(f(&v["params"][k]), mine, k);
        near(f(&v["params"][k]), value.parse().unwrap(), k);
    }

    // Holdout: totals and groups, the library's exactly and lifetimes' groups.
    let hv = &v["holdout"];
    assert_eq!(hv["customers"], 2357);
    assert_eq!(hv["actual_total"].as_u64().unwrap(), eval.total_actual);
    same(f(&hv["predicted_total"]), eval.total_predicted, "predicted total");
    same(f(&hv["mean_absolute_error"]), eval.mae, "mae");
    same(f(&hv["root_mean_squared_error"]), eval.rmse, "rmse");
    let groups = hv["by_calibration_frequency"].as_array().unwrap();
    let want = lifetimes("clv_cdnow_sample_holdout_by_frequency_lifetimes.csv");
    assert_eq!(groups.len(), eval.by_frequency.len());
    assert_eq!(groups.len(), want.len());
    for ((g, lib), w) in groups.iter().zip(&eval.by_frequency).zip(&want) {
        assert_eq!(f(&g["frequency_cal"]), w[0]);
        assert_eq!(f(&g["customers"]), w[1]);
        assert_eq!(g["customers"].as_u64().unwrap(), lib.customers);
        same(f(&g["actual_mean"]), lib.actual, "actual mean");
        assert!((f(&g["actual_mean"]) - w[2]).abs() < 1e-12, "actual mean vs lifetimes");
        same(f(&g["predicted_mean"]), lib.predicted, "predicted mean");
        near(f(&g["predicted_mean"]), w[3], "predicted mean");
    }

    // Tracking: 546 days from 1997-01-01, cumulative repeat purchases.
    let t = v["tracking"].as_array().unwrap();
    let want = lifetimes("clv_cdnow_sample_tracking_lifetimes.csv");
    assert_eq!(t.len(), 546);
    assert_eq!(want.len(), 546);
    assert_eq!(t[0]["period_start"], "1997-01-01");
    assert_eq!(t[545]["period_start"], "1998-06-30");
    for ((p, lib), w) in t.iter().zip(&track).zip(&want) {
        assert_eq!(p["actual_cumulative"].as_u64().unwrap(), lib.actual_cumulative);
        assert_eq!(f(&p["actual_cumulative"]), w[1], "day {}", w[0]);
        same(f(&p["expected_cumulative"]), lib.expected_cumulative, "expected cumulative");
        near(f(&p["expected_cumulative"]), w[2], "expected cumulative");
    }

    // Period transactions: 0..5 and 6+.
    let pt = v["period_transactions"].as_array().unwrap();
    let want = lifetimes("clv_cdnow_sample_period_transactions_lifetimes.csv");
    assert_eq!(pt.len(), 7);
    for ((p, lib), w) in pt.iter().zip(&bins).zip(&want) {
        assert_eq!(f(&p["repeat_purchases"]), w[0]);
        assert_eq!(p["or_more"], w[0] == 6.0);
        assert_eq!(f(&p["actual_customers"]), w[1]);
        same(f(&p["expected_customers"]), lib.expected, "expected customers");
        near(f(&p["expected_customers"]), w[2], "expected customers");
    }
}

/// Weekly validation with a calibration end on a Wednesday fits on the purchases up to that
/// day, not the rest of its week: lifetimes' `calibration_and_holdout_data` keeps
/// `date <= calibration_period_end` before it summarises by week. The reference is
/// `cli/tests/data/generate_validate_weekly.py`'s (lifetimes 0.11.3); with the rest of the
/// week in calibration, r was 0.35114 against lifetimes' 0.35044 and the calibration groups
/// counted other customers.
#[test]
fn weekly_validation_calibrates_on_purchases_up_to_the_calibration_end() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let log = data.join("validate_weekly_log.csv");
    let o = run(&[
        "validate",
        "--calibration-end",
        "2022-06-15",
        "--period",
        "week",
        log.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(f(&v["holdout_periods"]), 53.0);
    let rows = |name: &str| -> Vec<Vec<String>> {
        std::fs::read_to_string(data.join(name))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let params = rows("validate_weekly_params.csv");
    assert_eq!(params.len(), 4);
    for p in &params {
        near(f(&v["params"][&p[0]]), p[1].parse().unwrap(), &p[0]);
    }
    let groups = v["holdout"]["by_calibration_frequency"].as_array().unwrap();
    let want = rows("validate_weekly_holdout_by_frequency.csv");
    assert_eq!(groups.len(), want.len());
    let mut customers = 0;
    for (g, w) in groups.iter().zip(&want) {
        assert_eq!(g["frequency_cal"].as_u64().unwrap().to_string(), w[0]);
        assert_eq!(g["customers"].as_u64().unwrap().to_string(), w[1], "group {}", w[0]);
        let actual: f64 = w[2].parse().unwrap();
        assert!((f(&g["actual_mean"]) - actual).abs() < 1e-12, "group {}", w[0]);
        near(f(&g["predicted_mean"]), w[3].parse().unwrap(), "predicted mean");
        customers += g["customers"].as_u64().unwrap();
    }
    assert_eq!(v["holdout"]["customers"].as_u64(), Some(customers));
    // The period-transactions table counts the same calibration customers.
    let pt = v["period_transactions"].as_array().unwrap();
    for p in pt.iter().filter(|p| p["or_more"] == false) {
        let n = p["repeat_purchases"].as_u64().unwrap().to_string();
        let w = want.iter().find(|w| w[0] == n).map_or(0, |w| w[1].parse().unwrap());
        assert_eq!(p["actual_customers"].as_u64(), Some(w), "{n} repeat purchases");
    }
}

#[test]
fn bad_program_files_name_the_file_line_and_column() {
    let d = dir("bad_programs");
    let p = file(&d, "log.csv", LOG);
    let tiers = file(&d, "tiers.json", "{\n  \"version\": 1,\n  \"ladder\": 7\n}\n");
    let o = run(&["report", "--quiet", "--tiers", &tiers, &p]);
    fails(
        &o,
        &format!("{tiers}:3: column 13: invalid type: integer `7`, expected struct LadderRepr"),
    );
    let o = run(&["report", "--quiet", "--tiers", "/nonexistent/t.json", &p]);
    fails(&o, "/nonexistent/t.json: no such file or directory");
    let points = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/points_program.json");
    let points = points.to_str().unwrap();
    let o = run(&["report", "--quiet", "--points-program", points, "--breakage", "1.5", &p]);
    fails(&o, "--breakage 1.5: must be a share in [0, 1]");
    // A ladder by points earned cannot be fed from purchases.
    let by_points = file(
        &d,
        "by_points.json",
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/tiers_program.json"),
        )
        .unwrap()
        .replace("\"spend\"", "\"points_earned\""),
    );
    let o = run(&["report", "--quiet", "--tiers", &by_points, &p]);
    fails(&o, &format!("{by_points}: a ladder by points earned needs points events, which a purchase log does not have; use spend or orders"));
    // --breakage needs a points program: a usage error.
    let o = run(&["report", "--breakage", "0.1", &p]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_calibration_end_outside_the_data() {
    let d = dir("calibration_end");
    let p = file(&d, "log.csv", LOG);
    let o = run(&["validate", "--calibration-end", "2014-12-31", &p]);
    fails(&o, "--calibration-end 2014-12-31 leaves no calibration: the data start on 2015-01-01");
    let o = run(&["validate", "--calibration-end", "2015-02-06", &p]);
    fails(&o, "--calibration-end 2015-02-06 leaves no holdout: the data end on 2015-02-06");
    // With --as-of the observation ends there, not where the data end.
    let o = run(&["validate", "--as-of", "2015-01-15", "--calibration-end", "2015-01-31", &p]);
    fails(&o, "--calibration-end 2015-01-31 leaves no holdout: --as-of is 2015-01-15");
    let o = run(&["validate", "--as-of", "2015-02-03", "--calibration-end", "2015-02-03", &p]);
    fails(&o, "--calibration-end 2015-02-03 leaves no holdout: --as-of is 2015-02-03");
    // The report says so in its model check and goes on.
    let o = run(&["report", "--quiet", "--calibration-end", "2014-12-31", &p]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(
        "Model check: not available (--calibration-end 2014-12-31 leaves no calibration: the data start on 2015-01-01)"
    ));
}

#[test]
fn every_command_reports_bad_input_the_same_way() {
    let d = dir("every_command");
    let bad = file(&d, "bad.csv", "customer_id,date,amount\n1,2015-01-01,1\n2,2015-01-02,ten\n");
    let header = file(&d, "header.csv", "customer_id,date,amount\n");
    let ok = file(&d, "log.csv", LOG);
    let cases: [&[&str]; 5] = [
        &["summary"],
        &["score", "--quiet"],
        &["fit", "--model", "bgnbd"],
        &["validate", "--calibration-end", "2015-01-15"],
        &["report", "--quiet"],
    ];
    for sub in cases {
        fn args_of<'a>(sub: &[&'a str], input: &'a str) -> Vec<&'a str> {
            [sub, &[input]].concat()
        }
        let with = |input| args_of(sub, input);
        fails(&run(&with("/nonexistent/x.csv")), "/nonexistent/x.csv: no such file or directory");
        fails(&run(&with(&bad)), &format!("{bad}:3: amount: ten: not a decimal amount"));
        fails(
            &run(&with(&header)),
            &format!("{header}: no transactions: the file has a header only"),
        );
        let mut early = with(&ok);
        early.splice(1..1, ["--as-of", "2014-12-31"]);
        fails(
            &run(&early),
            &format!("--as-of 2014-12-31 is before the first transaction in {ok} (2015-01-01)"),
        );
    }
}

/// 30 customers who bought only in the first days of January 2024 (the even ones once, the
/// odd ones twice, two days apart), read as of 1 June: BG/NBD's likelihood rises all the way
/// to the boundary b = 0 (every repeat buyer dropped out at the repeat purchase).
fn early_january_log(d: &Path) -> String {
    let mut csv = String::from("customer_id,date,amount\n");
    for i in 0..30u32 {
        let day = 1 + i % 5;
        csv.push_str(&format!("c{i},2024-01-{day:02},20.00\n"));
        if i % 2 == 1 {
            csv.push_str(&format!("c{i},2024-01-{:02},20.00\n", day + 2));
        }
    }
    file(d, "early_january.csv", &csv)
}

const BOUNDARY_REASON: &str = "bg/nbd fit at the boundary of the parameter space: b ran beyond \
                               a factor of 1e6 of the data's scale, so the data do not identify them";

#[test]
fn fit_reports_a_fit_at_the_boundary_in_its_json_and_on_stderr() {
    let d = dir("boundary_fit");
    let log = early_january_log(&d);
    let o = run(&["fit", "--model", "bgnbd", "--as-of", "2024-06-01", &log]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], "boundary");
    assert_eq!(v["boundary_parameters"], serde_json::json!(["b"]));
    assert!(v["params"]["b"].as_f64().unwrap() < 1e-6, "{v}");
    for p in ["r", "alpha", "a", "b"] {
        assert_eq!(v["standard_errors"][p], serde_json::Value::Null, "{p}");
    }
    assert_eq!(v["customers"], 30);
    assert_eq!(stderr(&o), format!("warning: {BOUNDARY_REASON} (standard errors null)\n"));
    // An interior fit says so too.
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/cdnow_customers_summary.csv");
    let o = run(&["fit", "--model", "bgnbd", "--summary-input", p.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (&v["status"], &v["boundary_parameters"]),
        (&"converged".into(), &serde_json::json!([]))
    );
    assert_eq!(stderr(&o), "");
}

#[test]
fn score_and_report_do_not_use_a_fit_at_the_boundary() {
    let d = dir("boundary_score");
    let log = early_january_log(&d);
    let o = run(&["score", "--quiet", "--as-of", "2024-06-01", &log]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), format!("warning: model columns left empty: {BOUNDARY_REASON}\n"));
    let out = stdout(&o);
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let clv = header.iter().position(|h| *h == "clv").unwrap();
    let p_alive = header.iter().position(|h| *h == "p_alive").unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 30);
    assert!(rows.iter().all(|r| r[clv].is_empty() && r[p_alive].is_empty()), "{out}");
    let o = run(&["report", "--quiet", "--as-of", "2024-06-01", &log]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains(&format!("Predictive CLV: not available ({BOUNDARY_REASON})")), "{text}");
}
