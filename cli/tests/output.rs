//! What the command writes: every output format holds the values the CSV holds, exactly,
//! and `-o` writes where the path leads (a symlink's target, a FIFO) with the permissions a
//! new file gets from the umask or the existing file had.

mod common;

use std::path::Path;

use common::{dir, file, ok, read_parquet, run};

/// The `monetary_value` column of a Parquet summary as text, trailing zeros dropped as the
/// CSV writes them; with the column's type.
fn parquet_money(path: &Path) -> (arrow_schema::DataType, Vec<String>) {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Decimal128Type, Decimal256Type};
    let batches = read_parquet(path);
    let mut ty = None;
    let mut out = Vec::new();
    for b in &batches {
        let a = b.column_by_name("monetary_value").unwrap();
        ty = Some(a.data_type().clone());
        for i in 0..a.len() {
            let s = match a.data_type() {
                arrow_schema::DataType::Decimal128(..) => {
                    a.as_primitive::<Decimal128Type>().value_as_string(i)
                }
                arrow_schema::DataType::Decimal256(..) => {
                    a.as_primitive::<Decimal256Type>().value_as_string(i)
                }
                other => panic!("monetary_value is {other}"),
            };
            let s = if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s
            };
            out.push(s);
        }
    }
    (ty.unwrap(), out)
}

/// The `monetary_value` cells of a CSV summary.
fn csv_money(text: &str) -> Vec<String> {
    text.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().to_string()).collect()
}

/// Summary as CSV on stdout and as Parquet; the Parquet's money read back.
fn both(d: &Path, log: &str) -> (Vec<String>, arrow_schema::DataType, Vec<String>) {
    let csv = ok(&run(&["summary", log]));
    let out = d.join("out.parquet");
    ok(&run(&["summary", "-o", out.to_str().unwrap(), log]));
    let (ty, parquet) = parquet_money(&out);
    (csv_money(&csv), ty, parquet)
}

#[test]
fn parquet_money_is_the_csv_money_exactly() {
    use arrow_schema::DataType;
    let d = dir("parquet_exact");
    // The review's case: a mean of 27 decimals beside an amount of 11 digits before the
    // point, 38 digits at one scale (before the fix 12345678901.5 came back as 12.3456789015).
    let resc = "customer_id,date,amount\n1,2024-01-01,1\n1,2024-01-02,100\n1,2024-01-03,0\n\
                1,2024-01-04,0\n2,2024-01-01,1\n2,2024-01-02,12345678901.5\n";
    let log = file(&d, "resc.csv", resc);
    let (csv, ty, parquet) = both(&d, &log);
    assert_eq!(csv, ["33.333333333333333333333333333", "12345678901.5"]);
    assert_eq!(ty, DataType::Decimal128(38, 27));
    assert_eq!(parquet, csv);

    // 21 digits before the point and 27 after do not fit 38 digits: a 76-digit column.
    let wide = format!("{resc}3,2024-01-01,1\n3,2024-01-02,100000000000000000000.5\n");
    let log = file(&d, "wide.csv", &wide);
    let (csv, ty, parquet) = both(&d, &log);
    assert_eq!(csv, ["33.333333333333333333333333333", "12345678901.5", "100000000000000000000.5"]);
    assert_eq!(ty, DataType::Decimal256(76, 27));
    assert_eq!(parquet, csv);

    // An ordinary log: 2,000 customers, amounts of 0 to 3 decimals up to a few million, so
    // the means have from 0 to 28 significant decimals.
    let mut state = 5u64;
    let mut next = || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut text = String::from("customer_id,date,amount\n");
    for c in 0..2_000u64 {
        for k in 0..(1 + next() % 6) {
            let cents = next() % 500_000_000;
            let amount = match next() % 3 {
                0 => format!("{}", cents / 100),
                1 => format!("{}.{:02}", cents / 100, cents % 100),
                _ => format!("{}.{:03}", cents / 1000, cents % 1000),
            };
            text.push_str(&format!("{c},2024-01-{:02},{amount}\n", 1 + k));
        }
    }
    let log = file(&d, "ordinary.csv", &text);
    let (csv, ty, parquet) = both(&d, &log);
    assert_eq!(csv.len(), 2_000);
    assert!(matches!(ty, DataType::Decimal128(38, _)), "{ty}");
    let wrong = csv.iter().zip(&parquet).filter(|(a, b)| a != b).count();
    assert_eq!(wrong, 0, "{:?}", csv.iter().zip(&parquet).find(|(a, b)| a != b));
    assert_eq!(parquet, csv);
    // Some means are long fractions (the case that went wrong).
    assert!(csv.iter().any(|m| m.split('.').nth(1).is_some_and(|f| f.len() >= 20)));
}

