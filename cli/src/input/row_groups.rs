//! Parquet read on every core: row groups decoded side by side, columns converted whole.
//!
//! The row groups are taken one per thread at a time, in file order, and each thread decodes
//! its group's three columns and converts them into transactions with one type dispatch per
//! batch (not per value); the groups' transactions are appended in file order, so the log
//! is the one the sequential reader builds. A file with a null, a value this pass does not
//! read or ids that are not all numbers in one style (see [`crate::ids`]) is declined and
//! read again by the sequential reader, which reports the row and column of a bad value, so
//! errors read the same whichever pass ran.
//!
//! `loyalty summary` holds no log ([`summary`]): the row groups are cut into one run of
//! consecutive groups per thread, each run is pushed into a
//! [`SummaryStream`](loyalty::rfm::SummaryStream) batch by batch, and the runs' streams are
//! appended in file order (a run per thread, not a group: each append walks the customers
//! of the stream appended, and a time-ordered file's groups each hold most customers).
//!
//! Floating-point amounts (as polars and pandas write money) become the decimal their
//! shortest text gives, as in the sequential reader, without formatting the text: the
//! fewest decimals `k` at which `round(v * 10^k) / 10^k` gives `v` back are the digits of
//! that text, since the division of two exactly represented integers is correctly rounded,
//! as parsing the text is.

use std::fs::File;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use chrono::{NaiveDate, NaiveDateTime};
use loyalty::rfm::{SummaryOptions, Transaction};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;
use rust_decimal::Decimal;

use super::chunked::Declined;
use super::columnar::{amount, columns, date, plain, zone};
use super::streamed::{join, Run};
use super::{parse_amount, parse_date, Sink, Streamed};
use crate::ids::{Id, Ids};

/// What every thread needs to convert its batches.
struct Plan<'a> {
    /// Positions of the customer, date and amount columns among the projected ones.
    projected: [usize; 3],
    ids: &'a Ids,
    date_format: Option<&'a str>,
}

/// Reads a Parquet log into `sink` on every core, or declines (leaving `sink` as it was
/// given) for the sequential reader.
///
/// # Errors
///
/// [`Declined`] for a file this pass does not read; the caller reads it the other way.
pub(super) fn parquet(sink: &mut Sink<'_>) -> Result<(), Declined> {
    let result = read(sink);
    if result.is_err() {
        sink.log.clear();
        sink.ids = Ids::default();
        sink.header_seen = false;
    }
    result
}

/// The row groups taken one per thread at a time, in file order, into the log.
fn read(sink: &mut Sink<'_>) -> Result<(), Declined> {
    let file = File::open(sink.path).map_err(|_| Declined)?;
    let meta = ArrowReaderMetadata::load(&file, Default::default()).map_err(|_| Declined)?;
    let (roots, projected) = projection(sink, &meta)?;
    let groups = meta.metadata().num_row_groups();
    let total = meta.metadata().file_metadata().num_rows().max(1) as u64;
    sink.header_seen = true;
    let threads = rayon::current_num_threads().max(1);
    let mut outs: Vec<Vec<Transaction<Id>>> = vec![Vec::new(); threads];
    let mut rows_done = 0u64;
    for wave in (0..groups).step_by(threads) {
        if wave == 0 {
            first_id(sink, &meta, &roots, projected[0])?;
        }
        let plan =
            Plan { projected, ids: &sink.ids, date_format: sink.options.date_format.as_deref() };
        outs.par_iter_mut().enumerate().try_for_each(|(t, out)| {
            let group = wave + t;
            if group >= groups {
                return Ok(());
            }
            for batch in reader(sink.path, &meta, &roots, vec![group])? {
                convert(&plan, &batch.map_err(|_| Declined)?, out)?;
            }
            Ok(())
        })?;
        for out in &mut outs {
            rows_done += out.len() as u64;
            sink.log.append(out);
        }
        sink.progress.set(sink.size * rows_done / total);
    }
    Ok(())
}

