//! Columnar inputs: Parquet (only the three columns are decoded) and Arrow IPC, batch by
//! batch. Rows are numbered from 1 in the errors, as these files have no lines.

use std::fs::File;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{
    Array, Date32Array, Date64Array, Decimal128Array, Float32Array, Float64Array, Int32Array,
    Int64Array, UInt32Array, UInt64Array,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Schema, TimeUnit};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use rust_decimal::Decimal;

use super::{os_reason, Sink};
use crate::error::{Failure, Result};

fn open(sink: &Sink<'_>) -> Result<File> {
    File::open(sink.path).map_err(|e| Failure::in_file(sink.path, os_reason(&e)))
}

/// Positions of the three columns in `schema`, with their types checked.
pub(super) fn columns(sink: &Sink<'_>, schema: &Schema) -> Result<[usize; 3]> {
    let c = &sink.options.columns;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut out = [0; 3];
    for (i, (name, flag)) in
        [(&c.customer, "--customer-col"), (&c.date, "--date-col"), (&c.amount, "--amount-col")]
            .into_iter()
            .enumerate()
    {
        out[i] = names.iter().position(|n| n == name).ok_or_else(|| {
            Failure::in_file(
                sink.path,
                format!(
                    "no column `{name}` (name it with {flag}); the file has: {}",
                    names.join(", ")
                ),
            )
        })?;
        let declared = schema.field(out[i]).data_type();
        // A dictionary column is read as its values (see [`plain`]).
        let ty = value_type(declared);
        let ok = match i {
            0 => is_text(ty) || is_integer(ty),
            1 => {
                is_text(ty)
                    || matches!(ty, DataType::Date32 | DataType::Date64 | DataType::Timestamp(..))
            }
            _ => {
                is_text(ty)
                    || is_integer(ty)
                    || matches!(
                        ty,
                        DataType::Decimal128(..) | DataType::Float32 | DataType::Float64
                    )
            }
        };
        if let DataType::Timestamp(_, Some(tz)) = ty {
            if zone(ty).is_none() {
                return Err(Failure::in_file(
                    sink.path,
                    format!("column `{name}` has time zone `{tz}`, which is not known"),
                ));
            }
        }
        if !ok {
            let want =
                ["text or integer ids", "dates, timestamps or text", "decimals, numbers or text"]
                    [i];
            return Err(Failure::in_file(
                sink.path,
                format!("column `{name}` has type {declared}: expected {want}"),
            ));
        }
    }
    Ok(out)
}

