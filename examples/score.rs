//! Scores a transaction log: RFM summary, R/F/M scores, the 11-segment map and predictive CLV,
//! as CSV.
//!
//! ```text
//! cargo run --release --example score -- [--as-of YYYY-MM-DD] [--period day|week|month]
//!     [--model bgnbd|mbgnbd|pareto-nbd] [--horizon-months N] [--discount-rate D]
//!     [--summary-only] [--timings] PATH
//! ```
//!
//! Input: CSV with the header `customer_id,date,amount`; `date` is `YYYY-MM-DD` or RFC 3339
//! (the clock time as written is used). Output on stdout:
//! `customer_id,frequency,recency,T,monetary_value,r_score,f_score,m_score,segment,p_alive,expected_purchases,clv`,
//! one row per customer in customer id order (numeric order for numeric ids, else text
//! order). The summary columns follow
//! lifetimes' `summary_data_from_transaction_data`; the scores use R `rfm`'s value quantiles on
//! the RFM measures (purchase periods, total spend). `--as-of` defaults to the last date in the
//! data.
//!
//! The CLV columns come from the transaction model named by `--model` (default `bgnbd`),
//! fitted by maximum likelihood on the summary in the `--period` unit, and a Gamma-Gamma spend
//! model fitted on the repeat buyers: `p_alive` is P(alive) at the end of observation,
//! `expected_purchases` the purchases expected over the next `--horizon-months` (default 12)
//! and `clv` lifetimes' `customer_lifetime_value` over that horizon at the monthly
//! `--discount-rate` (default 0.01), with lifetimes' periods per month (day 30, week 4.345,
//! month 1). Repeat buyers whose repeat purchases net to zero or less (refunds) are left out of
//! the spend fit and valued at the population mean spend; stderr says how many. When the
//! models cannot be fitted (no repeat buyer, or a likelihood with no maximum, as on data with
//! no dropout), the CLV columns are left empty and stderr says why; the RFM columns stand.
//! With no customer in the window (an `--as-of` before all data) only the header is written.
//!
//! `--timings` writes `phase seconds` lines (parse, summary, fit, score) to stderr. A bad row
//! is reported on stderr with its line number; nothing is written to stdout and the exit
//! status is 1.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use loyalty::clv::{
    self, BgNbd, ClvModel, ClvOptions, FitOptions, GammaGamma, Histogram, Horizon, MbgNbd,
    ParetoNbd, TransactionModel,
};
use loyalty::rfm::{
    summarize, CustomerSummary, Period, RfmMeasures, RfmScorer, ScoreOptions, SegmentMap,
    SummaryOptions, Transaction,
};
use rust_decimal::Decimal;

#[derive(Clone, Copy)]
enum Model {
    Bg,
    Mbg,
    Pareto,
}