/// A reader of the columns `roots` of the row groups `groups` of the file at `path`.
fn reader(
    path: &str,
    meta: &ArrowReaderMetadata,
    roots: &[usize],
    groups: Vec<usize>,
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader, Declined> {
    let mask = ProjectionMask::roots(meta.parquet_schema(), roots.iter().copied());
    let file = File::open(path).map_err(|_| Declined)?;
    ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone())
        .with_projection(mask)
        .with_row_groups(groups)
        .with_batch_size(64 * 1024)
        .build()
        .map_err(|_| Declined)
}

/// The summary at `as_of` (the latest purchase for `None`) of the Parquet log of `sink`:
/// the row groups cut into one run of consecutive groups per thread, each run read into a
/// [`SummaryStream`], and the streams appended in file order, so that no transaction is held
/// past its batch.
///
/// # Errors
///
/// [`Declined`] for a file this pass does not read, or whose customers' purchases are not
/// in time order across it (see [`super::streamed`]); the caller reads it whole.
pub(super) fn summary(
    sink: &mut Sink<'_>,
    (as_of, options): (Option<NaiveDateTime>, SummaryOptions),
) -> Result<Streamed, Declined> {
    let file = File::open(sink.path).map_err(|_| Declined)?;
    let meta = ArrowReaderMetadata::load(&file, Default::default()).map_err(|_| Declined)?;
    let (roots, projected) = projection(sink, &meta)?;
    first_id(sink, &meta, &roots, projected[0])?;
    let groups = meta.metadata().num_row_groups();
    let total = meta.metadata().file_metadata().num_rows().max(1) as u64;
    let threads = rayon::current_num_threads().max(1);
    let plan = Plan { projected, ids: &sink.ids, date_format: sink.options.date_format.as_deref() };
    let done = std::sync::atomic::AtomicU64::new(0);
    let (path, progress, size) = (sink.path, &sink.progress, sink.size);
    let runs: Vec<Run> = (0..threads)
        .into_par_iter()
        .map(|t| {
            let mut run = Run::new(as_of, options);
            let groups: Vec<usize> = (groups * t / threads..groups * (t + 1) / threads).collect();
            if groups.is_empty() {
                return Ok(run);
            }
            let mut transactions = Vec::new();
            for batch in reader(path, &meta, &roots, groups)? {
                let batch = batch.map_err(|_| Declined)?;
                transactions.clear();
                convert(&plan, &batch, &mut transactions)?;
                run.push(&transactions)?;
                let rows = batch.num_rows() as u64;
                let all = done.fetch_add(rows, std::sync::atomic::Ordering::Relaxed) + rows;
                progress.set(size * all / total);
            }
            Ok(run)
        })
        .collect::<Result<_, Declined>>()?;
    sink.header_seen = true;
    join(runs, std::mem::take(&mut sink.ids).finish(&mut []))
}

/// The file's columns that are read (sorted, for the projection) and the positions of the
/// customer, date and amount columns among them.
fn projection(
    sink: &Sink<'_>,
    meta: &ArrowReaderMetadata,
) -> Result<(Vec<usize>, [usize; 3]), Declined> {
    let cols = columns(sink, meta.schema()).map_err(|_| Declined)?;
    let mut roots = cols.to_vec();
    roots.sort_unstable();
    roots.dedup();
    let at = |c: usize| roots.iter().position(|&r| r == c).unwrap_or(0);
    let projected = [at(cols[0]), at(cols[1]), at(cols[2])];
    Ok((roots, projected))
}

/// Sets the style of the ids from the file's first id.
fn first_id(
    sink: &mut Sink<'_>,
    meta: &ArrowReaderMetadata,
    roots: &[usize],
    column: usize,
) -> Result<(), Declined> {
    let file = File::open(sink.path).map_err(|_| Declined)?;
    let mask = ProjectionMask::roots(meta.parquet_schema(), roots.iter().copied());
    let mut reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone())
        .with_projection(mask)
        .with_batch_size(1)
        .with_limit(1)
        .build()
        .map_err(|_| Declined)?;
    let Some(batch) = reader.next() else { return Ok(()) };
    let batch = batch.map_err(|_| Declined)?;
    let ids = plain(batch.column(column)).map_err(|_| Declined)?;
    if ids.is_empty() || ids.is_null(0) {
        return Err(Declined);
    }
    let mut digits = [0u8; 20];
    let id = id_bytes(&ids, 0, &mut digits).ok_or(Declined)?;
    sink.ids.key(id.trim_ascii(), &mut []).ok_or(Declined)?;
    Ok(())
}

