//! Reading a transaction log: one row per purchase with a customer id, a date and an amount,
//! from CSV, Parquet, Arrow IPC, JSON lines or CDNOW's whitespace format.
//!
//! Columns are found by name (`--customer-col`, `--date-col`, `--amount-col`); other columns
//! are ignored, in any order. Files are streamed: only the parsed transactions (40 bytes
//! each) are kept, never the file's text. The first bad value stops the read with its file,
//! line (or row), column and value.

mod chunked;
mod columnar;
mod row_groups;
mod streamed;
pub mod summaries;
mod text;

pub(crate) use streamed::Streamed;

use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use clap::ValueEnum;
use loyalty::rfm::Transaction;
use rust_decimal::Decimal;

use crate::error::{Failure, Result};
use crate::ids::{Id, IdBook, Ids};

/// The layout of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// Comma-separated values with a header row (RFC 4180 quoting, optional UTF-8 BOM).
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC file or stream (`.arrow`, `.feather`, `.ipc`).
    Arrow,
    /// One JSON object per line.
    Jsonl,
    /// CDNOW's own text: `customer_id date number_of_cds dollar_value` separated by
    /// whitespace, dates as `YYYYMMDD`, an optional header line.
    Cdnow,
}

impl InputFormat {
    /// The format named by a file's extension (CSV when there is none it knows).
    pub fn from_path(path: &str) -> InputFormat {
        let ext = Path::new(path)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match ext.as_str() {
            "parquet" | "pq" => InputFormat::Parquet,
            "arrow" | "feather" | "ipc" | "arrows" => InputFormat::Arrow,
            "jsonl" | "ndjson" => InputFormat::Jsonl,
            "tsv" | "tab" => InputFormat::Tsv,
            _ => InputFormat::Csv,
        }
    }
}

/// The names of the three columns read.
#[derive(Debug, Clone)]
pub struct Columns {
    /// Customer id column.
    pub customer: String,
    /// Purchase date (or timestamp) column.
    pub date: String,
    /// Amount column.
    pub amount: String,
}

/// How a log is read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Column names.
    pub columns: Columns,
    /// The file's layout; `None` takes it from the extension.
    pub format: Option<InputFormat>,
    /// A chrono format for the dates (`%d/%m/%Y`); `None` accepts `YYYY-MM-DD`,
    /// `YYYY-MM-DD HH:MM:SS`, RFC 3339 and `YYYYMMDD`.
    pub date_format: Option<String>,
    /// No progress bar.
    pub quiet: bool,
}

impl Default for ReadOptions {
    /// The command's defaults: columns `customer_id`, `date` and `amount`, the format from
    /// the extension, the default date forms, and a progress bar where one shows.
    fn default() -> ReadOptions {
        ReadOptions {
            columns: Columns {
                customer: "customer_id".into(),
                date: "date".into(),
                amount: "amount".into(),
            },
            format: None,
            date_format: None,
            quiet: false,
        }
    }
}

/// A transaction log as read.
#[derive(Debug)]
pub struct Log {
    /// The transactions in file order.
    pub transactions: Vec<Transaction<Id>>,
    /// How the keys are written back.
    pub ids: IdBook,
    /// The file as named on the command line, for the errors found after reading.
    pub source: String,
}

impl Log {
    /// The last purchase's time.
    pub fn last(&self) -> Option<NaiveDateTime> {
        use rayon::prelude::*;
        // A pass over every transaction: on every core.
        self.transactions.par_iter().map(|t| t.at).max()
    }

    /// The first purchase's time.
    pub fn first(&self) -> Option<NaiveDateTime> {
        use rayon::prelude::*;
        self.transactions.par_iter().map(|t| t.at).min()
    }
}

/// Reads the log at `path`.
///
/// # Errors
///
/// A missing or unreadable file, a missing column, a bad value (with its line and column),
/// an empty file or one with no transaction.
pub fn read(path: &str, options: &ReadOptions) -> Result<Log> {
    let meta = std::fs::metadata(path).map_err(|e| Failure::in_file(path, os_reason(&e)))?;
    if meta.is_dir() {
        return Err(Failure::in_file(path, "is a directory, not a file"));
    }
    let format = options.format.unwrap_or_else(|| InputFormat::from_path(path));
    let mut sink = Sink::new(path, options, meta.len());
    match format {
        InputFormat::Csv | InputFormat::Tsv => {
            let delimiter = if format == InputFormat::Csv { b',' } else { b'\t' };
            // The plain files most logs are on every core; any other through the `csv` crate.
            if chunked::csv(&mut sink, delimiter).is_err() {
                text::csv(&mut sink, delimiter)?;
            }
        }
        InputFormat::Cdnow => text::cdnow(&mut sink)?,
        InputFormat::Jsonl => text::jsonl(&mut sink)?,
        InputFormat::Parquet => {
            if row_groups::parquet(&mut sink).is_err() {
                columnar::parquet(&mut sink)?;
            }
        }
        InputFormat::Arrow => columnar::arrow_ipc(&mut sink)?,
    }
    sink.finish()
}

