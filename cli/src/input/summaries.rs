//! Per-customer summaries (`--summary-input`) in every input format: the cells of the
//! columns asked for, row by row, as text, with the line (text formats) or row (columnar
//! formats) of each for the errors.

use std::fs::File;
use std::io::{BufRead, BufReader};

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Decimal256Type};
use arrow_array::{Array, RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, Schema};
use serde_json::Value;

use super::columnar::{integer, ipc_batches, is_integer, is_text, plain, text, value_type};
use super::{os_reason, InputFormat};
use crate::error::{Failure, Result};

/// A column asked for: the names it may go by (the first is the one named in errors), and
/// whether a file must have it.
pub struct Wanted {
    /// Names, in order of preference.
    pub names: &'static [&'static str],
    /// Whether a file without it is refused.
    pub required: bool,
}

/// What a row hands back: its line or row number, and per wanted column the name it was
/// found under and its cell (`None` for a column the file lacks or a null).
pub type Cells<'a> = [(&'a str, Option<&'a str>)];

/// Reads the summary at `path` in `format`, calling `row` for each row.
///
/// # Errors
///
/// A file that cannot be read, a required column missing, a cell that is neither a number
/// nor text, or `row`'s error.
pub fn read(
    path: &str,
    format: InputFormat,
    wanted: &[Wanted],
    row: &mut dyn FnMut(u64, &Cells<'_>) -> Result<()>,
) -> Result<()> {
    match format {
        InputFormat::Csv => delimited(path, b',', wanted, row),
        InputFormat::Tsv => delimited(path, b'\t', wanted, row),
        InputFormat::Jsonl => jsonl(path, wanted, row),
        InputFormat::Parquet => {
            let bad = |e: parquet::errors::ParquetError| {
                Failure::in_file(path, format!("not a readable Parquet file: {e}"))
            };
            let file = File::open(path).map_err(|e| Failure::in_file(path, os_reason(&e)))?;
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .map_err(bad)?
                    .build()
                    .map_err(bad)?;
            let schema = reader.schema();
            columnar(path, &schema, reader, wanted, row)
        }
        InputFormat::Arrow => {
            let (schema, batches) = ipc_batches(path)?;
            columnar(path, &schema, batches, wanted, row)
        }
        InputFormat::Cdnow => Err(Failure::in_file(
            path,
            "a summary is CSV, TSV, JSON lines, Parquet or Arrow, not CDNOW text",
        )),
    }
}

/// The name of `w` in `names`, and its position.
fn find<'a>(w: &Wanted, names: &[&'a str]) -> Option<(usize, &'a str)> {
    w.names.iter().find_map(|n| names.iter().position(|h| h == n).map(|i| (i, names[i])))
}

/// The error of a required column missing from a header or schema.
fn missing(path: &str, line: Option<u64>, w: &Wanted, names: &[&str]) -> Failure {
    let reason = format!("no column `{}`; the header has: {}", w.names[0], names.join(", "));
    match line {
        Some(l) => Failure::at_line(path, l, reason),
        None => Failure::in_file(path, reason),
    }
}

/// CSV or TSV with a header row.
fn delimited(
    path: &str,
    delimiter: u8,
    wanted: &[Wanted],
    row: &mut dyn FnMut(u64, &Cells<'_>) -> Result<()>,
) -> Result<()> {
    let file = File::open(path).map_err(|e| Failure::in_file(path, os_reason(&e)))?;
    let mut r = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(file);
    let read_err = |e: csv::Error| {
        let line = e.position().map_or(0, csv::Position::line);
        match e.kind() {
            csv::ErrorKind::Io(io) => Failure::in_file(path, os_reason(io)),
            csv::ErrorKind::Utf8 { .. } => Failure::at_line(path, line, "not UTF-8 text"),
            _ => Failure::at_line(path, line, e.to_string()),
        }
    };
    let header: Vec<String> = r
        .headers()
        .map_err(read_err)?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(Failure::in_file(path, "empty file: no header"));
    }
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut at = Vec::with_capacity(wanted.len());
    for w in wanted {
        match find(w, &names) {
            Some(found) => at.push(Some(found)),
            None if w.required => return Err(missing(path, Some(1), w, &names)),
            None => at.push(None),
        }
    }
    for rec in r.records() {
        let rec = rec.map_err(read_err)?;
        let line = rec.position().map_or(0, csv::Position::line);
        let mut cells: Vec<(&str, Option<&str>)> = Vec::with_capacity(wanted.len());
        for (w, a) in wanted.iter().zip(&at) {
            cells.push(match a {
                // A short row has no cell there: empty, as an empty field.
                Some((i, name)) => (*name, Some(rec.get(*i).unwrap_or(""))),
                None => (w.names[0], None),
            });
        }
        row(line, &cells)?;
    }
    Ok(())
}

