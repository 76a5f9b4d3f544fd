//! Times the in-memory RFM summary on a transaction log, for the peer script
//! `benches/peers/compare_rfm.py --in-memory`.
//!
//! `cargo run --release --features rayon --example summary_timing -- [FILE.csv] [--rounds N]
//! [--out SUMMARY.csv]`
//!
//! Loads a `customer_id,date,amount` CSV (as `gen_transactions.py` writes it: dates
//! `YYYY-MM-DD`, decimal amounts) three times, with the customer ids as `u64`, as `String`
//! and as bytes (`Vec<u8>`), outside any timing. Then times `summarize` and (with the
//! `rayon` feature) `summarize_par`, best of `--rounds`, for each key type, as of the
//! log's last date with daily periods, and prints the seconds as one line of JSON. The three
//! key types must give the same rows (the ids are zero-padded, so text order is numeric
//! order), and `summarize_par` the same summary as `summarize`; the summary is written as CSV
//! (`customer_id,frequency,recency,T,monetary_value`) to `--out` for the script to compare
//! with polars'. Without a file, a small generated log is summarised instead.
//! `--only u64|string|bytes` times one key type alone, and `--seq` or `--par` one of the two
//! functions alone (for a profiler: `--rounds 50` makes the summary most of the run).
//! `--id-prefix C` gives the text ids a prefix (`C0004711`), to time ids of that shape.

// The host's allocator, as a service embedding the library would choose one: with glibc's,
// repeated calls fault their scratch in afresh each time (see Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::error::Error;
use std::time::Instant;

use chrono::{Duration, NaiveDate};
use loyalty::rfm::{summarize, Summary, SummaryOptions, Transaction};
use rust_decimal::Decimal;

type Res<T> = Result<T, Box<dyn Error>>;

fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let (mut file, mut rounds, mut out) = (None, 3usize, None);
    // For a profiler: one key type, one function.
    let (mut only, mut which) = (None, Which::Both);
    // Text ids as `C0004711` rather than `0004711`, to time ids with a shared prefix.
    let mut prefix = String::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().ok_or("--rounds needs a value")?.parse()?,
            "--out" => out = Some(args.next().ok_or("--out needs a value")?),
            "--only" => only = Some(args.next().ok_or("--only needs a key type")?),
            "--id-prefix" => prefix = args.next().ok_or("--id-prefix needs a value")?,
            "--seq" => which = Which::Seq,
            "--par" => which = Which::Par,
            _ => file = Some(a),
        }
    }
    let text = match &file {
        Some(path) => std::fs::read_to_string(path)?,
        None => generated(20_000, 2_000),
    };
    let (ints, strings, bytes) = parse(&text, &prefix)?;
    drop(text);
    let as_of = ints.iter().map(|t| t.at).max().ok_or("empty log")?;

    if let Some(key) = only {
        let json = match key.as_str() {
            "u64" => time_both(&ints, as_of, rounds, which)?.0,
            "string" => time_both(&strings, as_of, rounds, which)?.0,
            "bytes" => time_both(&bytes, as_of, rounds, which)?.0,
            _ => return Err("--only takes u64, string or bytes".into()),
        };
        println!("{json}");
        return Ok(());
    }
    let (t_int, s_int) = time_both(&ints, as_of, rounds, which)?;
    let (t_str, s_str) = time_both(&strings, as_of, rounds, which)?;
    let (t_bytes, s_bytes) = time_both(&bytes, as_of, rounds, which)?;
    let text_id = |k: &u64| format!("{prefix}{k:07}");
    let same_keys = same_rows(&s_int, &s_str, text_id, |k| k.clone())
        && same_rows(&s_int, &s_bytes, |k| text_id(k).into_bytes(), |k| k.clone());
    if let Some(path) = out {
        std::fs::write(path, csv(&s_str))?;
    }
    println!(
        "{{\"rows\": {}, \"customers\": {}, \"threads\": {}, \"rounds\": {rounds}, \
         \"u64\": {t_int}, \"String\": {t_str}, \"bytes\": {t_bytes}, \"same_keys\": {same_keys}}}",
        ints.len(),
        s_int.len(),
        threads(),
    );
    if !same_keys {
        return Err("the key types' summaries differ".into());
    }
    Ok(())
}

/// The log with the three key types.
type Logs = (Vec<Transaction<u64>>, Vec<Transaction<String>>, Vec<Transaction<Vec<u8>>>);

/// The log with `u64` ids, and with text ids that are `prefix` and the file's ids.
fn parse(text: &str, prefix: &str) -> Res<Logs> {
    let mut lines = text.lines();
    if lines.next() != Some("customer_id,date,amount") {
        return Err("expected the header customer_id,date,amount".into());
    }
    let mut ints = Vec::new();
    let mut ids = Vec::new();
    for line in lines {
        let mut f = line.split(',');
        let (Some(id), Some(date), Some(amount)) = (f.next(), f.next(), f.next()) else {
            return Err(format!("bad line {line:?}").into());
        };
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")?;
        let amount: Decimal = amount.parse()?;
        ints.push(Transaction::on(id.parse::<u64>()?, date, amount));
        ids.push(id);
    }
    // Each log's keys allocated together, in the log's order, as a host reading the log
    // would have them (interleaved with the other log's, each would read twice the memory).
    let strings = ints
        .iter()
        .zip(&ids)
        .map(|(t, id)| Transaction::new(format!("{prefix}{id}"), t.at, t.amount));
    let bytes = ints
        .iter()
        .zip(&ids)
        .map(|(t, id)| Transaction::new(format!("{prefix}{id}").into_bytes(), t.at, t.amount));
    let (strings, bytes) = (strings.collect(), bytes.collect());
    Ok((ints, strings, bytes))
}