/// The summary at `as_of` (the latest purchase for `None`) of the log at `path`, read
/// without holding its transactions, when it is a plain CSV or TSV (see `streamed`) or a
/// Parquet file (see `row_groups`) with each customer's purchases in time order; `None` for
/// any other file, which [`read`] reads whole (and reports the errors of).
pub(crate) fn summary_streamed(
    path: &str,
    options: &ReadOptions,
    summary: (Option<NaiveDateTime>, loyalty::rfm::SummaryOptions),
) -> Option<Streamed> {
    let format = options.format.unwrap_or_else(|| InputFormat::from_path(path));
    let size = std::fs::metadata(path).ok().filter(|m| m.is_file())?.len();
    let delimiter = match format {
        InputFormat::Csv => b',',
        InputFormat::Tsv => b'\t',
        InputFormat::Parquet => {
            let mut sink = Sink::new(path, options, size);
            // The stream holds no transaction: no room for them either.
            sink.log = Vec::new();
            return row_groups::summary(&mut sink, summary).ok();
        }
        _ => return None,
    };
    let progress = crate::progress::Progress::new(size, options.quiet);
    streamed::summary(path, options, delimiter, summary, &progress).ok()
}

/// `line` without a UTF-8 byte-order mark at its start (as spreadsheets and some editors
/// write one before the first line).
pub(crate) fn strip_bom(line: &[u8]) -> &[u8] {
    line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
}

/// An OS error without Rust's `(os error 2)` suffix, lowercase.
pub fn os_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s).to_string();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}

/// Where the readers put what they parse, with the parsing of values shared by all formats.
pub(crate) struct Sink<'a> {
    pub(crate) path: &'a str,
    pub(crate) options: &'a ReadOptions,
    pub(crate) progress: crate::progress::Progress,
    pub(crate) size: u64,
    log: Vec<Transaction<Id>>,
    ids: Ids,
    /// Whether a header (or schema) was seen: an empty file has none.
    pub(crate) header_seen: bool,
}

impl<'a> Sink<'a> {
    fn new(path: &'a str, options: &'a ReadOptions, size: u64) -> Sink<'a> {
        Sink {
            path,
            options,
            progress: crate::progress::Progress::new(size, options.quiet),
            size,
            // About 26 bytes a row in the common layouts; a guess, not a limit.
            log: Vec::with_capacity((size / 26).min(1 << 28) as usize),
            ids: Ids::default(),
            header_seen: false,
        }
    }

    /// Adds one transaction from raw values; `line` is for the error.
    pub(crate) fn push(&mut self, line: u64, id: &[u8], date: &[u8], amount: &[u8]) -> Result<()> {
        let at = self.date(line, date)?;
        let amount = self.amount(line, amount)?;
        self.push_parsed(line, id, at, amount)
    }

    /// Adds one transaction whose date and amount are already typed.
    pub(crate) fn push_parsed(
        &mut self,
        line: u64,
        id: &[u8],
        at: NaiveDateTime,
        amount: Decimal,
    ) -> Result<()> {
        // Spaces around an id are not part of it, as around a date or an amount
        // (`1 , 2024-01-01 , 10.5` is customer `1`).
        let id = id.trim_ascii();
        let Some(key) = self.ids.key(id, &mut self.log) else {
            let c = &self.options.columns.customer;
            let reason =
                if id.is_empty() { "empty customer id" } else { "customer id is not UTF-8" };
            return Err(Failure::at(self.path, line, c, &String::from_utf8_lossy(id), reason));
        };
        self.log.push(Transaction::new(key, at, amount));
        Ok(())
    }

    /// The date `raw` at `line`.
    pub(crate) fn date(&self, line: u64, raw: &[u8]) -> Result<NaiveDateTime> {
        parse_date(raw, self.options.date_format.as_deref()).ok_or_else(|| {
            let reason = match &self.options.date_format {
                Some(f) => format!("not a date in the format `{f}`"),
                None => "not a date (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, RFC 3339 or YYYYMMDD; \
                         see --date-format)"
                    .to_string(),
            };
            Failure::at(
                self.path,
                line,
                &self.options.columns.date,
                &String::from_utf8_lossy(raw),
                reason,
            )
        })
    }

    /// The amount `raw` at `line`.
    pub(crate) fn amount(&self, line: u64, raw: &[u8]) -> Result<Decimal> {
        parse_amount(raw).ok_or_else(|| {
            Failure::at(
                self.path,
                line,
                &self.options.columns.amount,
                &String::from_utf8_lossy(raw),
                "not a decimal amount",
            )
        })
    }

    fn finish(mut self) -> Result<Log> {
        if !self.header_seen {
            return Err(Failure::in_file(self.path, "empty file: no header"));
        }
        if self.log.is_empty() {
            return Err(Failure::in_file(self.path, "no transactions: the file has a header only"));
        }
        let ids = self.ids.finish(&mut self.log);
        Ok(Log { transactions: self.log, ids, source: self.path.to_string() })
    }
}

