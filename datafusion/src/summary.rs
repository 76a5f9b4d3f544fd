//! `rfm_summary(order_time, amount, as_of [, period [, options [, customer_id]]])`: the
//! library's per-customer summary as a SQL aggregate.
//!
//! Used with `GROUP BY customer_id`, one row per customer. An aggregate sees only its
//! arguments, never the `GROUP BY` key, so the optional last argument `customer_id` (the same
//! column as the key) is how a NULL customer id obeys the `nulls` option like a NULL order time
//! or amount: an error naming the argument, or the row skipped and counted.
//!
//! The partial state of a group is its transactions inside the engine's memory (24 bytes each:
//! the timestamp and the amount as an exact decimal), so partial states from any partitions
//! concatenate, and the final state of a customer holds all their transactions whatever the
//! order of the files. The row is then made by [`loyalty::rfm::summarize`] itself on that
//! customer's transactions, so every field equals the library's to the bit. (A state of
//! counters alone would not merge: the distinct purchase periods of two partitions overlap.)

use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, NaiveDateTime};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, LargeBinaryArray, StructArray,
    TimestampMicrosecondArray, UInt32Array, UInt64Array,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Field, FieldRef, Fields, Float64Type, Int64Type, TimeUnit,
    TimestampMicrosecondType,
};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use loyalty::rfm::{
    summarize, Cutoff, FirstPurchase, FrequencyCount, MonetaryMeasure, MonthLength,
    NegativeAmounts, Period, PeriodUnit, SummaryOptions, Transaction,
};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::args::{
    bad_arg, bad_type, check_count, coerce_text, coerce_time, constant, constant_text, library,
    options,
};

const NAME: &str = "rfm_summary";
const ARGS: [&str; 6] = ["order_time", "amount", "as_of", "period", "options", "customer_id"];
/// The position of the optional `customer_id` argument.
const CUSTOMER_ID: usize = 5;
const OPTIONS: [&str; 7] =
    ["first_purchase", "frequency", "monetary", "negative", "cutoff", "month_length", "nulls"];
/// Bytes of one transaction in a partial state: microseconds (i64) and a serialized `Decimal`.
const RECORD: usize = 24;
/// The period of `rfm_summary` without its `period` argument (lifetimes' `freq="D"`), and so
/// what the fit and scoring functions take a summary's columns to count when not told.
pub(crate) const DEFAULT_PERIOD: Period = Period::DAY;

/// The fields of the summary struct, in this order.
pub(crate) fn summary_fields() -> Fields {
    static FIELDS: LazyLock<Fields> = LazyLock::new(|| {
        let time = DataType::Timestamp(TimeUnit::Microsecond, None);
        Fields::from(vec![
            Field::new("frequency", DataType::UInt32, false),
            Field::new("recency", DataType::Float64, false),
            Field::new("t", DataType::Float64, false),
            Field::new("monetary_value", DataType::Float64, false),
            Field::new("recency_periods", DataType::UInt32, false),
            Field::new("t_periods", DataType::UInt32, false),
            Field::new("periods_since_last_purchase", DataType::UInt32, false),
            Field::new("purchase_periods", DataType::UInt32, false),
            Field::new("orders", DataType::UInt32, false),
            Field::new("total_spend", DataType::Float64, false),
            Field::new("first_purchase_amount", DataType::Float64, false),
            Field::new("first_purchase", time.clone(), false),
            Field::new("last_purchase", time, false),
            Field::new("excluded_after_as_of", DataType::UInt64, false),
            Field::new("negative_amounts", DataType::UInt64, false),
            Field::new("skipped_nulls", DataType::UInt64, false),
        ])
    });
    FIELDS.clone()
}

/// What to do with a NULL order time, amount or (when passed) customer id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nulls {
    /// Fail the query, naming the argument (the default: a NULL is usually a broken export).
    Error,
    /// Leave the row out and count it in the `skipped_nulls` field.
    Skip,
}

/// The constant arguments of one call.
#[derive(Clone, Copy, Debug)]
struct Config {
    as_of: NaiveDateTime,
    options: SummaryOptions,
    nulls: Nulls,
}

/// Parses a period such as `'day'`, `'week'`, `'2 weeks'` or `'24 hours'`.
fn parse_period(text: &str) -> Result<Period> {
    parse_period_for(NAME, "period", text)
}