struct Args {
    as_of: Option<NaiveDate>,
    period: Period,
    model: Model,
    horizon_months: u32,
    discount_rate: f64,
    summary_only: bool,
    timings: bool,
    path: String,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args: Vec<String> = args.collect();
    let path = args.pop().ok_or(
        "usage: score [--as-of YYYY-MM-DD] [--period day|week|month] \
         [--model bgnbd|mbgnbd|pareto-nbd] [--horizon-months N] [--discount-rate D] \
         [--summary-only] [--timings] PATH",
    )?;
    if path.starts_with("--") {
        return Err(format!("the last argument must be the input path, not `{path}`"));
    }
    let mut out = Args {
        as_of: None,
        period: Period::DAY,
        model: Model::Bg,
        horizon_months: 12,
        discount_rate: 0.01,
        summary_only: false,
        timings: false,
        path,
    };
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
            "--model" => {
                out.model = match it.next().as_deref() {
                    Some("bgnbd") => Model::Bg,
                    Some("mbgnbd") => Model::Mbg,
                    Some("pareto-nbd") => Model::Pareto,
                    other => {
                        return Err(format!(
                            "--model must be bgnbd, mbgnbd or pareto-nbd, not {other:?}"
                        ))
                    }
                }
            }
            "--horizon-months" => {
                let v = it.next().ok_or("--horizon-months needs a number")?;
                out.horizon_months =
                    v.parse().map_err(|_| format!("--horizon-months `{v}`: not a whole number"))?;
            }
            "--discount-rate" => {
                let v = it.next().ok_or("--discount-rate needs a number")?;
                out.discount_rate =
                    v.parse().map_err(|_| format!("--discount-rate `{v}`: not a number"))?;
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

/// A customer id of up to `8 * W` bytes kept inline, packed big-endian into `W` words: hashing
/// and comparing it touches no other memory, where a `&str` key sends every hash-map probe to
/// the id's first occurrence in the file (a cache miss per transaction on a log in time
/// order). Zero padding makes the word order the text order of the ids (which contain no NUL).
/// Ids of up to 8 bytes (CDNOW's are 7) take one word, so the summary's partitioned path moves
/// 16-byte records.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ShortId<const W: usize> {
    words: [u64; W],
}

impl<const W: usize> std::hash::Hash for ShortId<W> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for w in self.words {
            state.write_u64(w);
        }
    }
}

impl<const W: usize> ShortId<W> {
    fn new(s: &str) -> Option<ShortId<W>> {
        if s.len() > 8 * W || s.as_bytes().contains(&0) {
            return None;
        }
        let mut words = [0u64; W];
        for (w, chunk) in words.iter_mut().zip(s.as_bytes().chunks(8)) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            *w = u64::from_be_bytes(b);
        }
        Some(ShortId { words })
    }
}

/// A customer id of 1 to 15 ASCII digits, kept as its number, in a file whose ids are all
/// plain numbers (no leading zero, as auto-increment ids) or all zero-padded to one width (as
/// CDNOW's `0000001`). The width sits in the top byte (0 for plain numbers) so the id is
/// written back as it was read; ids order as their numbers do. `Hash` writes the number alone
/// (the width is the same for every id of a file), so numbers that fill a range take the
/// summary's dense-key passes (a table addressed by id), the fastest for a log in time order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Digits(u64);

/// The bits below the width byte.
const NUMBER: u64 = (1 << 56) - 1;

impl std::hash::Hash for Digits {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0 & NUMBER);
    }
}

impl Digits {
    /// The id of `s`, a plain number: no leading zero, but for `0` itself.
    fn plain(s: &str) -> Option<Digits> {
        let value = Digits::number(s)?;
        (!s.starts_with('0') || s.len() == 1).then_some(Digits(value))
    }

    /// The id of `s`, which must have `width` digits.
    fn padded(s: &str, width: usize) -> Option<Digits> {
        // 10^15 < 2^50: the width sits above the number.
        let value = Digits::number(s).filter(|_| s.len() == width)?;
        Some(Digits(((width as u64) << 56) | value))
    }

    /// The number of 1 to 15 digits `s`.
    fn number(s: &str) -> Option<u64> {
        if !(1..=15).contains(&s.len()) {
            return None;
        }
        s.bytes()
            .try_fold(0u64, |acc, c| c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0')))
    }
}

impl KeyText for Digits {
    fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        let width = (self.0 >> 56) as usize;
        write!(w, "{:0width$}", self.0 & NUMBER)
    }
}

/// Writing a key back as text.
trait KeyText {
    fn write_to(&self, w: &mut dyn Write) -> io::Result<()>;
}

impl<const W: usize> KeyText for ShortId<W> {
    fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        for word in self.words {
            let b = word.to_be_bytes();
            let len = b.iter().position(|&c| c == 0).unwrap_or(8);
            w.write_all(&b[..len])?;
            if len < 8 {
                break;
            }
        }
        Ok(())
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
    let args = parse_args(std::env::args().skip(1))?;
    let t0 = Instant::now();
    let text = std::fs::read_to_string(&args.path).map_err(|e| format!("{}: {e}", args.path))?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    score_text(&args, t0, &text, &mut out)
}

