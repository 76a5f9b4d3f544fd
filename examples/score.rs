//! Scores a transaction log: RFM summary, R/F/M scores and the 11-segment map, as CSV.
//!
//! ```text
//! cargo run --release --example score -- [--as-of YYYY-MM-DD] [--period day|week|month]
//!     [--summary-only] [--timings] PATH
//! ```
//!
//! Input: CSV with the header `customer_id,date,amount`; `date` is `YYYY-MM-DD` or RFC 3339
//! (the clock time as written is used). Output on stdout:
//! `customer_id,frequency,recency,T,monetary_value,r_score,f_score,m_score,segment`, one row
//! per customer in customer id order (text order). The summary columns follow lifetimes'
//! `summary_data_from_transaction_data`; the scores use R `rfm`'s value quantiles on the RFM
//! measures (purchase periods, total spend). `--as-of` defaults to the last date in the data.
//! `--timings` writes `phase seconds` lines (parse, summary, score) to stderr. A bad row is
//! reported on stderr with its line number; nothing is written to stdout and the exit status
//! is 1.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use loyalty::rfm::{
    summarize, CustomerSummary, Period, RfmMeasures, RfmScorer, ScoreOptions, SegmentMap,
    SummaryOptions, Transaction,
};
use rust_decimal::Decimal;

struct Args {
    as_of: Option<NaiveDate>,
    period: Period,
    summary_only: bool,
    timings: bool,
    path: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.pop().ok_or("usage: score [--as-of YYYY-MM-DD] [--period day|week|month] [--summary-only] [--timings] PATH")?;
    if path.starts_with("--") {
        return Err(format!("the last argument must be the input path, not `{path}`"));
    }
    let mut out =
        Args { as_of: None, period: Period::DAY, summary_only: false, timings: false, path };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--as-of" => {
                let v = it.next().ok_or("--as-of needs a date")?;
                let d = NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                    .map_err(|e| format!("--as-of `{v}`: {e}"))?;
                out.as_of = Some(d);
            }
            "--period" => {
                out.period = match it.next().as_deref() {
                    Some("day") => Period::DAY,
                    Some("week") => Period::WEEK,
                    Some("month") => Period::MONTH,
                    other => {
                        return Err(format!("--period must be day, week or month, not {other:?}"))
                    }
                }
            }
            "--summary-only" => out.summary_only = true,
            "--timings" => out.timings = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(out)
}

/// `YYYY-MM-DD` by hand (the common case, several times faster than a format string), else
/// RFC 3339.
fn parse_date(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        let y = i32::try_from(num(0..4)?).ok()?;
        return NaiveDate::from_ymd_opt(y, num(5..7)?, num(8..10)?).map(NaiveDate::into);
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.naive_local())
}

/// A customer id of up to 24 bytes kept inline, packed big-endian into three words: hashing
/// and comparing it touches no other memory, where a `&str` key sends every hash-map probe to
/// the id's first occurrence in the file (a cache miss per transaction on a log in time
/// order). Zero padding makes the word order the text order of the ids (which contain no NUL).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ShortId {
    words: [u64; 3],
}

impl std::hash::Hash for ShortId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for w in self.words {
            state.write_u64(w);
        }
    }
}

impl ShortId {
    fn new(s: &str) -> Option<ShortId> {
        if s.len() > 24 || s.as_bytes().contains(&0) {
            return None;
        }
        let mut bytes = [0u8; 24];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_be_bytes(w)
        };
        Some(ShortId { words: [word(0), word(1), word(2)] })
    }

    fn bytes(&self) -> ([u8; 24], usize) {
        let mut b = [0u8; 24];
        for (i, w) in self.words.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_be_bytes());
        }
        let len = b.iter().position(|&c| c == 0).unwrap_or(24);
        (b, len)
    }
}

/// Writing a key back as text.
trait KeyText {
    fn write_to(&self, w: &mut dyn Write) -> io::Result<()>;
}

impl KeyText for ShortId {
    fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        let (b, len) = self.bytes();
        w.write_all(&b[..len])
    }
}

impl KeyText for &str {
    fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(self.as_bytes())
    }
}