/// One JSON object per line; values may be numbers or strings.
fn jsonl(
    path: &str,
    wanted: &[Wanted],
    row: &mut dyn FnMut(u64, &Cells<'_>) -> Result<()>,
) -> Result<()> {
    let file = File::open(path).map_err(|e| Failure::in_file(path, os_reason(&e)))?;
    let reader = BufReader::with_capacity(1 << 20, file);
    let mut seen = false;
    for (i, text) in reader.split(b'\n').enumerate() {
        let text = text.map_err(|e| Failure::in_file(path, os_reason(&e)))?;
        let line = i as u64 + 1;
        let text = if i == 0 { super::strip_bom(&text) } else { &text[..] };
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        seen = true;
        let object: serde_json::Map<String, Value> = serde_json::from_slice(text)
            .map_err(|e| Failure::at_line(path, line, format!("not a JSON object: {e}")))?;
        let mut texts: Vec<(&str, Option<String>)> = Vec::with_capacity(wanted.len());
        for w in wanted {
            let found = w.names.iter().find_map(|n| object.get(*n).map(|v| (*n, v)));
            texts.push(match found {
                Some((name, Value::String(s))) => (name, Some(s.clone())),
                Some((name, Value::Number(n))) => (name, Some(n.to_string())),
                Some((name, Value::Null)) => (name, None),
                Some((name, other)) => {
                    return Err(Failure::at(
                        path,
                        line,
                        name,
                        &other.to_string(),
                        "expected a number or a string",
                    ))
                }
                None if w.required => {
                    return Err(Failure::at_line(path, line, format!("no field `{}`", w.names[0])))
                }
                None => (w.names[0], None),
            });
        }
        let cells: Vec<(&str, Option<&str>)> =
            texts.iter().map(|(n, v)| (*n, v.as_deref())).collect();
        row(line, &cells)?;
    }
    if !seen {
        return Err(Failure::in_file(path, "empty file: no rows"));
    }
    Ok(())
}

/// Parquet or Arrow IPC batches; rows numbered from 1.
fn columnar(
    path: &str,
    schema: &Schema,
    batches: impl Iterator<Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>>,
    wanted: &[Wanted],
    row: &mut dyn FnMut(u64, &Cells<'_>) -> Result<()>,
) -> Result<()> {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut at = Vec::with_capacity(wanted.len());
    for w in wanted {
        match find(w, &names) {
            Some((i, name)) => {
                let declared = schema.field(i).data_type();
                let ty = value_type(declared);
                let numeric = is_text(ty)
                    || is_integer(ty)
                    || matches!(
                        ty,
                        DataType::Float32
                            | DataType::Float64
                            | DataType::Decimal128(..)
                            | DataType::Decimal256(..)
                    );
                if !numeric {
                    return Err(Failure::in_file(
                        path,
                        format!("column `{name}` has type {declared}: expected numbers or text"),
                    ));
                }
                at.push(Some((i, name)));
            }
            None if w.required => return Err(missing(path, None, w, &names)),
            None => at.push(None),
        }
    }
    let mut n = 0u64;
    let mut texts: Vec<(&str, Option<String>)> = Vec::with_capacity(wanted.len());
    for batch in batches {
        let batch = batch.map_err(|e| Failure::in_file(path, format!("reading: {e}")))?;
        let columns = at
            .iter()
            .map(|a| a.map(|(i, _)| plain(batch.column(i))).transpose())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Failure::in_file(path, format!("reading: {e}")))?;
        for i in 0..batch.num_rows() {
            n += 1;
            texts.clear();
            for ((w, a), c) in wanted.iter().zip(&at).zip(&columns) {
                texts.push(match (a, c) {
                    (Some((_, name)), Some(c)) => (*name, cell(c.as_ref(), i)),
                    _ => (w.names[0], None),
                });
            }
            let cells: Vec<(&str, Option<&str>)> =
                texts.iter().map(|(n, v)| (*n, v.as_deref())).collect();
            row(n, &cells)?;
        }
    }
    Ok(())
}

/// The value at `i` as text (`None` for a null): integers and decimals in their digits,
/// floats in their shortest round-trip form.
fn cell(a: &dyn Array, i: usize) -> Option<String> {
    if a.is_null(i) {
        return None;
    }
    match a.data_type() {
        DataType::Float64 => {
            Some(a.as_primitive::<arrow_array::types::Float64Type>().value(i).to_string())
        }
        DataType::Float32 => {
            Some(a.as_primitive::<arrow_array::types::Float32Type>().value(i).to_string())
        }
        DataType::Decimal128(..) => Some(a.as_primitive::<Decimal128Type>().value_as_string(i)),
        DataType::Decimal256(..) => Some(a.as_primitive::<Decimal256Type>().value_as_string(i)),
        _ => integer(a, i).map(|v| v.to_string()).or_else(|| text(a, i)),
    }
}