pub(super) fn is_text(ty: &DataType) -> bool {
    matches!(ty, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

pub(super) fn is_integer(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

/// The type of a column's values: a dictionary's value type, any other type itself.
pub(super) fn value_type(ty: &DataType) -> &DataType {
    match ty {
        DataType::Dictionary(_, values) => value_type(values),
        other => other,
    }
}

/// A column in the types the readers convert: a dictionary (pandas' Categorical,
/// `dictionary_encode()`) as the values its keys point at, and integers of 8 and 16 bits
/// widened to 64 (the readers convert 32- and 64-bit ones). Any other column as it is.
///
/// # Errors
///
/// A dictionary key beyond its values (a corrupt file).
pub(super) fn plain(a: &ArrayRef) -> std::result::Result<ArrayRef, ArrowError> {
    use arrow_array::types::{Int16Type, Int64Type, Int8Type, UInt16Type, UInt64Type, UInt8Type};
    Ok(match a.data_type() {
        DataType::Dictionary(..) => {
            let d = a.as_any_dictionary();
            // A null key gives a null value, which the readers report as missing.
            plain(&arrow_select::take::take(d.values().as_ref(), d.keys(), None)?)?
        }
        DataType::Int8 => Arc::new(a.as_primitive::<Int8Type>().unary::<_, Int64Type>(i64::from)),
        DataType::Int16 => Arc::new(a.as_primitive::<Int16Type>().unary::<_, Int64Type>(i64::from)),
        DataType::UInt8 => {
            Arc::new(a.as_primitive::<UInt8Type>().unary::<_, UInt64Type>(u64::from))
        }
        DataType::UInt16 => {
            Arc::new(a.as_primitive::<UInt16Type>().unary::<_, UInt64Type>(u64::from))
        }
        _ => Arc::clone(a),
    })
}

/// A Parquet file.
pub(super) fn parquet(sink: &mut Sink<'_>) -> Result<()> {
    let bad = |e: parquet::errors::ParquetError, path: &str| {
        Failure::in_file(path, format!("not a readable Parquet file: {e}"))
    };
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(open(sink)?).map_err(|e| bad(e, sink.path))?;
    sink.header_seen = true;
    let schema = builder.schema().clone();
    let cols = columns(sink, &schema)?;
    let mut roots = cols.to_vec();
    roots.sort_unstable();
    roots.dedup();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    // Projected columns come in schema order.
    let at = |c: usize| roots.iter().position(|&r| r == c).unwrap_or(0);
    let projected = [at(cols[0]), at(cols[1]), at(cols[2])];
    let rows = builder.metadata().file_metadata().num_rows().max(1) as u64;
    let reader = builder
        .with_projection(mask)
        .with_batch_size(64 * 1024)
        .build()
        .map_err(|e| bad(e, sink.path))?;
    let mut row = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| Failure::in_file(sink.path, format!("reading: {e}")))?;
        batch_rows(sink, &batch, projected, &mut row)?;
        sink.progress.set(sink.size * row / rows);
    }
    Ok(())
}

/// The batches of an Arrow IPC file or stream, one at a time.
pub(super) type Batches =
    Box<dyn Iterator<Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>>>;

/// The schema and batches of the Arrow IPC file (or, failing that, stream) at `path`.
pub(super) fn ipc_batches(path: &str) -> Result<(arrow_schema::SchemaRef, Batches)> {
    use arrow_ipc::reader::{FileReader, StreamReader};
    let open = || File::open(path).map_err(|e| Failure::in_file(path, os_reason(&e)));
    match FileReader::try_new(open()?, None) {
        Ok(r) => Ok((r.schema(), Box::new(r))),
        Err(_) => {
            let r = StreamReader::try_new(open()?, None).map_err(|e| {
                Failure::in_file(path, format!("not an Arrow IPC file or stream: {e}"))
            })?;
            Ok((r.schema(), Box::new(r)))
        }
    }
}

/// An Arrow IPC file (or, failing that, stream).
pub(super) fn arrow_ipc(sink: &mut Sink<'_>) -> Result<()> {
    let (schema, batches) = ipc_batches(sink.path)?;
    sink.header_seen = true;
    let cols = columns(sink, &schema)?;
    let mut row = 0u64;
    for batch in batches {
        let batch = batch.map_err(|e| Failure::in_file(sink.path, format!("reading: {e}")))?;
        batch_rows(sink, &batch, cols, &mut row)?;
    }
    Ok(())
}

/// The rows of one batch; `row` counts the rows before it.
fn batch_rows(
    sink: &mut Sink<'_>,
    batch: &RecordBatch,
    cols: [usize; 3],
    row: &mut u64,
) -> Result<()> {
    let plain = |c: usize| {
        plain(batch.column(c)).map_err(|e| Failure::in_file(sink.path, format!("reading: {e}")))
    };
    let (ids, dates, amounts) = (&plain(cols[0])?, &plain(cols[1])?, &plain(cols[2])?);
    let names = sink.options.columns.clone();
    // Checked by `columns`: an unknown zone never gets here.
    let zone = zone(dates.data_type()).unwrap_or(Zone::Utc);
    let mut id_text = String::new();
    for i in 0..batch.num_rows() {
        *row += 1;
        let r = *row;
        for (a, name) in [(ids, &names.customer), (dates, &names.date), (amounts, &names.amount)] {
            if a.is_null(i) {
                return Err(Failure::at(sink.path, r, name, "null", "missing value"));
            }
        }
        id_text.clear();
        let id: &[u8] = match ids.data_type() {
            DataType::Utf8 => ids.as_string::<i32>().value(i).as_bytes(),
            DataType::LargeUtf8 => ids.as_string::<i64>().value(i).as_bytes(),
            DataType::Utf8View => ids.as_string_view().value(i).as_bytes(),
            _ => {
                id_text = integer(ids, i).map(|v| v.to_string()).unwrap_or_default();
                id_text.as_bytes()
            }
        };
        let at = match date(dates, zone, i) {
            Some(Ok(at)) => at,
            Some(Err(text)) => sink.date(r, text.as_bytes())?,
            None => {
                return Err(Failure::at(sink.path, r, &names.date, "?", "timestamp out of range"))
            }
        };
        let amount = match amount(amounts, i) {
            Some(Ok(v)) => v,
            Some(Err(text)) => sink.amount(r, text.as_bytes())?,
            None => {
                return Err(Failure::at(
                    sink.path,
                    r,
                    &names.amount,
                    &value_text(amounts, i),
                    "not a finite decimal amount",
                ))
            }
        };
        let id = id.to_vec();
        sink.push_parsed(r, &id, at, amount)?;
    }
    Ok(())
}

pub(super) fn integer(a: &dyn Array, i: usize) -> Option<i128> {
    Some(match a.data_type() {
        DataType::Int32 => i128::from(a.as_any().downcast_ref::<Int32Array>()?.value(i)),
        DataType::Int64 => i128::from(a.as_any().downcast_ref::<Int64Array>()?.value(i)),
        DataType::UInt32 => i128::from(a.as_any().downcast_ref::<UInt32Array>()?.value(i)),
        DataType::UInt64 => i128::from(a.as_any().downcast_ref::<UInt64Array>()?.value(i)),
        _ => return None,
    })
}

pub(super) fn text(a: &dyn Array, i: usize) -> Option<String> {
    Some(match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
        DataType::LargeUtf8 => a.as_string::<i64>().value(i).to_string(),
        DataType::Utf8View => a.as_string_view().value(i).to_string(),
        _ => return None,
    })
}