/// lifetimes' first pinned case and its summary.
const LOG: &str = "customer_id,date,amount\n1,2015-02-01,1\n1,2015-02-06,1\n2,2015-01-01,1\n3,2015-01-01,1\n3,2015-01-02,1\n3,2015-01-05,1\n";
const SUMMARY: &str =
    "customer_id,frequency,recency,T,monetary_value\n1,1,5,5,1\n2,0,0,36,0\n3,2,4,36,1\n";

/// `-o` through a symlink writes the link's target and leaves the link a link (before, the
/// temporary file was renamed over the link, replacing it with a plain file).
#[cfg(unix)]
#[test]
fn output_through_a_symlink_writes_its_target() {
    use std::os::unix::fs::symlink;
    let d = dir("out_symlink");
    let log = file(&d, "log.csv", LOG);
    std::fs::create_dir_all(d.join("real")).unwrap();
    std::fs::create_dir_all(d.join("links")).unwrap();
    let target = file(&d, "real/out.csv", "before\n");
    // A relative link, read from its own directory, and a link to that link.
    symlink("../real/out.csv", d.join("links/out.csv")).unwrap();
    symlink(d.join("links/out.csv"), d.join("chain.csv")).unwrap();
    for link in [d.join("links/out.csv"), d.join("chain.csv")] {
        std::fs::write(&target, "before\n").unwrap();
        ok(&run(&["summary", "-o", link.to_str().unwrap(), &log]));
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), SUMMARY, "{}", link.display());
    }
    // No temporary file is left in either directory.
    for sub in ["real", "links", "."] {
        let left: Vec<_> = std::fs::read_dir(d.join(sub))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".loyalty-"))
            .collect();
        assert!(left.is_empty(), "{sub}: {left:?}");
    }
    // A dangling link is written through: its target is created.
    symlink("real/new.csv", d.join("dangling.csv")).unwrap();
    ok(&run(&["summary", "-o", d.join("dangling.csv").to_str().unwrap(), &log]));
    assert_eq!(std::fs::read_to_string(d.join("real/new.csv")).unwrap(), SUMMARY);
    assert!(std::fs::symlink_metadata(d.join("dangling.csv")).unwrap().file_type().is_symlink());
}

/// A FIFO is written in place, and stays a FIFO (before, a file was renamed over it and the
/// reader waited for ever).
#[cfg(unix)]
#[test]
fn output_to_a_fifo_is_written_in_place() {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let d = dir("out_fifo");
    let log = file(&d, "log.csv", LOG);
    let fifo = d.join("out.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        // Opening a FIFO to read blocks until a writer opens it: a command that never opens
        // it leaves this thread waiting, and the test fails on the timeout below.
        std::thread::spawn(move || {
            let mut text = String::new();
            std::fs::File::open(fifo).unwrap().read_to_string(&mut text).unwrap();
            let _ = tx.send(text);
        });
    }
    let o = common::run(&["summary", "-o", fifo.to_str().unwrap(), &log]);
    ok(&o);
    let text = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the command never wrote into the FIFO");
    assert_eq!(text, SUMMARY);
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    // `/dev/stdout` when stdout is a pipe (as `/dev/fd/63` of `>(gzip > x.gz)` is): written
    // through it.
    let o = common::bin()
        .args(["summary", "--format", "jsonl", "-o", "/dev/stdout", &log])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(common::stdout(&o).lines().count(), 3, "{}", common::stderr(&o));
}

/// A new output gets 0666 less the umask, as a shell's `>` gives; an existing one keeps its
/// permissions (before, every output was forced to 0644).
#[cfg(unix)]
#[test]
fn output_permissions_follow_the_umask_or_the_existing_file() {
    use std::os::unix::fs::PermissionsExt;
    let d = dir("out_mode");
    let log = file(&d, "log.csv", LOG);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let with_umask = |umask: &str, out: &Path| {
        let o = std::process::Command::new("sh")
            .args(["-c", &format!("umask {umask} && exec \"$0\" \"$@\"")])
            .arg(env!("CARGO_BIN_EXE_loyalty"))
            .args(["summary", "-o", out.to_str().unwrap(), &log])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        ok(&o);
    };
    for (umask, want) in [("077", 0o600), ("022", 0o644), ("002", 0o664)] {
        let out = d.join(format!("new_{umask}.csv"));
        with_umask(umask, &out);
        assert_eq!(mode(&out), want, "umask {umask}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), SUMMARY);
    }
    // An existing file keeps its mode whatever the umask, Parquet too.
    for (name, m) in [("kept.csv", 0o640), ("kept.parquet", 0o604)] {
        let out = d.join(name);
        std::fs::write(&out, "before").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(m)).unwrap();
        with_umask("077", &out);
        assert_eq!(mode(&out), m, "{name}");
        assert_ne!(std::fs::read(&out).unwrap(), b"before");
    }
}

