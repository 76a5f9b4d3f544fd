//! The plain CSV most logs are, read on every core: no quotes, numeric ids, one line a row.
//!
//! The file is read in blocks; each block's complete lines are cut at line boundaries into
//! one part per thread and the parts are parsed in parallel, straight into transactions.
//! Splitting at newlines is only sound where a newline always ends a row, which a quoted
//! field can break (`"line\nbreak"`): a block with a quote (or a carriage return that does
//! not end a line) anywhere is not split, and the whole file is read again by the `csv` crate
//! instead. So is a file whose ids are not all numbers in one style (see [`crate::ids`]), and
//! one with any value this pass cannot read: the `csv` crate's pass then finds the same
//! value and reports it with its line and column, so errors read the same whichever pass ran.
//!
//! Values are parsed exactly as the `csv` crate's pass parses them: a `YYYY-MM-DD` date by
//! hand (any other through [`parse_date`]) and an amount of at most 18 digits as an integer
//! mantissa and a scale (any other through [`parse_amount`]), which is the `Decimal` that
//! parsing its text gives.

use std::fs::File;
use std::io::Read;

use chrono::{NaiveDate, NaiveDateTime};
use loyalty::rfm::Transaction;
use rayon::prelude::*;
use rust_decimal::Decimal;

use super::{parse_amount, parse_date, ReadOptions, Sink};
use crate::ids::{Id, Ids};

/// Bytes read at a time: a few hundred thousand rows, whose transactions (40 bytes each)
/// the parts write while the block is still in cache.
pub(super) const BLOCK: usize = 4 << 20;

/// Why the parallel pass stopped: the file is left to the `csv` crate's pass.
#[derive(Debug)]
pub(super) struct Declined;

/// What every part needs to read its rows.
pub(super) struct Plan<'a> {
    pub(super) delimiter: u8,
    /// Positions of the customer, date and amount fields.
    pub(super) columns: [usize; 3],
    /// Fields a row needs: one more than the last wanted.
    pub(super) need: usize,
    /// Fields of the header: a row with more is left to the `csv` crate's pass, which
    /// refuses it (a stray comma in an amount, `1,234.50`, must not shift the columns).
    pub(super) width: usize,
    pub(super) ids: &'a Ids,
    pub(super) date_format: Option<&'a str>,
}

/// Reads a CSV (or TSV) log into `sink` in parallel, or declines (leaving `sink` as it was
/// given) for the `csv` crate's pass to read it.
///
/// # Errors
///
/// [`Declined`] for a file this pass does not read; the caller reads it the other way.
pub(super) fn csv(sink: &mut Sink<'_>, delimiter: u8) -> Result<(), Declined> {
    let result = read(sink, delimiter);
    if result.is_err() {
        sink.log.clear();
        sink.ids = Ids::default();
        sink.header_seen = false;
    }
    result
}

fn read(sink: &mut Sink<'_>, delimiter: u8) -> Result<(), Declined> {
    let mut file = File::open(sink.path).map_err(|_| Declined)?;
    let mut buf = Vec::with_capacity(BLOCK + (64 << 10));
    let mut eof = fill(&mut file, &mut buf)?;
    let header_end = memchr::memchr(b'\n', &buf).ok_or(Declined)? + 1;
    let (columns, width) = header(sink.options, &buf[..header_end], delimiter)?;
    sink.header_seen = true;
    // The first id sets the style of every id (plain numbers or zero-padded to one width).
    let first = buf[header_end..].split(|&c| c == b'\n').next().unwrap_or_default();
    let first = field(strip_cr(first), delimiter, columns[0]).ok_or(Declined)?.trim_ascii();
    sink.ids.key(first, &mut []).ok_or(Declined)?;
    let need = columns.iter().max().copied().unwrap_or(0) + 1;
    let threads = rayon::current_num_threads().max(1);
    let mut outs: Vec<Vec<Transaction<Id>>> = vec![Vec::new(); threads];
    let mut start = header_end;
    let mut done = 0u64;
    loop {
        let end = if eof {
            buf.len()
        } else {
            memchr::memrchr(b'\n', &buf[start..]).ok_or(Declined)? + start + 1
        };
        let plan = Plan {
            delimiter,
            columns,
            need,
            width,
            ids: &sink.ids,
            date_format: sink.options.date_format.as_deref(),
        };
        let parts = split(&buf[start..end], threads);
        outs.par_iter_mut()
            .zip(parts.par_iter())
            .try_for_each(|(out, part)| rows(&plan, part, out))?;
        for out in &mut outs {
            sink.log.append(out);
        }
        done += (end - start) as u64;
        sink.progress.set(done);
        if eof {
            return Ok(());
        }
        buf.drain(..end);
        start = 0;
        eof = fill(&mut file, &mut buf)?;
    }
}