fn value_text(a: &dyn Array, i: usize) -> String {
    match a.data_type() {
        DataType::Float64 => {
            a.as_any().downcast_ref::<Float64Array>().map(|a| a.value(i).to_string())
        }
        DataType::Float32 => {
            a.as_any().downcast_ref::<Float32Array>().map(|a| a.value(i).to_string())
        }
        _ => None,
    }
    .unwrap_or_default()
}

/// The zone of a timestamp column, in which its instants are read as clock times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Zone {
    /// No zone (the stored value is the clock time) or UTC.
    Utc,
    /// A fixed offset (`+05:45`).
    Fixed(FixedOffset),
    /// An IANA zone (`America/New_York`).
    Named(chrono_tz::Tz),
}

impl Zone {
    /// The clock time in this zone of the UTC instant `utc`.
    fn local(self, utc: NaiveDateTime) -> NaiveDateTime {
        match self {
            Zone::Utc => utc,
            Zone::Fixed(o) => o.from_utc_datetime(&utc).naive_local(),
            Zone::Named(z) => z.from_utc_datetime(&utc).naive_local(),
        }
    }
}

/// The zone of a column of type `ty`: [`Zone::Utc`] for anything but a zoned timestamp,
/// `None` for a zone that is neither an offset (`+05:45`, `-0330`, `+05`) nor an IANA name.
///
/// A zoned timestamp stores UTC instants; pandas reads such a column as zone-aware and
/// lifetimes' `to_period` floors the clock time in that zone, so a purchase at 22:00 in New
/// York belongs to its New York day, not to the next day in UTC.
pub(super) fn zone(ty: &DataType) -> Option<Zone> {
    let DataType::Timestamp(_, Some(tz)) = ty else { return Some(Zone::Utc) };
    let tz = tz.trim();
    if let Some(rest) = tz.strip_prefix(['+', '-']) {
        let digits: Vec<i32> = rest
            .bytes()
            .filter(|&c| c != b':')
            .map(|c| c.is_ascii_digit().then(|| i32::from(c - b'0')))
            .collect::<Option<_>>()?;
        let (h, m) = match digits[..] {
            [h1, h2] => (h1 * 10 + h2, 0),
            [h1, h2, m1, m2] => (h1 * 10 + h2, m1 * 10 + m2),
            _ => return None,
        };
        if m >= 60 {
            return None;
        }
        let seconds = (h * 60 + m) * 60;
        let seconds = if tz.starts_with('-') { -seconds } else { seconds };
        return FixedOffset::east_opt(seconds).map(Zone::Fixed);
    }
    if tz.eq_ignore_ascii_case("utc") || tz == "Z" {
        return Some(Zone::Utc);
    }
    tz.parse::<chrono_tz::Tz>().ok().map(Zone::Named)
}