/// The rows of one batch into `out`.
fn convert(
    plan: &Plan<'_>,
    batch: &RecordBatch,
    out: &mut Vec<Transaction<Id>>,
) -> Result<(), Declined> {
    let [ids, dates, amounts] = plan.projected.map(|c| plain(batch.column(c)));
    let (ids, dates, amounts) =
        (ids.map_err(|_| Declined)?, dates.map_err(|_| Declined)?, amounts.map_err(|_| Declined)?);
    if ids.null_count() + dates.null_count() + amounts.null_count() > 0 {
        return Err(Declined);
    }
    let n = batch.num_rows();
    let keys = keys(plan.ids, &ids)?;
    let days = datetimes(plan, &dates)?;
    let money = decimals(&amounts)?;
    if keys.len() != n || days.len() != n || money.len() != n {
        return Err(Declined);
    }
    out.reserve(n);
    out.extend(
        keys.into_iter()
            .zip(days)
            .zip(money)
            .map(|((id, at), amount)| Transaction::new(id, at, amount)),
    );
    Ok(())
}

/// The key of every id of a column.
fn keys(ids: &Ids, a: &Arc<dyn Array>) -> Result<Vec<Id>, Declined> {
    // Trimmed as [`Sink::push_parsed`] trims it.
    let key = |raw: &[u8]| ids.numeric(raw.trim_ascii()).ok_or(Declined);
    match a.data_type() {
        DataType::Utf8 => {
            a.as_string::<i32>().iter().flatten().map(|s| key(s.as_bytes())).collect()
        }
        DataType::LargeUtf8 => {
            a.as_string::<i64>().iter().flatten().map(|s| key(s.as_bytes())).collect()
        }
        DataType::Utf8View => {
            a.as_string_view().iter().flatten().map(|s| key(s.as_bytes())).collect()
        }
        _ => {
            let mut digits = [0u8; 20];
            (0..a.len())
                .map(|i| {
                    let raw = id_bytes(a, i, &mut digits).ok_or(Declined)?;
                    ids.numeric(raw).ok_or(Declined)
                })
                .collect()
        }
    }
}