/// Appends up to a block of the file to `buf`; `true` at the end of the file.
fn fill(file: &mut File, buf: &mut Vec<u8>) -> Result<bool, Declined> {
    let want = BLOCK.saturating_sub(buf.len()).max(1 << 16);
    let got = file.take(want as u64).read_to_end(buf).map_err(|_| Declined)?;
    Ok(got < want)
}

/// The positions of the three wanted columns in a plain header line (no quotes), and the
/// number of its fields.
pub(super) fn header(
    options: &ReadOptions,
    line: &[u8],
    delimiter: u8,
) -> Result<([usize; 3], usize), Declined> {
    let line = strip_cr(line.strip_suffix(b"\n").unwrap_or(line));
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if line.contains(&b'"') || line.contains(&b'\r') {
        return Err(Declined);
    }
    let names: Vec<&[u8]> = line.split(|&c| c == delimiter).map(<[u8]>::trim_ascii).collect();
    let c = &options.columns;
    let mut out = [0; 3];
    for (slot, name) in out.iter_mut().zip([&c.customer, &c.date, &c.amount]) {
        *slot = names.iter().position(|n| *n == name.as_bytes()).ok_or(Declined)?;
    }
    Ok((out, names.len()))
}

/// `text` cut into at most `n` runs of whole lines.
fn split(text: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(n);
    let mut rest = text;
    for k in (1..=n).rev() {
        if k == 1 || rest.is_empty() {
            parts.push(rest);
            rest = &[];
            continue;
        }
        let cut = rest.len() / k;
        let end = memchr::memchr(b'\n', &rest[cut..]).map_or(rest.len(), |i| cut + i + 1);
        parts.push(&rest[..end]);
        rest = &rest[end..];
    }
    parts.resize(n, &[]);
    parts
}

/// Parses the lines of `part` into `out`.
fn rows(plan: &Plan<'_>, part: &[u8], out: &mut Vec<Transaction<Id>>) -> Result<(), Declined> {
    out.reserve(part.len() / 24);
    each_row(plan, part, |tx| {
        out.push(tx);
        Ok(())
    })
}

/// Parses the lines of `part` (whole lines) and hands each row's transaction to `row`.
pub(super) fn each_row(
    plan: &Plan<'_>,
    part: &[u8],
    mut row: impl FnMut(Transaction<Id>) -> Result<(), Declined>,
) -> Result<(), Declined> {
    // A quote may hide a newline inside a field; a lone carriage return ends a row for the
    // `csv` crate but not here.
    for i in memchr::memchr2_iter(b'"', b'\r', part) {
        if part[i] == b'"' || part.get(i + 1) != Some(&b'\n') {
            return Err(Declined);
        }
    }
    let mut dates = DateCache::default();
    let mut start = 0;
    while start < part.len() {
        let (fields, end) = line(part, start, plan)?;
        start = end + 1;
        // An empty line is no row (the `csv` crate skips it too).
        let Some([id, date, amount]) = fields else { continue };
        // Trimmed as [`Sink::push_parsed`] trims it.
        let id = plan.ids.numeric(id.trim_ascii()).ok_or(Declined)?;
        let at = dates.parse(date, plan.date_format).ok_or(Declined)?;
        let amount = amount_fast(amount).or_else(|| parse_amount(amount)).ok_or(Declined)?;
        row(Transaction::new(id, at, amount))?;
    }
    Ok(())
}