/// The date at `i`: typed (`Ok`), text to parse (`Err`), or `None` out of range. `zone` is
/// the column's ([`zone`]).
pub(super) fn date(
    a: &dyn Array,
    zone: Zone,
    i: usize,
) -> Option<std::result::Result<NaiveDateTime, String>> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let ts = |v: i64, unit: &TimeUnit| -> Option<NaiveDateTime> {
        let t = match unit {
            TimeUnit::Second => DateTime::from_timestamp(v, 0),
            TimeUnit::Millisecond => DateTime::from_timestamp_millis(v),
            TimeUnit::Microsecond => DateTime::from_timestamp_micros(v),
            TimeUnit::Nanosecond => Some(DateTime::from_timestamp_nanos(v)),
        };
        t.map(|t| t.naive_utc())
    };
    Some(Ok(match a.data_type() {
        DataType::Date32 => {
            let d = a.as_any().downcast_ref::<Date32Array>()?.value(i);
            epoch.checked_add_signed(chrono::TimeDelta::try_days(i64::from(d))?)?.into()
        }
        DataType::Date64 => {
            ts(a.as_any().downcast_ref::<Date64Array>()?.value(i), &TimeUnit::Millisecond)?
        }
        DataType::Timestamp(unit, _) => {
            let v = match unit {
                TimeUnit::Second => {
                    a.as_primitive::<arrow_array::types::TimestampSecondType>().value(i)
                }
                TimeUnit::Millisecond => {
                    a.as_primitive::<arrow_array::types::TimestampMillisecondType>().value(i)
                }
                TimeUnit::Microsecond => {
                    a.as_primitive::<arrow_array::types::TimestampMicrosecondType>().value(i)
                }
                TimeUnit::Nanosecond => {
                    a.as_primitive::<arrow_array::types::TimestampNanosecondType>().value(i)
                }
            };
            zone.local(ts(v, unit)?)
        }
        _ => return text(a, i).map(Err),
    }))
}

/// The amount at `i`: typed (`Ok`), text to parse (`Err`), or `None` for a non-finite float
/// or a decimal beyond 28 places.
pub(super) fn amount(a: &dyn Array, i: usize) -> Option<std::result::Result<Decimal, String>> {
    Some(Ok(match a.data_type() {
        DataType::Decimal128(_, scale) => {
            let v = a.as_any().downcast_ref::<Decimal128Array>()?.value(i);
            let scale = u32::try_from(*scale).ok()?;
            Decimal::try_from_i128_with_scale(v, scale).ok()?
        }
        // Floats take their shortest decimal form (11.77, not 11.769999...), as they print.
        DataType::Float64 => {
            let v = a.as_any().downcast_ref::<Float64Array>()?.value(i);
            v.is_finite().then(|| v.to_string().parse().ok()).flatten()?
        }
        DataType::Float32 => {
            let v = a.as_any().downcast_ref::<Float32Array>()?.value(i);
            v.is_finite().then(|| v.to_string().parse().ok()).flatten()?
        }
        DataType::Int32 | DataType::Int64 | DataType::UInt32 | DataType::UInt64 => {
            Decimal::try_from_i128_with_scale(integer(a, i)?, 0).ok()?
        }
        _ => return text(a, i).map(Err),
    }))
}