/// [`parse_period`] for another function's argument.
pub(crate) fn parse_period_for(function: &str, argument: &str, text: &str) -> Result<Period> {
    let bad = |reason: &str| bad_arg(function, argument, format!("'{text}'"), reason);
    let lower = text.trim().to_ascii_lowercase();
    let mut words = lower.split_whitespace();
    let (multiple, unit) = match (words.next(), words.next(), words.next()) {
        (Some(unit), None, None) => (1, unit),
        (Some(n), Some(unit), None) => {
            (n.parse::<u32>().map_err(|_| bad("the multiple must be a positive integer"))?, unit)
        }
        _ => return Err(bad("expected a unit (hour, day, week, month), optionally after a count")),
    };
    let unit = match unit.trim_end_matches('s') {
        "hour" => PeriodUnit::Hour,
        "day" => PeriodUnit::Day,
        "week" => PeriodUnit::Week,
        "month" => PeriodUnit::Month,
        _ => return Err(bad("the unit must be hour, day, week or month")),
    };
    Period::new(unit, multiple).map_err(|e| bad(&e.to_string()))
}

/// Parses the options string onto the defaults (lifetimes' conventions, NULLs an error).
fn parse_options(text: &str, mut o: SummaryOptions) -> Result<(SummaryOptions, Nulls)> {
    let mut nulls = Nulls::Error;
    for (key, value) in options(NAME, text, &OPTIONS)? {
        let bad =
            || bad_arg(NAME, "options", format!("{key}={value}"), "unknown value for this option");
        o = match (key, value) {
            ("first_purchase", "excluded") => o.first_purchase(FirstPurchase::Excluded),
            ("first_purchase", "included") => o.first_purchase(FirstPurchase::Included),
            ("frequency", "periods") => o.frequency(FrequencyCount::Periods),
            ("frequency", "orders") => o.frequency(FrequencyCount::Orders),
            ("monetary", "mean") => o.monetary(MonetaryMeasure::Mean),
            ("monetary", "total") => o.monetary(MonetaryMeasure::Total),
            ("negative", "subtract") => o.negative_amounts(NegativeAmounts::Subtract),
            ("negative", "reject") => o.negative_amounts(NegativeAmounts::Reject),
            ("cutoff", "end_of_period") => o.cutoff(Cutoff::EndOfPeriod),
            ("cutoff", "instant") => o.cutoff(Cutoff::Instant),
            ("month_length", "mean_gregorian") => o.month_length(MonthLength::MeanGregorian),
            ("month_length", "calendar") => o.month_length(MonthLength::Calendar),
            ("nulls", "error") => {
                nulls = Nulls::Error;
                o
            }
            ("nulls", "skip") => {
                nulls = Nulls::Skip;
                o
            }
            _ => return Err(bad()),
        };
    }
    Ok((o, nulls))
}

/// A civil time from microseconds since 1970-01-01T00:00.
fn civil(micros: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc())
}

/// Microseconds since 1970-01-01T00:00 of a civil time (within chrono's range, always).
fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

impl Config {
    fn from_args(args: &AccumulatorArgs) -> Result<Config> {
        let exprs = args.exprs;
        check_count(NAME, exprs.len(), &ARGS, 3)?;
        let as_of = match constant(NAME, "as_of", &exprs[2], args.schema)? {
            ScalarValue::TimestampMicrosecond(Some(v), None) => civil(v)
                .ok_or_else(|| bad_arg(NAME, "as_of", v, "outside the supported calendar"))?,
            other => {
                return Err(bad_arg(NAME, "as_of", &other, "must be a non-NULL date or timestamp"))
            }
        };
        let period = match exprs.get(3) {
            Some(e) => match constant_text(NAME, "period", e, args.schema)? {
                Some(text) => parse_period(&text)?,
                None => return Err(bad_arg(NAME, "period", "NULL", "must be a period name")),
            },
            None => DEFAULT_PERIOD,
        };
        let defaults = SummaryOptions::default().period(period);
        let (options, nulls) = match exprs.get(4) {
            Some(e) => match constant_text(NAME, "options", e, args.schema)? {
                Some(text) => parse_options(&text, defaults)?,
                None => (defaults, Nulls::Error),
            },
            None => (defaults, Nulls::Error),
        };
        Ok(Config { as_of, options, nulls })
    }
}