/// A date or timestamp: `format` if given, else `YYYY-MM-DD` by hand (several times faster
/// than chrono's format parser, and most of a file's dates), `YYYYMMDD`, a naive
/// `YYYY-MM-DD[T ]HH:MM:SS[.f]`, or RFC 3339 (the clock time as written, the offset
/// dropped, as lifetimes reads a timestamp column).
pub fn parse_date(raw: &[u8], format: Option<&str>) -> Option<NaiveDateTime> {
    let s = std::str::from_utf8(raw).ok()?.trim();
    if let Some(f) = format {
        return NaiveDateTime::parse_from_str(s, f)
            .ok()
            .or_else(|| NaiveDate::parse_from_str(s, f).ok().map(NaiveDate::into));
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter()
            .try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let y = i32::try_from(num(0..4)?).ok()?;
        return NaiveDate::from_ymd_opt(y, num(5..7)?, num(8..10)?).map(NaiveDate::into);
    }
    if b.len() == 8 {
        let y = i32::try_from(num(0..4)?).ok()?;
        return NaiveDate::from_ymd_opt(y, num(4..6)?, num(6..8)?).map(NaiveDate::into);
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.naive_local())
}

/// A decimal amount, as written (`12.5`, `-3`; `1e3` is 1000, as pandas reads it). `NaN`,
/// `inf` and values beyond `Decimal`'s 28 digits are refused.
pub fn parse_amount(raw: &[u8]) -> Option<Decimal> {
    let s = std::str::from_utf8(raw).ok()?.trim();
    if s.is_empty() {
        return None;
    }
    Decimal::from_str(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, day).unwrap().into()
    }

    #[test]
    fn dates_in_every_default_form() {
        assert_eq!(parse_date(b"1997-01-31", None), Some(d(1997, 1, 31)));
        assert_eq!(parse_date(b"19970131", None), Some(d(1997, 1, 31)));
        let t = d(1997, 1, 31).date().and_hms_opt(23, 30, 0).unwrap();
        assert_eq!(parse_date(b"1997-01-31 23:30:00", None), Some(t));
        assert_eq!(parse_date(b"1997-01-31T23:30:00", None), Some(t));
        // RFC 3339 keeps the clock time as written.
        assert_eq!(parse_date(b"1997-01-31T23:30:00+02:00", None), Some(t));
        for bad in [&b"1997-13-01"[..], b"1997-02-30", b"31/01/1997", b"", b"x"] {
            assert_eq!(parse_date(bad, None), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_date(b"31/01/1997", Some("%d/%m/%Y")), Some(d(1997, 1, 31)));
    }

    #[test]
    fn amounts_are_exact_decimals() {
        assert_eq!(parse_amount(b"11.77"), Some(Decimal::new(1177, 2)));
        assert_eq!(parse_amount(b"-3"), Some(Decimal::from(-3)));
        assert_eq!(parse_amount(b"ten"), None);
        assert_eq!(parse_amount(b"1e3"), Some(Decimal::from(1000)));
        for bad in [&b"NaN"[..], b"inf", b"-inf", b"1000000000000000000000000000000"] {
            assert_eq!(parse_amount(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_amount(b""), None);
    }

    #[test]
    fn formats_follow_extensions() {
        assert_eq!(InputFormat::from_path("a/b.PARQUET"), InputFormat::Parquet);
        assert_eq!(InputFormat::from_path("b.feather"), InputFormat::Arrow);
        assert_eq!(InputFormat::from_path("b.ndjson"), InputFormat::Jsonl);
        assert_eq!(InputFormat::from_path("b.txt"), InputFormat::Csv);
    }
}