/// Parses `text` and writes the scored CSV to `out` (nothing when a row is bad).
fn score_text(args: &Args, t0: Instant, text: &str, out: &mut dyn Write) -> Result<(), String> {
    // The narrowest key that holds every id; an id longer than 24 bytes is borrowed from the
    // file instead. Ids that are all plain numbers, or all numbers zero-padded to one width,
    // are kept as numbers.
    if let Some(log) = parse(text, Digits::plain)? {
        return report(args, t0, &log, out);
    }
    let width = text.lines().nth(1).and_then(|l| l.split(',').next()).map_or(0, str::len);
    if let Some(log) = parse(text, |s| Digits::padded(s, width))? {
        return report(args, t0, &log, out);
    }
    if let Some(log) = parse(text, ShortId::<1>::new)? {
        return report(args, t0, &log, out);
    }
    if let Some(log) = parse(text, ShortId::<3>::new)? {
        return report(args, t0, &log, out);
    }
    match parse(text, Some)? {
        Some(log) => report(args, t0, &log, out),
        None => Err("unreachable: every id is a &str".into()),
    }
}

fn report<K>(
    args: &Args,
    t0: Instant,
    log: &[Transaction<K>],
    out: &mut dyn Write,
) -> Result<(), String>
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
    let clv_scores;
    let map = SegmentMap::eleven_segments();

    let mut columns: Vec<(&str, Cell<'_>)> = vec![
        ("customer_id", Box::new(|i, w| rows[i].customer().write_to(w))),
        ("frequency", Box::new(|i, w| write!(w, "{}", rows[i].frequency()))),
        ("recency", Box::new(|i, w| write!(w, "{}", rows[i].recency()))),
        ("T", Box::new(|i, w| write!(w, "{}", rows[i].t()))),
        ("monetary_value", Box::new(|i, w| write!(w, "{}", rows[i].monetary_value().normalize()))),
    ];

    // With no customer (an `as_of` before all data) only the header is written.
    let score = !args.summary_only && !rows.is_empty();
    let t2 = Instant::now();
    if score {
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
    let mut t_score = t2.elapsed().as_secs_f64();

    let mut t_fit = 0.0;
    if score {
        // The models are fitted on the summary's period, which converts the horizon.
        let period = args.period;
        let options = Horizon::months(args.horizon_months)
            .map(|h| ClvOptions::default().with_horizon(h))
            .and_then(|o| o.with_monthly_discount_rate(args.discount_rate))
            .map_err(|e| e.to_string())?;
        let t3 = Instant::now();
        let fitted = fit(args, rows);
        t_fit = t3.elapsed().as_secs_f64();
        let t4 = Instant::now();
        // The RFM columns stand without the models: when they cannot be fitted (no repeat
        // buyer, or no maximum of the likelihood), the CLV columns are left empty.
        clv_scores = fitted.and_then(|(customers, model, spend)| {
            ClvModel::new(model, spend, period)
                .score(&customers, &options)
                .map_err(|e| e.to_string())
        });
        t_score += t4.elapsed().as_secs_f64();
        if let Err(e) = &clv_scores {
            eprintln!("warning: CLV columns left empty: {e}");
        }
        let c = clv_scores.as_deref().ok();
        let cell = move |i: usize, w: &mut dyn Write, f: fn(&clv::Score) -> f64| match c {
            Some(c) => write!(w, "{}", f(&c[i])),
            None => Ok(()),
        };
        columns.push(("p_alive", Box::new(move |i, w| cell(i, w, |s| s.p_alive))));
        columns.push((
            "expected_purchases",
            Box::new(move |i, w| cell(i, w, |s| s.expected_purchases)),
        ));
        columns.push(("clv", Box::new(move |i, w| cell(i, w, |s| s.clv))));
    } else if !args.summary_only {
        // No customer: the header of the columns scoring adds, with no row to fill.
        let later =
            ["r_score", "f_score", "m_score", "segment", "p_alive", "expected_purchases", "clv"];
        for name in later {
            columns.push((name, Box::new(|_, _| Ok(()))));
        }
    }

    let write_all = |w: &mut dyn Write| -> io::Result<()> {
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
    match write_all(out) {
        // The reader stopped early (`| head`): not an error of ours.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(format!("writing output: {e}")),
        Ok(()) => {}
    }
    if args.timings {
        eprintln!("parse {t_parse:.6}");
        eprintln!("summary {t_summary:.6}");
        if !args.summary_only {
            eprintln!("fit {t_fit:.6}");
            eprintln!("score {t_score:.6}");
        }
    }
    Ok(())
}

/// Fits the transaction model and the Gamma-Gamma spend model on the summary; returns the
/// model inputs, with the population mean spend standing in for repeat buyers whose repeat
/// purchases net to zero or less.
fn fit<K>(
    args: &Args,
    rows: &[CustomerSummary<K>],
) -> Result<(Vec<clv::Customer>, TransactionModel, GammaGamma), String> {
    let mut customers: Vec<clv::Customer> =
        rows.iter().map(|r| clv::Customer::from(r.clv_inputs())).collect();
    let options = FitOptions::default();
    let histogram = Histogram::from_customers(&customers).map_err(|e| e.to_string())?;
    let model: TransactionModel = match args.model {
        Model::Bg => BgNbd::fit(&histogram, &options).map_err(|e| e.to_string())?.params.into(),
        Model::Mbg => MbgNbd::fit(&histogram, &options).map_err(|e| e.to_string())?.params.into(),
        Model::Pareto => {
            ParetoNbd::fit(&histogram, &options).map_err(|e| e.to_string())?.params.into()
        }
    };
    let spenders: Vec<clv::Customer> =
        customers.iter().filter(|c| c.frequency > 0.0 && c.monetary_value > 0.0).copied().collect();
    let spend =
        GammaGamma::fit(&spenders, &options).map_err(|e| format!("spend model: {e}"))?.params;
    let mean = spend.mean_spend();
    let mut stand_ins = 0usize;
    for c in customers.iter_mut().filter(|c| c.frequency > 0.0 && c.monetary_value <= 0.0) {
        c.monetary_value = mean;
        stand_ins += 1;
    }
    if stand_ins > 0 {
        eprintln!("note: {stand_ins} repeat buyers with no positive repeat spend valued at the mean spend {mean:.2}");
    }
    Ok((customers, model, spend))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example's output (or error) for `csv` with the flags `flags`.
    fn score(flags: &[&str], csv: &str) -> (Result<(), String>, String) {
        let args = flags.iter().chain(&["in.csv"]).map(|a| a.to_string());
        let args = parse_args(args).unwrap();
        let mut out = Vec::new();
        let result = score_text(&args, Instant::now(), csv, &mut out);
        (result, String::from_utf8(out).unwrap())
    }

    const HEADER: &str = "customer_id,frequency,recency,T,monetary_value,r_score,f_score,\
                          m_score,segment,p_alive,expected_purchases,clv";

    #[test]
    fn a_bad_row_is_reported_by_line_with_no_output() {
        let csv = "customer_id,date,amount\n1,2015-01-01,10\n2,2015-13-01,5\n";
        let (result, out) = score(&[], csv);
        assert_eq!(result.unwrap_err(), "line 3: bad date `2015-13-01` (YYYY-MM-DD or RFC 3339)");
        assert_eq!(out, "");
        let (result, out) = score(&[], "customer_id,date,amount\n1,2015-01-01,ten\n");
        assert_eq!(result.unwrap_err(), "line 2: bad amount `ten`");
        assert_eq!(out, "");
    }

    #[test]
    fn rfc3339_dates_keep_their_clock_time_and_summary_only_has_five_columns() {
        let csv = "customer_id,date,amount\n\
                   A,2015-01-01T23:30:00+02:00,10\n\
                   B,2015-01-02T00:30:00Z,5\n\
                   A,2015-01-09T08:00:00-05:00,7.5\n";
        let (result, out) = score(&["--summary-only"], csv);
        result.unwrap();
        // A: days 01-01 and 01-09 as written (not moved to UTC); T runs to 01-09.
        assert_eq!(out, "customer_id,frequency,recency,T,monetary_value\nA,1,8,8,7.5\nB,0,0,7,0\n");
    }

    #[test]
    fn scores_are_written_when_the_models_cannot_be_fitted() {
        // Nobody bought twice: no model to fit, but the RFM columns stand.
        let csv = "customer_id,date,amount\n1,2015-01-01,10\n2,2015-01-05,30\n";
        let (result, out) = score(&[], csv);
        result.unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], HEADER);
        // Customer 1 last bought 4 days before the end, in the fourth of five recency bins of
        // {0, 4}: R 2, and 211 is Hibernating; customer 2 bought on the last day.
        let rows = ["1,0,0,4,0,2,1,1,Hibernating,,,", "2,0,0,0,0,5,1,5,Promising,,,"];
        assert_eq!(&lines[1..], rows);
    }

    #[test]
    fn an_as_of_before_all_data_writes_the_header_only() {
        let csv = "customer_id,date,amount\n1,2015-01-01,10\n1,2015-02-01,30\n";
        let (result, out) = score(&["--as-of", "2014-12-31"], csv);
        result.unwrap();
        assert_eq!(out, format!("{HEADER}\n"));
    }

    fn text(k: &impl KeyText) -> String {
        let mut out = Vec::new();
        k.write_to(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn digit_ids_round_trip_and_keep_text_order() {
        let ids = ["0000009", "0000010", "0265334", "9999999"];
        let keys: Vec<Digits> = ids.iter().map(|s| Digits::padded(s, 7).unwrap()).collect();
        assert_eq!(keys.iter().map(text).collect::<Vec<_>>(), ids);
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        // Another width, a sign, a letter or too many digits: not this key type.
        for bad in ["000009", "-000009", "00000a9", ""] {
            assert!(Digits::padded(bad, 7).is_none(), "{bad}");
        }
        assert!(Digits::padded("1234567890123456", 16).is_none());
        assert_eq!(text(&Digits::padded("123456789012345", 15).unwrap()), "123456789012345");
    }

    #[test]
    fn plain_numbers_round_trip_in_numeric_order() {
        let ids = ["0", "9", "10", "399999", "123456789012345"];
        let keys: Vec<Digits> = ids.iter().map(|s| Digits::plain(s).unwrap()).collect();
        assert_eq!(keys.iter().map(text).collect::<Vec<_>>(), ids);
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        for bad in ["007", "00", "-1", "1a", "", "1234567890123456"] {
            assert!(Digits::plain(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn plain_numeric_ids_come_out_in_numeric_order() {
        let csv = "customer_id,date,amount\n10,2015-01-01,1\n9,2015-01-02,2\n100,2015-01-03,3\n";
        let (result, out) = score(&["--summary-only"], csv);
        result.unwrap();
        let ids: Vec<&str> = out.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(ids, ["9", "10", "100"]);
        // A zero-padded id among plain ones: every id is then kept as text, in text order.
        let csv = "customer_id,date,amount\n10,2015-01-01,1\n09,2015-01-02,2\n";
        let (result, out) = score(&["--summary-only"], csv);
        result.unwrap();
        let ids: Vec<&str> = out.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(ids, ["09", "10"]);
    }
}