/// What one input row contributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Read {
    /// Left out by the aggregate's `FILTER (WHERE ...)`.
    Filtered,
    /// A NULL order time, amount or customer id, skipped and counted.
    Null,
    /// A transaction: microseconds (little-endian `i64`) and `Decimal::serialize`.
    Record([u8; RECORD]),
}

impl Config {
    /// Reads and checks every row of a batch (order time, amount and, when passed, customer
    /// id) before anything changes.
    fn read(&self, values: &[ArrayRef], filter: Option<&BooleanArray>) -> Result<Vec<Read>> {
        let times = values[0].as_primitive::<TimestampMicrosecondType>();
        let amounts = &values[1];
        // Logical: a NULL literal's array and a dictionary's NULL values have no null buffer.
        let null_keys = values.get(CUSTOMER_ID).map(|k| k.logical_nulls());
        let reject = self.options.negative_amounts == NegativeAmounts::Reject;
        let mut out = Vec::with_capacity(times.len());
        for i in 0..times.len() {
            if filter.is_some_and(|f| !f.is_valid(i) || !f.value(i)) {
                out.push(Read::Filtered);
                continue;
            }
            let at = times.is_valid(i).then(|| times.value(i));
            // The key first: a row of no customer is skipped whatever its amount holds.
            let null_key = match &null_keys {
                Some(Some(nulls)) => nulls.is_null(i),
                _ => false,
            };
            let row = if null_key { None } else { at.zip(amount(amounts, i)?) };
            let Some((at, amount)) = row else {
                if self.nulls == Nulls::Skip {
                    out.push(Read::Null);
                    continue;
                }
                let which = if null_key {
                    "customer_id"
                } else if at.is_none() {
                    "order_time"
                } else {
                    "amount"
                };
                return Err(bad_arg(
                    NAME,
                    which,
                    "NULL",
                    "NULL in the log (filter it out, or pass the option nulls=skip to skip \
                     and count it)",
                ));
            };
            if civil(at).is_none() {
                return Err(bad_arg(NAME, "order_time", at, "outside the supported calendar"));
            }
            if reject && amount.is_sign_negative() && !amount.is_zero() {
                return Err(bad_arg(
                    NAME,
                    "amount",
                    amount,
                    "negative amounts are rejected by the option negative=reject",
                ));
            }
            let mut r = [0u8; RECORD];
            r[..8].copy_from_slice(&at.to_le_bytes());
            r[8..].copy_from_slice(&amount.serialize());
            out.push(Read::Record(r));
        }
        Ok(out)
    }
}

/// The aggregate function `rfm_summary`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct RfmSummary {
    signature: Signature,
}

impl RfmSummary {
    pub(crate) fn new() -> RfmSummary {
        RfmSummary { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl AggregateUDFImpl for RfmSummary {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_count(NAME, arg_types.len(), &ARGS, 3)?;
        let mut out = Vec::with_capacity(arg_types.len());
        out.push(coerce_time(NAME, "order_time", &arg_types[0], false)?);
        out.push(match &arg_types[1] {
            t @ DataType::Decimal128(_, s) if *s >= 0 => t.clone(),
            t if t.is_integer() => DataType::Int64,
            DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Null => {
                DataType::Float64
            }
            // Wider decimals (and negative scales) are exact in a DECIMAL(38, s) or refused.
            t => {
                return Err(bad_type(
                    NAME,
                    "amount",
                    t,
                    "a DECIMAL(p, s) with p <= 38 and s >= 0, an integer or a float",
                ))
            }
        });
        out.push(coerce_time(NAME, "as_of", &arg_types[2], true)?);
        for (i, t) in arg_types.iter().enumerate().skip(3) {
            out.push(if i == CUSTOMER_ID {
                // Any type of key: only whether it is NULL is read.
                t.clone()
            } else {
                coerce_text(NAME, ARGS[i], t)?
            });
        }
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(summary_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[transactions]", args.name),
                DataType::LargeBinary,
                false,
            )),
            Arc::new(Field::new(format!("{}[skipped_nulls]", args.name), DataType::UInt64, false)),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(OneGroup(Groups::new(Config::from_args(&args)?))))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(Groups::new(Config::from_args(&args)?)))
    }
}