/// The wanted fields of a line (customer, date, amount), `None` for an empty line.
type Fields<'a> = Option<[&'a [u8]; 3]>;

/// The customer, date and amount fields of the line that starts at `start` of `part`
/// (`None` for an empty line), and where it ends: its newline, or the end of `part`.
///
/// The line's delimiters and its newline are found eight bytes at a time (a row is a few
/// dozen bytes: a vectorised search per line, and a byte loop for its fields, were a sixth
/// of reading a log). A line with more fields than the header, or fewer than the wanted
/// ones need, is declined for the `csv` crate's pass to report.
fn line<'a>(
    part: &'a [u8],
    start: usize,
    plan: &Plan<'_>,
) -> Result<(Fields<'a>, usize), Declined> {
    let delimiters = u64::from_ne_bytes([plan.delimiter; 8]);
    let mut out: [&[u8]; 3] = [&[]; 3];
    let (mut index, mut field, mut at) = (0, start, start);
    while at < part.len() {
        let mut found = separators(word(part, at), delimiters);
        while found != 0 {
            let i = at + (found.trailing_zeros() / 8) as usize;
            found &= found - 1;
            if i >= part.len() {
                break;
            }
            if part[i] == b'\n' {
                return Ok((last_field(part, (start, field, i), index, out, plan)?, i));
            }
            place(&mut out, plan, index, &part[field..i]);
            (index, field) = (index + 1, i + 1);
            if index >= plan.width {
                // More fields than the header: a stray comma in an amount (`1,234.50`) must
                // not shift the columns.
                return Err(Declined);
            }
        }
        at += 8;
    }
    Ok((last_field(part, (start, field, part.len()), index, out, plan)?, part.len()))
}

/// The fields of a line whose last field starts at `field` and which ends at `end` (its
/// newline or the end of the text), without a carriage return before the end; `None` for
/// an empty line.
fn last_field<'a>(
    part: &'a [u8],
    (start, field, end): (usize, usize, usize),
    index: usize,
    mut out: [&'a [u8]; 3],
    plan: &Plan<'_>,
) -> Result<Fields<'a>, Declined> {
    let end = if end > field && part[end - 1] == b'\r' { end - 1 } else { end };
    if index == 0 && end == start {
        return Ok(None);
    }
    place(&mut out, plan, index, &part[field..end]);
    if index + 1 < plan.need {
        // Fewer fields than the header names: the `csv` crate's pass reports the line.
        return Err(Declined);
    }
    Ok(Some(out))
}

/// Field `index` of a line into the wanted fields it is.
#[inline(always)]
fn place<'a>(out: &mut [&'a [u8]; 3], plan: &Plan<'_>, index: usize, value: &'a [u8]) {
    for (slot, &c) in out.iter_mut().zip(&plan.columns) {
        if c == index {
            *slot = value;
        }
    }
}

/// The eight bytes of `text` from `at`, zeros past its end (no delimiter is a zero byte).
#[inline(always)]
fn word(text: &[u8], at: usize) -> u64 {
    match text.get(at..at + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().unwrap_or_default()),
        None => {
            let mut b = [0u8; 8];
            let rest = text.get(at..).unwrap_or_default();
            b[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(b)
        }
    }
}

/// The top bit of each byte of `w` that is a newline or the delimiter (`delimiters`, the
/// delimiter in every byte). Exact: no carry crosses a byte (the classic `x - 0x01..`
/// test marks a `-` after a `,` as well).
#[inline(always)]
fn separators(w: u64, delimiters: u64) -> u64 {
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let zero = |x: u64| !(((x & LOW).wrapping_add(LOW)) | x | LOW);
    zero(w ^ delimiters) | zero(w ^ 0x0a0a_0a0a_0a0a_0a0a)
}

/// Field `index` of a plain line.
pub(super) fn field(line: &[u8], delimiter: u8, index: usize) -> Option<&[u8]> {
    line.split(|&c| c == delimiter).nth(index)
}