/// JSON lines carry the exact amounts the CSV carries, as JSON numbers with every digit
/// (before, `33.333333333333333333333333333` went through an `f64` and came out as
/// `33.333333333333336`), with the keys in the CSV's column order (before, sorted by name).
#[test]
fn json_lines_money_is_exact_and_keys_keep_the_column_order() {
    let d = dir("jsonl_exact");
    let log = file(
        &d,
        "log.csv",
        "customer_id,date,amount\n1,2024-01-01,1\n1,2024-01-02,100\n1,2024-01-03,0\n\
         1,2024-01-04,0\n2,2024-01-01,1\n2,2024-01-02,12345678901.5\n\"x\"\"y\",2024-01-01,1\n",
    );
    let out = ok(&run(&["summary", "--format", "jsonl", &log]));
    assert_eq!(
        out,
        "{\"customer_id\":\"1\",\"frequency\":3,\"recency\":3.0,\"T\":3.0,\"monetary_value\":33.333333333333333333333333333}\n\
         {\"customer_id\":\"2\",\"frequency\":1,\"recency\":1.0,\"T\":3.0,\"monetary_value\":12345678901.5}\n\
         {\"customer_id\":\"x\\\"y\",\"frequency\":0,\"recency\":0.0,\"T\":3.0,\"monetary_value\":0}\n"
    );
    // Every line is JSON, and each amount's text is the CSV's.
    let csv = ok(&run(&["summary", &log]));
    for (json, row) in out.lines().zip(csv.lines().skip(1)) {
        let _: serde_json::Value = serde_json::from_str(json).unwrap();
        let money = json.rsplit(':').next().unwrap().trim_end_matches('}');
        assert_eq!(money, row.rsplit(',').next().unwrap());
    }
    // The model columns of score too: keys in column order.
    let scored = ok(&run(&["score", "--quiet", "--format", "jsonl", &log]));
    let first = scored.lines().next().unwrap();
    let keys: Vec<&str> = first
        .trim_matches(['{', '}'])
        .split(',')
        .filter_map(|kv| kv.split_once("\":").map(|(k, _)| k.trim_start_matches('"')))
        .collect();
    assert_eq!(
        keys,
        [
            "customer_id",
            "frequency",
            "recency",
            "T",
            "monetary_value",
            "r_score",
            "f_score",
            "m_score",
            "segment",
            "p_alive",
            "expected_purchases",
            "expected_spend",
            "clv"
        ]
    );
}

/// Runs the command through `sh` with stdout redirected by `redirect` (`>&-` closes it).
#[cfg(target_os = "linux")]
fn with_stdout(redirect: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new("sh")
        .args(["-c", &format!("exec \"$0\" \"$@\" {redirect}")])
        .arg(env!("CARGO_BIN_EXE_loyalty"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// With stdout closed (`>&-`) every command that writes there fails with one line instead of
/// exiting 0 with its output lost; `> /dev/null` still discards quietly, and `-o` needs no
/// stdout.
#[cfg(target_os = "linux")]
#[test]
fn a_closed_stdout_fails() {
    let d = dir("closed_stdout");
    let log = file(&d, "log.csv", LOG);
    let runs: [&[&str]; 5] = [
        &["summary", &log],
        &["summary", "--format", "jsonl", &log],
        &["score", "--quiet", &log],
        &["fit", "--model", "bgnbd", &log],
        &["report", "--quiet", &log],
    ];
    for args in runs {
        let o = with_stdout(">&-", args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        // (score's model columns are empty on this log: a warning line comes first.)
        let e = common::stderr(&o);
        assert_eq!(e.lines().last(), Some("writing to stdout: stdout is closed"), "{args:?}");
        let o = with_stdout("> /dev/null", args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", common::stderr(&o));
    }
    let out = d.join("out.csv");
    let o = with_stdout(">&-", &["summary", &log, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    assert_eq!(std::fs::read_to_string(out).unwrap(), SUMMARY);
}