/// The transactions of each group, packed, and the NULL rows skipped.
struct Groups {
    config: Config,
    records: Vec<Vec<u8>>,
    skipped: Vec<u64>,
}

/// The exact decimal of row `i` of an amount column (after coercion), or `None` for NULL.
fn amount(column: &ArrayRef, i: usize) -> Result<Option<Decimal>> {
    if column.is_null(i) {
        return Ok(None);
    }
    let d = match column.data_type() {
        DataType::Decimal128(_, scale) => {
            let v = column.as_primitive::<Decimal128Type>().value(i);
            let scale = u32::try_from(*scale).unwrap_or(u32::MAX);
            Decimal::try_from_i128_with_scale(v, scale).map_err(|_| {
                bad_arg(NAME, "amount", format!("{v}e-{scale}"), "beyond the range of a decimal")
            })?
        }
        DataType::Int64 => Decimal::from(column.as_primitive::<Int64Type>().value(i)),
        DataType::Float64 => {
            let v = column.as_primitive::<Float64Type>().value(i);
            // The shortest decimal that reads back as the same float: what a CSV file said.
            Decimal::from_str(&v.to_string()).map_err(|_| {
                bad_arg(NAME, "amount", v, "not a finite amount within the range of a decimal")
            })?
        }
        other => return Err(bad_type(NAME, "amount", other, "a decimal, integer or float")),
    };
    Ok(Some(d))
}

impl Groups {
    fn new(config: Config) -> Groups {
        Groups { config, records: Vec::new(), skipped: Vec::new() }
    }

    fn resize(&mut self, groups: usize) {
        if self.records.len() < groups {
            self.records.resize_with(groups, Vec::new);
            self.skipped.resize(groups, 0);
        }
    }

    /// One group's row of the struct, or `None` when none of its transactions is inside the
    /// window (lifetimes leaves such customers out).
    fn row(&self, records: &[u8], skipped: u64) -> Result<Option<Row>> {
        if records.is_empty() {
            return Ok(None);
        }
        let log: Vec<Transaction<()>> = records
            .chunks_exact(RECORD)
            .map(|r| {
                let mut t = [0u8; 8];
                t.copy_from_slice(&r[..8]);
                let mut a = [0u8; 16];
                a.copy_from_slice(&r[8..]);
                // Written by `update_batch` from valid times; checked again on merge.
                let at = civil(i64::from_le_bytes(t)).unwrap_or_default();
                Transaction::new((), at, Decimal::deserialize(a))
            })
            .collect();
        let summary = summarize(&log, self.config.as_of, self.config.options)
            .map_err(|e| library(NAME, e))?;
        let Some(r) = summary.rows().first() else { return Ok(None) };
        Ok(Some(Row {
            frequency: r.frequency(),
            recency: r.recency(),
            t: r.t(),
            monetary_value: r.clv_inputs().monetary_value,
            recency_periods: r.recency_periods(),
            t_periods: r.t_periods(),
            since_last: r.periods_since_last_purchase(),
            purchase_periods: r.purchase_periods(),
            orders: r.orders(),
            // A `Decimal` always converts (at most 7.9e28).
            total_spend: r.total_spend().to_f64().unwrap_or_default(),
            first_amount: r.first_purchase_amount().to_f64().unwrap_or_default(),
            first: micros(r.first_purchase()),
            last: micros(r.last_purchase()),
            excluded: summary.excluded_after_as_of(),
            negatives: summary.negative_amounts(),
            skipped,
        }))
    }
}

/// One customer's values, before they go into columns.
struct Row {
    frequency: u32,
    recency: f64,
    t: f64,
    monetary_value: f64,
    recency_periods: u32,
    t_periods: u32,
    since_last: u32,
    purchase_periods: u32,
    orders: u32,
    total_spend: f64,
    first_amount: f64,
    first: i64,
    last: i64,
    excluded: u64,
    negatives: u64,
    skipped: u64,
}