pub(super) fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Dates read so far: the last one by its text (a log's neighbouring rows mostly share
/// their date), and the rest in a small table by day of year of their last two years (a log
/// grouped by customer changes date at every row, and checking and converting a date was a
/// tenth of reading it).
struct DateCache {
    text: [u8; 10],
    at: Option<NaiveDateTime>,
    /// `(year << 9 | month << 5 | day, date)` at slot `(year & 1) << 9 | month << 5 | day`;
    /// a key of 0 is an empty slot (no date has month 0).
    seen: [(u32, NaiveDateTime); 1024],
}

impl Default for DateCache {
    fn default() -> DateCache {
        DateCache { text: [0; 10], at: None, seen: [(0, NaiveDateTime::MIN); 1024] }
    }
}

impl DateCache {
    fn parse(&mut self, raw: &[u8], format: Option<&str>) -> Option<NaiveDateTime> {
        if format.is_some() || raw.len() != 10 {
            return parse_date(raw, format);
        }
        if let Some(at) = self.at {
            if raw == self.text {
                return Some(at);
            }
        }
        let at = match iso_parts(raw) {
            Some((y, m, d)) => {
                let key = y << 9 | m << 5 | d;
                let slot = &mut self.seen[((y & 1) << 9 | m << 5 | d) as usize];
                if slot.0 == key {
                    slot.1
                } else {
                    // Not a date (`2023-02-30`): the general parser says so, or reads it.
                    let Some(date) = NaiveDate::from_ymd_opt(y as i32, m, d) else {
                        return parse_date(raw, None);
                    };
                    *slot = (key, date.into());
                    date.into()
                }
            }
            None => parse_date(raw, None)?,
        };
        self.text.copy_from_slice(raw);
        self.at = Some(at);
        Some(at)
    }
}

/// The year, month and day of `YYYY-MM-DD` (a month of 1 to 12 and a day below 32, not yet
/// checked as a date: no key of [`DateCache`] is then 0), or `None` for anything else (left
/// to [`parse_date`]).
fn iso_parts(b: &[u8]) -> Option<(u32, u32, u32)> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter()
            .try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    ((1..=12).contains(&m) && d < 32).then_some((y, m, d))
}

