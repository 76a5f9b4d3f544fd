//! Text inputs: CSV/TSV through the `csv` crate (quoting, BOM, header names), CDNOW's
//! whitespace format and JSON lines, each read as a stream.

use std::fs::File;
use std::io::{BufRead, BufReader};

use serde_json::Value;

use super::{os_reason, Sink};
use crate::error::{Failure, Result};

/// Rows between progress updates.
const TICK: u64 = 1 << 16;

fn open(sink: &Sink<'_>) -> Result<File> {
    File::open(sink.path).map_err(|e| Failure::in_file(sink.path, os_reason(&e)))
}

/// The position of each wanted column in `header`, or an error naming the missing one and
/// the columns there are.
fn positions(sink: &Sink<'_>, header: &[String]) -> Result<[usize; 3]> {
    let c = &sink.options.columns;
    let mut out = [0; 3];
    for (slot, (name, flag)) in out.iter_mut().zip([
        (&c.customer, "--customer-col"),
        (&c.date, "--date-col"),
        (&c.amount, "--amount-col"),
    ]) {
        *slot = header.iter().position(|h| h == name).ok_or_else(|| {
            Failure::at_line(
                sink.path,
                1,
                format!(
                    "no column `{name}` (name it with {flag}); the header has: {}",
                    header.join(", ")
                ),
            )
        })?;
    }
    Ok(out)
}

/// CSV (or TSV with `delimiter` `\t`) with a header row.
pub(super) fn csv(sink: &mut Sink<'_>, delimiter: u8) -> Result<()> {
    let file = open(sink)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(file);
    let read_err = |e: csv::Error, path: &str| {
        let line = e.position().map_or(0, csv::Position::line);
        match e.kind() {
            csv::ErrorKind::Io(io) => Failure::in_file(path, os_reason(io)),
            csv::ErrorKind::Utf8 { .. } => Failure::at_line(path, line, "not UTF-8 text"),
            _ => Failure::at_line(path, line, e.to_string()),
        }
    };
    let header = reader.byte_headers().map_err(|e| read_err(e, sink.path))?.clone();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Ok(());
    }
    sink.header_seen = true;
    let header: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            // A UTF-8 byte-order mark (as spreadsheets write) is not part of the first name.
            let h = if i == 0 { h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h) } else { h };
            String::from_utf8_lossy(h).trim().to_string()
        })
        .collect();
    let [ci, di, ai] = positions(sink, &header)?;
    let need = ci.max(di).max(ai) + 1;
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    while reader.read_byte_record(&mut record).map_err(|e| read_err(e, sink.path))? {
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() < need {
            if record.len() == 1 && record[0].is_empty() {
                continue;
            }
            return Err(Failure::at_line(
                sink.path,
                line,
                format!("{} fields where the header has {}", record.len(), header.len()),
            ));
        }
        if record.len() > header.len() {
            // A stray delimiter (`1,234.50` unquoted) would shift the columns after it.
            return Err(Failure::at_line(
                sink.path,
                line,
                format!("{} fields where the header has {}", record.len(), header.len()),
            ));
        }
        sink.push(line, &record[ci], &record[di], &record[ai])?;
        rows += 1;
        if rows.is_multiple_of(TICK) {
            sink.progress.set(record.position().map_or(0, csv::Position::byte));
        }
    }
    Ok(())
}

/// CDNOW's master file: `customer_id date number_of_cds dollar_value`, whitespace-separated,
/// dates `YYYYMMDD`, with or without a header line (the column flags do not apply).
pub(super) fn cdnow(sink: &mut Sink<'_>) -> Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, open(sink)?);
    let mut buf = Vec::new();
    let (mut line, mut done) = (0u64, 0u64);
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Failure::in_file(sink.path, os_reason(&e)))?;
        if n == 0 {
            break;
        }
        line += 1;
        done += n as u64;
        let mut fields = buf.split(|c| c.is_ascii_whitespace()).filter(|f| !f.is_empty());
        let Some(id) = fields.next() else { continue };
        sink.header_seen = true;
        let (date, cds, amount) = (fields.next(), fields.next(), fields.next());
        // The first line is a header when neither its id is a number nor its second field a
        // date: judging by the id alone would drop the first purchase of a file with text
        // ids, by the date alone would skip a first row whose date is bad.
        let not_date = date.is_none_or(|d| super::parse_date(d, Some("%Y%m%d")).is_none());
        if line == 1 && !id.iter().all(u8::is_ascii_digit) && not_date {
            continue;
        }
        let (Some(date), Some(_cds), Some(amount)) = (date, cds, amount) else {
            return Err(Failure::at_line(
                sink.path,
                line,
                "expected 4 fields: customer_id date number_of_cds dollar_value",
            ));
        };
        let at = super::parse_date(date, Some("%Y%m%d")).ok_or_else(|| {
            Failure::at(
                sink.path,
                line,
                "date",
                &String::from_utf8_lossy(date),
                "not a date YYYYMMDD",
            )
        })?;
        let amount = super::parse_amount(amount).ok_or_else(|| {
            Failure::at(
                sink.path,
                line,
                "dollar_value",
                &String::from_utf8_lossy(amount),
                "not a decimal amount",
            )
        })?;
        sink.push_parsed(line, id, at, amount)?;
        if line.is_multiple_of(TICK) {
            sink.progress.set(done);
        }
    }
    Ok(())
}

/// One JSON object per line; ids may be strings or numbers, amounts numbers or strings.
pub(super) fn jsonl(sink: &mut Sink<'_>) -> Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, open(sink)?);
    let mut buf = Vec::new();
    let (mut line, mut done) = (0u64, 0u64);
    let c = sink.options.columns.clone();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Failure::in_file(sink.path, os_reason(&e)))?;
        if n == 0 {
            break;
        }
        line += 1;
        done += n as u64;
        // A byte-order mark before the first object (as some editors save) is not JSON.
        let text = if line == 1 { super::strip_bom(&buf) } else { &buf[..] };
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // JSON lines has no header: the first object stands for one.
        sink.header_seen = true;
        let object: serde_json::Map<String, Value> = serde_json::from_slice(text)
            .map_err(|e| Failure::at_line(sink.path, line, format!("not a JSON object: {e}")))?;
        let field = |name: &str, flag: &str| -> Result<String> {
            match object.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(other) => Err(Failure::at(
                    sink.path,
                    line,
                    name,
                    &other.to_string(),
                    "expected a string or a number",
                )),
                None => Err(Failure::at_line(
                    sink.path,
                    line,
                    format!("no field `{name}` (name it with {flag})"),
                )),
            }
        };
        // A number id beyond 64-bit integers (or with a fraction) has already lost digits
        // to a float: two customers could become one, so it must be written as a string.
        if let Some(Value::Number(n)) = object.get(&c.customer) {
            if !(n.is_u64() || n.is_i64()) {
                return Err(Failure::at(
                    sink.path,
                    line,
                    &c.customer,
                    &n.to_string(),
                    "a number id must be a 64-bit integer (quote longer ids as strings)",
                ));
            }
        }
        let id = field(&c.customer, "--customer-col")?;
        let date = field(&c.date, "--date-col")?;
        let amount = field(&c.amount, "--amount-col")?;
        sink.push(line, id.as_bytes(), date.as_bytes(), amount.as_bytes())?;
        if line.is_multiple_of(TICK) {
            sink.progress.set(done);
        }
    }
    Ok(())
}