/// The struct column of rows (`None` rows are NULL).
fn struct_array(rows: &[Option<Row>]) -> Result<ArrayRef> {
    fn col<T, A: Array + 'static>(
        rows: &[Option<Row>],
        f: impl Fn(&Row) -> T,
        make: impl Fn(Vec<Option<T>>) -> A,
    ) -> ArrayRef {
        // NULL where the struct is NULL, so a field read from a NULL summary is NULL too.
        Arc::new(make(rows.iter().map(|r| r.as_ref().map(&f)).collect()))
    }
    let u32s = |f: fn(&Row) -> u32| col(rows, f, UInt32Array::from);
    let u64s = |f: fn(&Row) -> u64| col(rows, f, UInt64Array::from);
    let f64s = |f: fn(&Row) -> f64| col(rows, f, Float64Array::from);
    let times = |f: fn(&Row) -> i64| col(rows, f, TimestampMicrosecondArray::from);
    let columns: Vec<ArrayRef> = vec![
        u32s(|r| r.frequency),
        f64s(|r| r.recency),
        f64s(|r| r.t),
        f64s(|r| r.monetary_value),
        u32s(|r| r.recency_periods),
        u32s(|r| r.t_periods),
        u32s(|r| r.since_last),
        u32s(|r| r.purchase_periods),
        u32s(|r| r.orders),
        f64s(|r| r.total_spend),
        f64s(|r| r.first_amount),
        times(|r| r.first),
        times(|r| r.last),
        u64s(|r| r.excluded),
        u64s(|r| r.negatives),
        u64s(|r| r.skipped),
    ];
    let valid = NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>());
    let nulls = (valid.null_count() > 0).then_some(valid);
    Ok(Arc::new(StructArray::try_new(summary_fields(), columns, nulls)?))
}

impl GroupsAccumulator for Groups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        // Checked in full before any group changes: a failed batch leaves the state as it was.
        let staged = self.config.read(values, opt_filter)?;
        self.resize(total_num_groups);
        for (&g, record) in group_indices.iter().zip(staged) {
            match record {
                Read::Filtered => {}
                Read::Null => self.skipped[g] += 1,
                Read::Record(r) => self.records[g].extend_from_slice(&r),
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let records = emit_to.take_needed(&mut self.records);
        let skipped = emit_to.take_needed(&mut self.skipped);
        let rows = records
            .iter()
            .zip(&skipped)
            .map(|(r, &s)| self.row(r, s))
            .collect::<Result<Vec<_>>>()?;
        struct_array(&rows)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let records = emit_to.take_needed(&mut self.records);
        let skipped = emit_to.take_needed(&mut self.skipped);
        let records: LargeBinaryArray = records.iter().map(|r| Some(r.as_slice())).collect();
        Ok(vec![Arc::new(records), Arc::new(UInt64Array::from(skipped))])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let records = values[0].as_binary::<i64>();
        let skipped = values[1].as_primitive::<datafusion::arrow::datatypes::UInt64Type>();
        for i in 0..group_indices.len() {
            let r = records.value(i);
            let corrupt = r.len() % RECORD != 0
                || r.chunks_exact(RECORD).any(|c| {
                    let mut t = [0u8; 8];
                    t.copy_from_slice(&c[..8]);
                    // `Decimal::serialize`'s flags: zero low bytes, scale <= 28, sign bit.
                    civil(i64::from_le_bytes(t)).is_none()
                        || c[8] != 0
                        || c[9] != 0
                        || c[10] > 28
                        || c[11] & 0x7f != 0
                });
            if corrupt {
                return Err(DataFusionError::Internal(format!(
                    "{NAME}: a partial state of {} bytes is not a list of transactions",
                    r.len()
                )));
            }
        }
        for (i, &g) in group_indices.iter().enumerate() {
            self.records[g].extend_from_slice(records.value(i));
            self.skipped[g] += skipped.value(i);
        }
        Ok(())
    }

    /// Each row as a group of its own: DataFusion calls this when the partial aggregation does
    /// not reduce the rows (a log with many customers and few rows each), and sends every
    /// row's state straight to the final aggregation.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let staged = self.config.read(values, opt_filter)?;
        let records: LargeBinaryArray = staged
            .iter()
            .map(|r| Some(if let Read::Record(r) = r { r.as_slice() } else { &[] }))
            .collect();
        let skipped: UInt64Array = staged.iter().map(|r| u64::from(*r == Read::Null)).collect();
        Ok(vec![Arc::new(records), Arc::new(skipped)])
    }

    fn size(&self) -> usize {
        self.records.iter().map(Vec::capacity).sum::<usize>()
            + self.records.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.skipped.capacity() * 8
    }
}

/// The accumulator of one group (an aggregate without `GROUP BY`, or a window).
struct OneGroup(Groups);