/// Parses the whole file before anything is written, so a bad row leaves no partial output.
/// `key` turns an id into the key type; `None` means "this key type cannot hold it".
fn parse<'a, K>(
    text: &'a str,
    key: impl Fn(&'a str) -> Option<K>,
) -> Result<Option<Vec<Transaction<K>>>, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim_end() == "customer_id,date,amount" => {}
        Some((_, h)) => {
            return Err(format!("line 1: expected header `customer_id,date,amount`, found `{h}`"))
        }
        None => return Err("line 1: empty file".into()),
    }
    let mut out = Vec::with_capacity(text.len() / 24);
    for (i, line) in lines {
        let line_no = i + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let mut f = line.split(',');
        let (Some(id), Some(date), Some(amount), None) = (f.next(), f.next(), f.next(), f.next())
        else {
            return Err(format!("line {line_no}: expected 3 fields `customer_id,date,amount`"));
        };
        if id.is_empty() {
            return Err(format!("line {line_no}: empty customer_id"));
        }
        let at = parse_date(date)
            .ok_or_else(|| format!("line {line_no}: bad date `{date}` (YYYY-MM-DD or RFC 3339)"))?;
        let amount = Decimal::from_str(amount)
            .map_err(|_| format!("line {line_no}: bad amount `{amount}`"))?;
        let Some(id) = key(id) else { return Ok(None) };
        out.push(Transaction::new(id, at, amount));
    }
    if out.is_empty() {
        return Err("no transactions".into());
    }
    Ok(Some(out))
}

/// One output column: a header and how to write a customer's cell. Later columns (CLV, ...)
/// are appended to the list.
type Cell<'a> = Box<dyn Fn(usize, &mut dyn Write) -> io::Result<()> + 'a>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let t0 = Instant::now();
    let text = std::fs::read_to_string(&args.path).map_err(|e| format!("{}: {e}", args.path))?;
    match parse(&text, ShortId::new)? {
        Some(log) => report(&args, t0, &log),
        // An id longer than 24 bytes: borrow the ids from the file instead.
        None => match parse(&text, Some)? {
            Some(log) => report(&args, t0, &log),
            None => Err("unreachable: every id is a &str".into()),
        },
    }
}

fn report<K>(args: &Args, t0: Instant, log: &[Transaction<K>]) -> Result<(), String>
where
    K: Ord + std::hash::Hash + Clone + KeyText,
{
    let as_of: NaiveDateTime = match args.as_of {
        Some(d) => d.into(),
        // The last date in the data, as lifetimes' default observation end.
        None => log.iter().map(|t| t.at).max().ok_or("no transactions")?,
    };
    let t_parse = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let options = SummaryOptions::default().period(args.period);
    let summary = summarize(log, as_of, options).map_err(|e| e.to_string())?;
    let t_summary = t1.elapsed().as_secs_f64();
    if summary.excluded_after_as_of() > 0 {
        eprintln!("note: {} transactions after {as_of} left out", summary.excluded_after_as_of());
    }
    let rows: &[CustomerSummary<K>] = summary.rows();
    // Declared before the columns that borrow them.
    let scored;
    let segments;
    let map = SegmentMap::eleven_segments();

    let mut columns: Vec<(&str, Cell<'_>)> = vec![
        ("customer_id", Box::new(|i, w| rows[i].customer().write_to(w))),
        ("frequency", Box::new(|i, w| write!(w, "{}", rows[i].frequency()))),
        ("recency", Box::new(|i, w| write!(w, "{}", rows[i].recency()))),
        ("T", Box::new(|i, w| write!(w, "{}", rows[i].t()))),
        ("monetary_value", Box::new(|i, w| write!(w, "{}", rows[i].monetary_value().normalize()))),
    ];

    let t2 = Instant::now();
    if !args.summary_only {
        scored = RfmScorer::new(ScoreOptions::default())
            .and_then(|s| s.score_summary(&summary, RfmMeasures::default()))
            .map_err(|e| e.to_string())?;
        segments = map.assign(&scored).map_err(|e| e.to_string())?;
        let (s, seg, map) = (scored.scores(), &segments, &map);
        columns.push(("r_score", Box::new(move |i, w| write!(w, "{}", s[i].r()))));
        columns.push(("f_score", Box::new(move |i, w| write!(w, "{}", s[i].f()))));
        columns.push(("m_score", Box::new(move |i, w| write!(w, "{}", s[i].m()))));
        columns.push(("segment", Box::new(move |i, w| w.write_all(map.name(seg[i]).as_bytes()))));
    }
    let t_score = t2.elapsed().as_secs_f64();

    let stdout = io::stdout();
    let mut w = BufWriter::with_capacity(1 << 16, stdout.lock());
    let write_all = |w: &mut BufWriter<_>| -> io::Result<()> {
        let header: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
        writeln!(w, "{}", header.join(","))?;
        for i in 0..rows.len() {
            for (c, (_, cell)) in columns.iter().enumerate() {
                if c > 0 {
                    w.write_all(b",")?;
                }
                cell(i, w)?;
            }
            w.write_all(b"\n")?;
        }
        w.flush()
    };
    write_all(&mut w).map_err(|e| format!("writing output: {e}"))?;
    if args.timings {
        eprintln!("parse {t_parse:.6}");
        eprintln!("summary {t_summary:.6}");
        if !args.summary_only {
            eprintln!("score {t_score:.6}");
        }
    }
    Ok(())
}