/// Which of `summarize` and `summarize_par` to time.
#[derive(Clone, Copy, PartialEq)]
enum Which {
    Both,
    Seq,
    Par,
}

/// Best-of-`rounds` seconds of `summarize` and `summarize_par` (those `which` names; `null`
/// for the other) as a JSON object, and the summary (checked to be the same from both).
fn time_both<K>(
    log: &[Transaction<K>],
    as_of: chrono::NaiveDateTime,
    rounds: usize,
    which: Which,
) -> Res<(String, Summary<K>)>
where
    K: Ord + std::hash::Hash + Clone + Send + Sync + std::fmt::Debug,
{
    let o = SummaryOptions::default();
    let fmt = |t: Option<(f64, f64)>, i: usize| {
        t.map_or("null".to_string(), |t| {
            if i == 0 {
                format!("{:.6}", t.0)
            } else {
                format!("{:.3}", t.1)
            }
        })
    };
    let mut summary = None;
    let mut seq = None;
    if which != Which::Par {
        let (t, cpu, s) = best(rounds, || summarize(log, as_of, o))?;
        (seq, summary) = (Some((t, cpu)), Some(s));
    }
    #[cfg(feature = "rayon")]
    let par = if which == Which::Seq {
        None
    } else {
        let (t, cpu, p) = best(rounds, || loyalty::rfm::summarize_par(log, as_of, o))?;
        if summary.as_ref().is_some_and(|s| *s != p) {
            return Err("summarize_par differs from summarize".into());
        }
        summary = Some(p);
        Some((t, cpu))
    };
    #[cfg(not(feature = "rayon"))]
    let par: Option<(f64, f64)> = None;
    let summary = match summary {
        Some(s) => s,
        None => summarize(log, as_of, o)?,
    };
    let json = format!(
        "{{\"summarize\": {}, \"summarize_par\": {}, \"cpu\": \
         {{\"summarize\": {}, \"summarize_par\": {}}}}}",
        fmt(seq, 0),
        fmt(par, 0),
        fmt(seq, 1),
        fmt(par, 1)
    );
    Ok((json, summary))
}

/// The fastest of `rounds` calls, in seconds, the mean processor time of a call (all
/// threads, from `/proc/self/stat`, 0 where it cannot be read), and the last call's result.
/// The processor time tells what a call costs on a busy machine, where the wall time
/// depends on what else runs.
fn best<T>(rounds: usize, mut f: impl FnMut() -> loyalty::Result<T>) -> Res<(f64, f64, T)> {
    let mut fastest = f64::INFINITY;
    let (mut last, mut cpu) = (None, 0.0);
    for _ in 0..rounds.max(1) {
        // The previous result is dropped before the clock starts.
        drop(last.take());
        let (t0, c0) = (Instant::now(), cpu_seconds());
        let r = f()?;
        fastest = fastest.min(t0.elapsed().as_secs_f64());
        cpu += cpu_seconds() - c0;
        last = Some(r);
    }
    Ok((fastest, cpu / rounds.max(1) as f64, last.ok_or("no round")?))
}

/// The process's user and system time so far, in seconds (Linux; ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

/// Whether two summaries have the same rows, in the same order, keys mapped by `ka`, `kb`.
fn same_rows<A, B, C: PartialEq>(
    a: &Summary<A>,
    b: &Summary<B>,
    ka: impl Fn(&A) -> C,
    kb: impl Fn(&B) -> C,
) -> bool {
    a.len() == b.len()
        && a.rows().iter().zip(b.rows()).all(|(x, y)| {
            ka(x.customer()) == kb(y.customer())
                && (x.frequency(), x.recency_periods(), x.t_periods(), x.total_spend())
                    == (y.frequency(), y.recency_periods(), y.t_periods(), y.total_spend())
                && x.monetary_value() == y.monetary_value()
        })
}

fn csv(s: &Summary<String>) -> String {
    let mut out = String::from("customer_id,frequency,recency,T,monetary_value\n");
    for r in s.rows() {
        let m = r.monetary_value();
        out += &format!("{},{},{},{},{m}\n", r.customer(), r.frequency(), r.recency(), r.t());
    }
    out
}

fn threads() -> usize {
    #[cfg(feature = "rayon")]
    return rayon::current_num_threads();
    #[cfg(not(feature = "rayon"))]
    1
}

/// A small log as `gen_transactions.py` writes it (same generator, time order).
fn generated(n: u64, customers: u64) -> String {
    let mut state = 42u64;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        state >> 33
    };
    let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or_default();
    let mut out = String::from("customer_id,date,amount\n");
    for i in 0..n {
        let day = Duration::days((730 * i / n) as i64);
        let (c, cents) = (next() % customers, 100 + next() % 20_000);
        out += &format!("{c:07},{},{}.{:02}\n", start + day, cents / 100, cents % 100);
    }
    out
}