impl std::fmt::Debug for OneGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneGroup").field("config", &self.0.config).finish_non_exhaustive()
    }
}

impl Accumulator for OneGroup {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let n = values.first().map_or(0, |v| v.len());
        self.0.update_batch(values, &vec![0; n], None, 1)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.0.resize(1);
        let rows = [self.0.row(&self.0.records[0], self.0.skipped[0])?];
        ScalarValue::try_from_array(&struct_array(&rows)?, 0)
    }

    fn size(&self) -> usize {
        self.0.size() + std::mem::size_of::<Self>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.0.resize(1);
        Ok(vec![
            ScalarValue::LargeBinary(Some(self.0.records[0].clone())),
            ScalarValue::UInt64(Some(self.0.skipped[0])),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let n = states.first().map_or(0, |v| v.len());
        self.0.merge_batch(states, &vec![0; n], 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_with_multiples() {
        assert_eq!(parse_period("day").unwrap(), Period::DAY);
        assert_eq!(parse_period(" Weeks ").unwrap(), Period::WEEK);
        assert_eq!(parse_period("24 hours").unwrap(), Period::new(PeriodUnit::Hour, 24).unwrap());
        let e = parse_period("fortnight").unwrap_err().to_string();
        assert!(e.contains("rfm_summary: argument period = 'fortnight'"), "{e}");
        assert!(parse_period("0 days").is_err());
        assert!(parse_period("-1 days").is_err());
    }

    #[test]
    fn a_null_customer_id_is_an_error_or_skipped_by_the_nulls_option() {
        let config =
            |nulls| Config { as_of: civil(0).unwrap(), options: SummaryOptions::default(), nulls };
        let times: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![1, 2, 3]));
        // Row 1 has no customer and an amount no decimal holds: the key decides first.
        let amounts: ArrayRef =
            Arc::new(Float64Array::from(vec![Some(1.5), Some(f64::NAN), Some(2.0)]));
        let keys: ArrayRef =
            Arc::new(datafusion::arrow::array::StringArray::from(vec![Some("a"), None, Some("b")]));
        let none: ArrayRef = Arc::new(datafusion::arrow::array::NullArray::new(3));
        let constants = [none.clone(), none.clone(), none.clone()];
        let args = |key: Option<&ArrayRef>| {
            let mut v = vec![times.clone(), amounts.clone()];
            v.extend(constants.iter().cloned());
            v.extend(key.cloned());
            v
        };
        let e = config(Nulls::Error).read(&args(Some(&keys)), None).unwrap_err().to_string();
        assert_eq!(
            e,
            "Execution error: rfm_summary: argument customer_id = NULL: NULL in the log \
             (filter it out, or pass the option nulls=skip to skip and count it)"
        );
        let read = config(Nulls::Skip).read(&args(Some(&keys)), None).unwrap();
        assert!(matches!(read[..], [Read::Record(_), Read::Null, Read::Record(_)]), "{read:?}");
        // A FILTER clause that leaves the row out comes before its key.
        let filter = BooleanArray::from(vec![true, false, true]);
        let read = config(Nulls::Error).read(&args(Some(&keys)), Some(&filter)).unwrap();
        assert!(matches!(read[..], [Read::Record(_), Read::Filtered, Read::Record(_)]));
        // `customer_id` given as a NULL literal: every row has no customer.
        let e = config(Nulls::Error).read(&args(Some(&none)), None).unwrap_err().to_string();
        assert!(e.contains("argument customer_id = NULL"), "{e}");
        // Without the argument the key is not read: the amount is the error, as before.
        let e = config(Nulls::Skip).read(&args(None), None).unwrap_err().to_string();
        assert!(e.contains("rfm_summary: argument amount = NaN"), "{e}");
    }

    #[test]
    fn options_set_the_summary_options() {
        let (o, nulls) = parse_options(
            "monetary=total, first_purchase=included, nulls=skip",
            Default::default(),
        )
        .unwrap();
        assert_eq!(o.monetary, MonetaryMeasure::Total);
        assert_eq!(o.first_purchase, FirstPurchase::Included);
        assert_eq!(nulls, Nulls::Skip);
        let e = parse_options("monetary=median", Default::default()).unwrap_err().to_string();
        assert!(e.contains("argument options = monetary=median"), "{e}");
    }
}