/// An amount `-?D+(.D+)?` of at most 18 digits as the `Decimal` its text parses to (the
/// digits as the mantissa, the decimals as the scale); `None` for any other text, which
/// [`parse_amount`] reads (or refuses).
fn amount_fast(raw: &[u8]) -> Option<Decimal> {
    let (negative, digits) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, raw),
    };
    let (whole, fraction) = match digits.iter().position(|&c| c == b'.') {
        Some(p) => (&digits[..p], Some(&digits[p + 1..])),
        None => (digits, None),
    };
    let fraction = fraction.unwrap_or_default();
    if whole.is_empty() || whole.len() + fraction.len() > 18 {
        return None;
    }
    if digits.len() > whole.len() && fraction.is_empty() {
        return None;
    }
    let mut mantissa = 0i64;
    for &c in whole.iter().chain(fraction) {
        if !c.is_ascii_digit() {
            return None;
        }
        mantissa = mantissa * 10 + i64::from(c - b'0');
    }
    // `-0` keeps its sign in a parsed `Decimal`; leave it to the parser.
    if negative && mantissa == 0 {
        return None;
    }
    // The parts straight (at most 18 digits: below 2^60, so no high word), with the inlined
    // constructor: `Decimal::new`, called out of line, handed the value back in two
    // registers that were stored and read back as one 16-byte word, a stalled load a row.
    let abs = mantissa as u64;
    let scale = u32::try_from(fraction.len()).ok()?;
    Some(Decimal::from_parts(abs as u32, (abs >> 32) as u32, 0, negative, scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_amounts_are_the_parsed_decimals_with_their_scale() {
        let cases = [
            "0",
            "7",
            "-7",
            "11.77",
            "-11.77",
            "1.50",
            "0.001",
            "100",
            "123456789012345678",
            "-123456789.012345678",
            "00012.30",
            "0.0",
            "1.0000",
        ];
        for s in cases {
            let fast = amount_fast(s.as_bytes()).unwrap_or_else(|| panic!("{s} declined"));
            let slow = parse_amount(s.as_bytes()).unwrap();
            assert_eq!(
                (fast, fast.scale(), fast.to_string()),
                (slow, slow.scale(), slow.to_string())
            );
        }
        // Beyond 18 digits, odd shapes and words go to the parser (which may accept them).
        for s in [
            "1234567890123456789",
            "1.",
            ".5",
            "+5",
            " 5",
            "5 ",
            "1e3",
            "-0",
            "-0.00",
            "",
            "-",
            "1.2.3",
            "ten",
        ] {
            assert_eq!(amount_fast(s.as_bytes()), None, "{s}");
        }
        assert_eq!(
            parse_amount(b"1234567890123456789"),
            Some(Decimal::from(1234567890123456789i64))
        );
    }

    #[test]
    fn every_digit_string_up_to_four_places_matches_the_parser() {
        for n in 0..20_000i64 {
            for scale in 0..4u32 {
                let d = Decimal::new(n - 10_000, scale);
                let s = d.to_string();
                let fast = amount_fast(s.as_bytes());
                if s.starts_with("-0") && n - 10_000 == 0 {
                    continue;
                }
                let fast = fast.unwrap_or_else(|| panic!("{s} declined"));
                let slow = parse_amount(s.as_bytes()).unwrap();
                assert_eq!((fast.mantissa(), fast.scale()), (slow.mantissa(), slow.scale()), "{s}");
            }
        }
    }

    #[test]
    fn parts_are_whole_lines_and_cover_the_text() {
        let text = b"a,1\nbb,2\nccc,3\ndddd,4\ne,5\n";
        for n in 1..8 {
            let parts = split(text, n);
            assert_eq!(parts.len(), n);
            assert_eq!(parts.concat(), text.to_vec());
            for p in parts.iter().filter(|p| !p.is_empty()) {
                assert_eq!(p.last(), Some(&b'\n'));
            }
        }
        // No final newline: the last part ends with the text.
        assert_eq!(split(b"a\nb", 2), [&b"a\n"[..], b"b"]);
    }

    #[test]
    fn dates_are_cached_by_their_text() {
        let mut c = DateCache::default();
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap().into();
        assert_eq!(c.parse(b"2024-02-29", None), Some(d(2024, 2, 29)));
        assert_eq!(c.parse(b"2024-02-29", None), Some(d(2024, 2, 29)));
        assert_eq!(c.parse(b"2023-02-29", None), None);
        assert_eq!(c.parse(b"2024-03-01", None), Some(d(2024, 3, 1)));
        assert_eq!(c.parse(b"20240301", None), Some(d(2024, 3, 1)));
        assert_eq!(c.parse(b"01/03/2024", Some("%d/%m/%Y")), Some(d(2024, 3, 1)));
    }

    /// Dates in a scattered order (as a log grouped by customer has them), days that are no
    /// dates, and dates two years apart that share a slot of the table: always what the
    /// general parser reads.
    #[test]
    fn scattered_dates_read_as_the_parser_reads_them() {
        let mut c = DateCache::default();
        let start = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
        let mut x = 5u64;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let text = match (x >> 60) % 8 {
                // Day 0, day 31 of a 30-day month, month 0 and 13: left to the parser.
                0 => format!("2022-{:02}-{:02}", (x >> 40) % 14, (x >> 20) % 33),
                _ => (start + chrono::Days::new((x >> 33) % 2_000)).to_string(),
            };
            let want = parse_date(text.as_bytes(), None);
            assert_eq!(c.parse(text.as_bytes(), None), want, "{text}");
        }
        for text in ["0000-00-00", "2024-06-15", "2026-06-15", "2024-06-15", "2022-06-15"] {
            assert_eq!(c.parse(text.as_bytes(), None), parse_date(text.as_bytes(), None));
        }
    }

    use std::io::Write;

    use super::super::{text, IdBook, ReadOptions};

    fn options(date_format: Option<&str>) -> ReadOptions {
        ReadOptions { date_format: date_format.map(str::to_string), ..ReadOptions::default() }
    }

    /// The log both ways: (parallel pass or `None` if it declined, the `csv` crate's pass).
    fn both(
        text: &str,
        date_format: Option<&str>,
    ) -> (Option<super::super::Log>, super::super::Log) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        let path = f.path().to_str().unwrap().to_string();
        let o = options(date_format);
        let size = text.len() as u64;
        let mut fast = Sink::new(&path, &o, size);
        let fast = match csv(&mut fast, b',') {
            Ok(()) => Some(fast.finish().unwrap()),
            Err(Declined) => {
                // Declining leaves the sink as it was given.
                assert!(fast.log.is_empty() && !fast.header_seen);
                None
            }
        };
        let mut slow = Sink::new(&path, &o, size);
        text::csv(&mut slow, b',').unwrap();
        (fast, slow.finish().unwrap())
    }

    /// Rows from a 64-bit LCG: `customers` zero-padded ids, dates over two years, amounts
    /// with 0 to 3 decimals (some negative), an extra column first.
    fn log(rows: usize, customers: u64, crlf: bool) -> String {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        let end = if crlf { "\r\n" } else { "\n" };
        let mut out = format!("note,amount,customer_id,date{end}");
        let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        for i in 0..rows {
            let day = start + chrono::Days::new(next() % 730);
            let cents = next() % 100_000;
            let amount = match i % 5 {
                0 => format!("{}", cents / 100),
                1 => format!("{}.{:02}", cents / 100, cents % 100),
                2 => format!("-{}.{:03}", cents / 1000, cents % 1000),
                3 => format!("{}.{}", cents / 10, cents % 10),
                _ => format!("{}.{:02}", cents / 100, cents % 100),
            };
            out.push_str(&format!("x{i},{amount},{:07},{day}{end}", next() % customers));
            if i % 100_000 == 99_999 {
                out.push_str(end); // an empty line
            }
        }
        out
    }

    #[test]
    fn the_parallel_pass_reads_what_the_csv_crate_reads() {
        // 200,000 rows: about 6 MB, more than one block.
        for crlf in [false, true] {
            let text = log(200_000, 40_000, crlf);
            assert!(text.len() > BLOCK);
            let (fast, slow) = both(&text, None);
            let fast = fast.expect("a plain file is read in parallel");
            assert_eq!(slow.transactions.len(), 200_000);
            assert_eq!(fast.transactions, slow.transactions);
            // Decimal equality ignores the scale; the written digits do not.
            let scales = |l: &super::super::Log| -> Vec<(i128, u32)> {
                l.transactions.iter().map(|t| (t.amount.mantissa(), t.amount.scale())).collect()
            };
            assert_eq!(scales(&fast), scales(&slow));
            assert_eq!(fast.ids, slow.ids);
            assert_eq!(fast.ids, IdBook::Padded(7));
        }
    }

    /// `line` against the plain reading it replaced (cut at the newline, drop a carriage
    /// return before it, split at the delimiter, count the fields) on random texts of
    /// delimiters, newlines, carriage returns, dashes (the exact byte test must not take a
    /// `-` after a `,` for one), digits and letters, for several column layouts.
    #[test]
    fn lines_split_as_the_plain_reading_splits_them() {
        fn plain<'a>(line: &'a [u8], plan: &Plan<'_>) -> Option<Option<[&'a [u8]; 3]>> {
            let line = strip_cr(line);
            if line.is_empty() {
                return Some(None);
            }
            let fields: Vec<&[u8]> = line.split(|&c| c == plan.delimiter).collect();
            if fields.len() > plan.width || fields.len() < plan.need {
                return None;
            }
            Some(Some(plan.columns.map(|c| fields[c])))
        }
        let ids = Ids::default();
        let mut x = 3u64;
        for (delimiter, columns, width) in [
            (b',', [0, 1, 2], 3),
            (b',', [2, 0, 3], 5),
            (b'\t', [1, 2, 0], 3),
            (b',', [4, 1, 0], 5),
        ] {
            let need = columns.iter().max().unwrap() + 1;
            let plan = Plan { delimiter, columns, need, width, ids: &ids, date_format: None };
            let alphabet = [delimiter, delimiter, b'\n', b'\r', b'-', b'1', b'7', b'a', b','];
            for _ in 0..3_000 {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let len = (x >> 58) as usize * 2;
                let text: Vec<u8> = (0..len)
                    .map(|k| alphabet[((x >> (k % 50)) as usize ^ (k * 7)) % alphabet.len()])
                    .collect();
                let mut start = 0;
                while start < text.len() {
                    let end = text[start..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(text.len(), |i| start + i);
                    let want = plain(&text[start..end], &plan);
                    let got = line(&text, start, &plan);
                    assert_eq!(
                        got.as_ref().ok().map(|g| g.0),
                        want,
                        "{:?} at {start}",
                        String::from_utf8_lossy(&text)
                    );
                    match got {
                        Ok((_, e)) => assert_eq!(e, end),
                        Err(Declined) => break,
                    }
                    start = end + 1;
                }
            }
        }
    }

    #[test]
    fn rows_with_more_fields_than_the_header_are_refused() {
        // An unquoted thousands separator: read as 1 it would be a silently wrong amount.
        for text in [
            "customer_id,date,amount\n1,2024-01-01,5\n1,2024-01-02,1,234.50\n",
            // Extra columns after the wanted ones count too.
            "customer_id,date,amount,note\n1,2024-01-01,5,x\n1,2024-01-02,7,y,z\n",
        ] {
            let mut f = tempfile::NamedTempFile::new().unwrap();
            f.write_all(text.as_bytes()).unwrap();
            let path = f.path().to_str().unwrap().to_string();
            let o = options(None);
            let mut fast = Sink::new(&path, &o, text.len() as u64);
            assert!(csv(&mut fast, b',').is_err(), "{text}");
            let mut slow = Sink::new(&path, &o, text.len() as u64);
            let e = text::csv(&mut slow, b',').unwrap_err();
            let width = text.lines().next().unwrap().split(',').count();
            assert_eq!(
                e.to_string(),
                format!("{path}:3: {} fields where the header has {width}", width + 1)
            );
        }
        // As many fields as the header, or fewer with every wanted one: read in parallel.
        let (fast, slow) =
            both("customer_id,date,amount,note\n1,2024-01-01,5,x\n1,2024-01-02,7\n", None);
        assert_eq!(fast.map(|l| l.transactions), Some(slow.transactions));
    }

    #[test]
    fn quotes_text_ids_and_bad_values_are_left_to_the_csv_crate() {
        let plain = log(1_000, 100, false);
        // A quoted field with a newline in the last row.
        let quoted = format!("{plain}\"a\nb\",1.00,0000001,2024-01-01\n");
        let (fast, slow) = both(&quoted, None);
        assert!(fast.is_none());
        assert_eq!(slow.transactions.len(), 1_001);
        // A lone carriage return.
        let (fast, _) = both(&plain.replacen("\n", "\r", 5), None);
        assert!(fast.is_none());
        // An id that is not a zero-padded number: every id becomes text.
        let (fast, slow) = both(&format!("{plain}x,1,ann,2024-01-01\n"), None);
        assert!(fast.is_none());
        assert!(matches!(slow.ids, IdBook::Text(_)));
        // Values the fast parsers hand to the general ones are still read in parallel.
        let odd = "customer_id,date,amount\n1,2024-01-01T10:00:00,1e0\n2,20240102, 3.5\n";
        let odd = odd.replace("1e0", "12345678901234567890.5");
        let (fast, slow) = both(&odd, None);
        assert_eq!(fast.map(|l| l.transactions), Some(slow.transactions));
        let (fast, slow) = both("customer_id,date,amount\n1,02/01/2024,1\n", Some("%d/%m/%Y"));
        assert_eq!(fast.map(|l| l.transactions), Some(slow.transactions));
    }
}