/// The id at `i` as text: its bytes, or an integer's decimal digits written into `digits`.
fn id_bytes<'a>(a: &'a dyn Array, i: usize, digits: &'a mut [u8; 20]) -> Option<&'a [u8]> {
    let v: i128 = match a.data_type() {
        DataType::Utf8 => return Some(a.as_string::<i32>().value(i).as_bytes()),
        DataType::LargeUtf8 => return Some(a.as_string::<i64>().value(i).as_bytes()),
        DataType::Utf8View => return Some(a.as_string_view().value(i).as_bytes()),
        DataType::Int32 => i128::from(a.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => i128::from(a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt32 => i128::from(a.as_primitive::<arrow_array::types::UInt32Type>().value(i)),
        DataType::UInt64 => i128::from(a.as_primitive::<arrow_array::types::UInt64Type>().value(i)),
        _ => return None,
    };
    // A negative id is text to the sequential reader: leave it there.
    let mut v = u64::try_from(v).ok()?;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    Some(&digits[at..])
}

/// The time of every value of a date column.
fn datetimes(plan: &Plan<'_>, a: &Arc<dyn Array>) -> Result<Vec<NaiveDateTime>, Declined> {
    if let DataType::Date32 = a.data_type() {
        // Days since 1970-01-01; 719,163 days from the first of the common era to then.
        // Neighbouring rows mostly share their day: the last one is converted once.
        let mut last: Option<(i32, NaiveDateTime)> = None;
        return a
            .as_primitive::<arrow_array::types::Date32Type>()
            .values()
            .iter()
            .map(|&d| match last {
                Some((day, at)) if day == d => Ok(at),
                _ => {
                    let at = d
                        .checked_add(719_163)
                        .and_then(NaiveDate::from_num_days_from_ce_opt)
                        .map(NaiveDate::into)
                        .ok_or(Declined)?;
                    last = Some((d, at));
                    Ok(at)
                }
            })
            .collect();
    }
    let zone = zone(a.data_type()).ok_or(Declined)?;
    (0..a.len())
        .map(|i| match date(a.as_ref(), zone, i) {
            Some(Ok(at)) => Ok(at),
            Some(Err(text)) => parse_date(text.as_bytes(), plan.date_format).ok_or(Declined),
            None => Err(Declined),
        })
        .collect()
}

/// The amount of every value of an amount column.
fn decimals(a: &Arc<dyn Array>) -> Result<Vec<Decimal>, Declined> {
    if let DataType::Float64 = a.data_type() {
        return a
            .as_primitive::<Float64Type>()
            .values()
            .iter()
            .map(|&v| {
                float_decimal(v)
                    .or_else(|| v.is_finite().then(|| v.to_string().parse().ok()).flatten())
                    .ok_or(Declined)
            })
            .collect();
    }
    (0..a.len())
        .map(|i| match amount(a.as_ref(), i) {
            Some(Ok(v)) => Ok(v),
            Some(Err(text)) => parse_amount(text.as_bytes()).ok_or(Declined),
            None => Err(Declined),
        })
        .collect()
}

/// The decimal of `v`'s shortest text when it has at most 9 decimals and its digits fit
/// below 2^53; `None` otherwise (and for `-0`, whose text keeps the sign).
fn float_decimal(v: f64) -> Option<Decimal> {
    if v == 0.0 {
        return v.is_sign_positive().then_some(Decimal::ZERO);
    }
    let mut scale = 1.0f64;
    for k in 0..=9u32 {
        let m = round(v * scale);
        if m.unsigned_abs() >= 1 << 53 {
            return None;
        }
        if m as f64 / scale == v {
            // Below 2^53 in magnitude, and not 0 (`v` is not): the parts straight, with the
            // inlined constructor (`Decimal::new` is called out of line).
            let abs = m.unsigned_abs();
            return Some(Decimal::from_parts(abs as u32, (abs >> 32) as u32, 0, m < 0, k));
        }
        scale *= 10.0;
    }
    None
}

/// `x` rounded half away from zero, as `f64::round` rounds, for `|x|` below 2^63 (beyond,
/// and for infinities and NaN, some integer of at least 2^53 in magnitude or 0, which the
/// caller refuses or finds unequal). `f64::round` is a call into libm on the baseline
/// x86-64, a tenth of the conversion of a float column.
fn round(x: f64) -> i64 {
    // Truncation toward zero (saturating beyond an i64, 0 for NaN).
    let t = x as i64;
    if t.unsigned_abs() >= 1 << 52 {
        // Every double of this size is an integer already.
        return t;
    }
    // Exact: `t` keeps `x`'s leading bits.
    let rest = x - t as f64;
    if rest >= 0.5 {
        t + 1
    } else if rest <= -0.5 {
        t - 1
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of row groups on 1 to 5 threads: the summary of the whole log, streamed (not
    /// declined); a customer out of time order across two groups is declined.
    #[test]
    fn runs_of_row_groups_stream_into_the_whole_log_s_summary() {
        use arrow_array::{ArrayRef, Int64Array, StringArray};
        use loyalty::rfm::{summarize, Period};
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, rows: &[(i64, String, &str)]| {
            let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0)));
            let dates: ArrayRef =
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.1)));
            let amounts: ArrayRef =
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2)));
            let b = RecordBatch::try_from_iter([
                ("customer_id", ids),
                ("date", dates),
                ("amount", amounts),
            ])
            .unwrap();
            let path = dir.path().join(name);
            write_groups(&path, &b, 7);
            path.to_str().unwrap().to_string()
        };
        let rows: Vec<(i64, String, &str)> = (0..100)
            .map(|i| {
                (
                    i % 13,
                    format!("2024-{:02}-{:02}", 1 + i / 28, 1 + i % 28),
                    ["1.5", "2", "0.25"][i as usize % 3],
                )
            })
            .collect();
        let path = write("ordered.parquet", &rows);
        let options = super::super::ReadOptions::default();
        let log = super::super::read(&path, &options).unwrap();
        let weekly = SummaryOptions::default().period(Period::WEEK);
        let whole = summarize(&log.transactions, log.last().unwrap(), weekly).unwrap();
        for threads in 1..=5 {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut sink = Sink::new(&path, &options, 0);
            let s = pool.install(|| summary(&mut sink, (None, weekly))).expect("streamed");
            assert_eq!(format!("{:?}", s.summary), format!("{whole:?}"), "{threads}");
            assert_eq!(s.first, log.first().unwrap());
        }
        // Customer 0's last purchase moved to the start: out of time order across groups.
        let mut late = rows.clone();
        let last = late.remove(91);
        late.insert(0, last);
        let path = write("late.parquet", &late);
        let mut sink = Sink::new(&path, &options, 0);
        assert!(summary(&mut sink, (None, weekly)).is_err());
        // Sums that may leave an `i64` at the finest scale are left to the whole read.
        let big = [
            (1, "2024-01-01".to_string(), "1000000000000000000"),
            (1, "2024-01-01".to_string(), "-1000000000000000000"),
            (2, "2024-01-02".to_string(), "0.0000000000000000000000000001"),
        ];
        let path = write("big.parquet", &big);
        let mut sink = Sink::new(&path, &options, 0);
        assert!(summary(&mut sink, (None, weekly)).is_err());
        let path = write("small.parquet", &big[1..]);
        let mut sink = Sink::new(&path, &options, 0);
        assert!(summary(&mut sink, (None, weekly)).is_err());
        let path = write(
            "cents.parquet",
            &[(1, "2024-01-01".into(), "-10.5"), (2, "2024-01-02".into(), "0.01")],
        );
        let mut sink = Sink::new(&path, &options, 0);
        assert!(summary(&mut sink, (None, weekly)).is_ok());
    }

    /// The decimal the sequential reader makes of a float: its shortest text, parsed.
    fn by_text(v: f64) -> Decimal {
        v.to_string().parse().unwrap()
    }

    #[test]
    fn floats_become_the_decimals_of_their_shortest_text() {
        for v in [11.77, 0.1, 0.3, 1.0, 100.0, 1e15, 123.456, -7.25, 0.000_000_001] {
            let d = float_decimal(v).unwrap_or_else(|| panic!("{v} declined"));
            assert_eq!((d, d.scale()), (by_text(v), by_text(v).scale()), "{v}");
        }
        // A 64-bit LCG's doubles at cents, mills and beyond, and raw bit patterns.
        let mut state = 42u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 11
        };
        for i in 0..200_000u64 {
            let r = next();
            let v = match i % 4 {
                0 => (r % 10_000_000) as f64 / 100.0,
                1 => -((r % 10_000_000) as f64) / 1000.0,
                2 => (r % 1_000_000_000_000) as f64 / 1e6,
                _ => f64::from_bits(r << 11) % 1e12,
            };
            if !v.is_finite() {
                continue;
            }
            if let Some(d) = float_decimal(v) {
                let t = by_text(v);
                assert_eq!((d, d.scale()), (t, t.scale()), "{v}");
            }
        }
        assert_eq!(float_decimal(-0.0), None);
        assert_eq!(float_decimal(0.0), Some(Decimal::ZERO));
        assert_eq!(float_decimal(1e300), None);
        assert_eq!(float_decimal(2.5e-10), None);
    }

    /// `round` is `f64::round` wherever the result is below 2^53, ties and signs included,
    /// and refuses (2^53 or more, or unequal) everything else.
    #[test]
    fn rounding_is_half_away_from_zero() {
        let two52 = 4_503_599_627_370_496.0f64;
        let mut cases = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.49999999999999994,
            -0.49999999999999994,
            two52 - 0.5,
            -(two52 - 0.5),
            two52,
            two52 + 1.0,
            2.0 * two52 - 1.0,
            1e19,
            -1e19,
            1e300,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e-300,
        ];
        let mut state = 7u64;
        for _ in 0..100_000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            cases.push(f64::from_bits(state) % 1e17);
            cases.push((state >> 40) as f64 / 8.0 - 1e6);
        }
        for x in cases {
            let (ours, theirs) = (round(x), x.round());
            if theirs.abs() < 2.0 * two52 {
                assert_eq!(ours as f64, theirs, "{x}");
            } else {
                assert!(ours.unsigned_abs() >= 1 << 53 || ours as f64 != x, "{x}");
            }
        }
    }

    #[test]
    fn integer_ids_are_their_digits() {
        let a = arrow_array::Int64Array::from(vec![0, 7, 1_234_567_890_123, -5]);
        let mut d = [0u8; 20];
        assert_eq!(id_bytes(&a, 0, &mut d), Some(&b"0"[..]));
        assert_eq!(id_bytes(&a, 1, &mut d), Some(&b"7"[..]));
        assert_eq!(id_bytes(&a, 2, &mut d), Some(&b"1234567890123"[..]));
        assert_eq!(id_bytes(&a, 3, &mut d), None);
    }

    /// Writes `batch` as Parquet in row groups of `group` rows.
    fn write_groups(path: &std::path::Path, batch: &RecordBatch, group: usize) {
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(group))
            .build();
        let file = File::create(path).unwrap();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        w.write(batch).unwrap();
        w.close().unwrap();
    }

    /// A log of `rows` rows in row groups of `group` rows: zero-padded text ids (or integer
    /// ids), Date32 days, float amounts at cents and mills; the same rows as the LCG gives.
    fn write_log(path: &std::path::Path, rows: usize, group: usize, text_ids: bool) {
        use arrow_array::{ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
        let mut state = 11u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        let (mut ids, mut days, mut amounts) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..rows {
            ids.push(next() % 5_000);
            days.push(19_000 + (next() % 730) as i32);
            let m = next() % 1_000_000;
            amounts.push(if i % 3 == 0 { m as f64 / 1000.0 } else { m as f64 / 100.0 });
        }
        let id: ArrayRef = if text_ids {
            Arc::new(StringArray::from_iter_values(ids.iter().map(|i| format!("{i:06}"))))
        } else {
            Arc::new(Int64Array::from(ids.iter().map(|&i| i as i64).collect::<Vec<_>>()))
        };
        let batch = RecordBatch::try_from_iter([
            ("amount", Arc::new(Float64Array::from(amounts)) as ArrayRef),
            ("customer_id", id),
            ("date", Arc::new(Date32Array::from(days)) as ArrayRef),
        ])
        .unwrap();
        write_groups(path, &batch, group);
    }

    #[test]
    fn row_groups_on_every_core_read_what_the_sequential_reader_reads() {
        let dir = tempfile::tempdir().unwrap();
        let o = super::super::ReadOptions::default();
        for (text_ids, group) in [(true, 7_000), (false, 30_000), (true, 1_000_000)] {
            let path = dir.path().join(format!("log_{text_ids}_{group}.parquet"));
            write_log(&path, 50_000, group, text_ids);
            let path = path.to_str().unwrap().to_string();
            let mut fast = Sink::new(&path, &o, 1);
            parquet(&mut fast).expect("read on every core");
            let fast = fast.finish().unwrap();
            let mut slow = Sink::new(&path, &o, 1);
            super::super::columnar::parquet(&mut slow).unwrap();
            let slow = slow.finish().unwrap();
            assert_eq!(fast.transactions.len(), 50_000);
            assert_eq!(fast.transactions, slow.transactions);
            // Decimal equality ignores the scale; the written digits do not.
            let scales = |l: &super::super::Log| -> Vec<(i128, u32)> {
                l.transactions.iter().map(|t| (t.amount.mantissa(), t.amount.scale())).collect()
            };
            assert_eq!(scales(&fast), scales(&slow));
            assert_eq!(fast.ids, slow.ids);
        }
    }
}
