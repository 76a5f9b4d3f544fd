//! `rfm_summary(order_time, amount, as_of [, period [, options [, customer_id]]])`: the
//! library's per-customer summary as a SQL aggregate.
//!
//! Used with `GROUP BY customer_id`, one row per customer. An aggregate sees only its
//! arguments, never the `GROUP BY` key, so the optional last argument `customer_id` (the same
//! column as the key) is how a NULL customer id obeys the `nulls` option like a NULL order time
//! or amount: an error naming the argument, or the row skipped and counted.
//!
//! The partial state of a group is its transactions inside the summary's window (24 bytes
//! each: the timestamp and the amount as an exact decimal) and the counts of what it skipped
//! or found after the window, so partial states from any partitions concatenate, and the final
//! state of a customer holds all their transactions whatever the order of the files. (A state
//! of counters alone would not merge: the distinct purchase periods of two partitions
//! overlap.) The accumulator holds every group's transactions in one list, tagged with the
//! group, and makes all its rows with one call of [`loyalty::rfm::summarize`] keyed by group,
//! so every field equals the library's to the bit and the rows cost what the library's
//! summary costs, not one small summary per customer.
//!
//! One cost of that design: the library's working memory for that call (about the size of
//! the held transactions again, at the end) is not reserved from DataFusion's memory pool.
//! Emits of the first `n` groups (`EmitTo::First`, which DataFusion uses for input declared
//! sorted on the grouping key) sort what is held by group once and then take prefixes, so a
//! run of them costs what they take.

use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, LargeBinaryArray, PrimitiveArray,
    StructArray, TimestampMicrosecondArray, UInt32Array, UInt64Array,
};
use datafusion::arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Field, FieldRef, Fields, Float64Type, Int64Type, TimeUnit,
    TimestampMicrosecondType, UInt64Type,
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
    /// The first microsecond after the window ([`SummaryOptions::window_end`], rounded up):
    /// a transaction at or after it is counted in `excluded_after_as_of` and not held.
    end: i64,
}

impl Config {
    fn new(as_of: NaiveDateTime, options: SummaryOptions, nulls: Nulls) -> Config {
        let end = options.window_end(as_of).map_or(i64::MAX, |e| {
            let whole = e.and_utc().timestamp_micros();
            // Up to the next microsecond: the order times are whole microseconds.
            whole.saturating_add(i64::from(e.and_utc().timestamp_subsec_nanos() % 1000 != 0))
        });
        Config { as_of, options, nulls, end }
    }
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

/// Whether the hour of `t`, counted from 0001-01-01T00 as the library counts hourly periods,
/// fits the `i32` the library holds it in (about years -245,000 to 245,000).
fn hour_fits(t: NaiveDateTime) -> bool {
    let hours = i64::from(t.date().num_days_from_ce()) * 24 + i64::from(t.hour());
    i32::try_from(hours).is_ok()
}

/// Microseconds in a day.
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// [`civil`] for a stream of times: the date of the last day is kept, since logs come in runs
/// of times on the same day and the calendar arithmetic is the costly part.
struct Civil {
    day: i64,
    date: NaiveDate,
}

impl Civil {
    fn new() -> Civil {
        Civil { day: 0, date: DateTime::UNIX_EPOCH.date_naive() }
    }

    /// The same as [`civil`]`(micros)`.
    #[inline]
    fn at(&mut self, micros: i64) -> Option<NaiveDateTime> {
        let day = micros.div_euclid(MICROS_PER_DAY);
        if day != self.day {
            // 719,163 days from 0001-01-01 (day 1) to 1970-01-01.
            let from_ce = i32::try_from(day.checked_add(719_163)?).ok()?;
            self.date = NaiveDate::from_num_days_from_ce_opt(from_ce)?;
            self.day = day;
        }
        let rem = micros.rem_euclid(MICROS_PER_DAY);
        // Below a day's seconds and a second's nanoseconds, so both fit a u32.
        let (secs, nanos) = ((rem / 1_000_000) as u32, (rem % 1_000_000) as u32 * 1000);
        Some(self.date.and_time(NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)?))
    }
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
        Ok(Config::new(as_of, options, nulls))
    }
}

/// What one input row contributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Read {
    /// Left out by the aggregate's `FILTER (WHERE ...)`.
    Filtered,
    /// A NULL order time, amount or customer id, skipped and counted.
    Null,
    /// A transaction after the summary's window, counted and dropped.
    After,
    /// A transaction inside the window: its time and exact amount.
    Inside(NaiveDateTime, Decimal),
}

/// An amount column after coercion, its type matched once a batch rather than once a row.
enum Amounts<'a> {
    Decimal(&'a PrimitiveArray<Decimal128Type>, u32),
    Int(&'a PrimitiveArray<Int64Type>),
    Float(&'a PrimitiveArray<Float64Type>),
}

impl<'a> Amounts<'a> {
    fn new(column: &'a ArrayRef) -> Result<Amounts<'a>> {
        Ok(match column.data_type() {
            DataType::Decimal128(_, scale) => Amounts::Decimal(
                column.as_primitive::<Decimal128Type>(),
                u32::try_from(*scale).unwrap_or(u32::MAX),
            ),
            DataType::Int64 => Amounts::Int(column.as_primitive::<Int64Type>()),
            DataType::Float64 => Amounts::Float(column.as_primitive::<Float64Type>()),
            other => return Err(bad_type(NAME, "amount", other, "a decimal, integer or float")),
        })
    }

    /// The exact decimal of row `i`, or `None` for NULL.
    fn get(&self, column: &ArrayRef, i: usize) -> Result<Option<Decimal>> {
        if column.is_null(i) {
            return Ok(None);
        }
        let d = match self {
            Amounts::Decimal(a, scale) => {
                let v = a.value(i);
                Decimal::try_from_i128_with_scale(v, *scale).map_err(|_| {
                    bad_arg(
                        NAME,
                        "amount",
                        format!("{v}e-{scale}"),
                        "beyond the range of a decimal",
                    )
                })?
            }
            Amounts::Int(a) => Decimal::from(a.value(i)),
            Amounts::Float(a) => {
                let v = a.value(i);
                // The shortest decimal that reads back as the same float: what a CSV file said.
                Decimal::from_str(&v.to_string()).map_err(|_| {
                    bad_arg(NAME, "amount", v, "not a finite amount within the range of a decimal")
                })?
            }
        };
        Ok(Some(d))
    }
}

impl Config {
    /// Reads and checks every row of a batch (order time, amount and, when passed, customer
    /// id) before anything changes.
    fn read(&self, values: &[ArrayRef], filter: Option<&BooleanArray>) -> Result<Vec<Read>> {
        let times = values[0].as_primitive::<TimestampMicrosecondType>();
        let amounts = Amounts::new(&values[1])?;
        // Logical: a NULL literal's array and a dictionary's NULL values have no null buffer.
        let null_keys = values.get(CUSTOMER_ID).map(|k| k.logical_nulls());
        let reject = self.options.negative_amounts == NegativeAmounts::Reject;
        let mut out = Vec::with_capacity(times.len());
        let mut civil = Civil::new();
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
            let row = if null_key { None } else { at.zip(amounts.get(&values[1], i)?) };
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
            let Some(time) = civil.at(at) else {
                return Err(bad_arg(NAME, "order_time", at, "outside the supported calendar"));
            };
            // Checked before the window, as the library does: a rejected refund is an error
            // wherever it lies.
            if reject && amount.is_sign_negative() && !amount.is_zero() {
                return Err(bad_arg(
                    NAME,
                    "amount",
                    amount,
                    "negative amounts are rejected by the option negative=reject",
                ));
            }
            // The library numbers hours from year 1 in an `i32` and refuses a transaction
            // beyond it wherever it lies; one after the window is not held here, so it is
            // checked here.
            if self.options.period.unit() == PeriodUnit::Hour && !hour_fits(time) {
                return Err(bad_arg(
                    NAME,
                    "order_time",
                    at,
                    "too far from year 0 for hourly periods",
                ));
            }
            out.push(if at < self.end { Read::Inside(time, amount) } else { Read::After });
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
            Arc::new(Field::new(
                format!("{}[excluded_after_as_of]", args.name),
                DataType::UInt64,
                false,
            )),
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

/// What a group counted and did not hold.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    skipped: u64,
    excluded: u64,
}

/// The transactions inside the window of every group, in one list in arrival order keyed by
/// the group (one append a row, where a list a group would pay an allocation and a cache miss
/// a row, and already the library's input), and each group's counts.
///
/// A held transaction's key is its group's index plus `offset`, the groups already emitted
/// by `EmitTo::First` since the last `EmitTo::All`: DataFusion numbers the groups left from
/// 0 again after such an emit, and keys that never change spare renumbering what is held.
/// `held[..cursor]` has been emitted; `held[cursor..sorted]` is in key order, so that each
/// `First` emit takes a prefix and a run of them costs what they take, not what is held.
struct Groups {
    config: Config,
    held: Vec<Transaction<u64>>,
    cursor: usize,
    sorted: usize,
    offset: u64,
    counts: Vec<Counts>,
}

/// The group of a held transaction (an index below the group count, so it fits a `usize`).
#[inline]
fn group(t: &Transaction<u64>) -> usize {
    t.customer as usize
}

impl Groups {
    fn new(config: Config) -> Groups {
        Groups { config, held: Vec::new(), cursor: 0, sorted: 0, offset: 0, counts: Vec::new() }
    }

    fn resize(&mut self, groups: usize) {
        if self.counts.len() < groups {
            self.counts.resize(groups, Counts::default());
        }
    }

    /// The key a transaction of group `group` (DataFusion's current index) is held under.
    fn key(&self, group: usize) -> u64 {
        group as u64 + self.offset
    }

    /// Takes the transactions and counts of the groups `emit_to` names, keyed by their index
    /// among them; the groups left are numbered from 0 again, as DataFusion numbers them
    /// after an emit.
    fn take(&mut self, emit_to: EmitTo) -> (Vec<Transaction<u64>>, Vec<Counts>) {
        let counts = emit_to.take_needed(&mut self.counts);
        let base = self.offset;
        let mut taken = match emit_to {
            EmitTo::All => {
                let live = if self.cursor == 0 {
                    std::mem::take(&mut self.held)
                } else {
                    let live = self.held.split_off(self.cursor);
                    self.held = Vec::new();
                    live
                };
                (self.cursor, self.sorted, self.offset) = (0, 0, 0);
                live
            }
            EmitTo::First(n) => {
                if self.sorted < self.held.len() {
                    // Stable, and quick on a sorted run followed by what came since.
                    self.held[self.cursor..].sort_by_key(|t| t.customer);
                    self.sorted = self.held.len();
                }
                let end = base + n as u64;
                let live = &self.held[self.cursor..];
                let k = live.partition_point(|t| t.customer < end);
                let first = live[..k].to_vec();
                self.cursor += k;
                self.offset = end;
                if self.cursor * 2 > self.held.len() {
                    self.held.drain(..self.cursor);
                    self.sorted -= self.cursor;
                    self.cursor = 0;
                }
                first
            }
        };
        if base > 0 {
            for t in &mut taken {
                t.customer -= base;
            }
        }
        (taken, counts)
    }

    /// The rows of groups `0..counts.len()`: one call of the library's [`summarize`] over
    /// all their transactions, keyed by group, so every field is the library's to the bit.
    /// A group none of whose transactions is inside the window has no row (lifetimes leaves
    /// such customers out).
    fn rows(&self, held: &[Transaction<u64>], counts: &[Counts]) -> Result<Vec<Option<Row>>> {
        let mut negatives = vec![0u64; counts.len()];
        for t in held {
            negatives[group(t)] += u64::from(t.amount.is_sign_negative() && !t.amount.is_zero());
        }
        let mut rows: Vec<Option<Row>> = counts.iter().map(|_| None).collect();
        if held.is_empty() {
            return Ok(rows);
        }
        let summary = summarize(held, self.config.as_of, self.config.options)
            .map_err(|e| library(NAME, e))?;
        for r in summary.rows() {
            // The keys are the groups' indices, below `counts.len()`.
            let g = usize::try_from(*r.customer()).unwrap_or(usize::MAX);
            let Some(slot) = rows.get_mut(g) else { continue };
            *slot = Some(Row {
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
                excluded: counts[g].excluded,
                negatives: negatives[g],
                skipped: counts[g].skipped,
            });
        }
        Ok(rows)
    }
}

/// The partial state of groups `0..counts.len()`: each group's transactions as one binary
/// value of 24-byte records (gathered by a counting sort on the group), its skipped NULLs
/// and its transactions after the window.
fn state_arrays(held: &[Transaction<u64>], counts: &[Counts]) -> Result<Vec<ArrayRef>> {
    let mut offsets = vec![0i64; counts.len() + 1];
    for t in held {
        offsets[group(t) + 1] += RECORD as i64;
    }
    for g in 0..counts.len() {
        offsets[g + 1] += offsets[g];
    }
    // The offsets are byte positions in `values`, so they fit a `usize`.
    let mut next: Vec<usize> = offsets.iter().map(|&o| o as usize).collect();
    let mut values = vec![0u8; held.len() * RECORD];
    for t in held {
        let at = &mut next[group(t)];
        values[*at..*at + 8].copy_from_slice(&micros(t.at).to_le_bytes());
        values[*at + 8..*at + RECORD].copy_from_slice(&t.amount.serialize());
        *at += RECORD;
    }
    let records = LargeBinaryArray::try_new(
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Buffer::from_vec(values),
        None,
    )?;
    let skipped: UInt64Array = counts.iter().map(|c| Some(c.skipped)).collect();
    let excluded: UInt64Array = counts.iter().map(|c| Some(c.excluded)).collect();
    Ok(vec![Arc::new(records), Arc::new(skipped), Arc::new(excluded)])
}

/// The transaction of one 24-byte record of a partial state, or `None` when the bytes are
/// not one (a state from elsewhere than [`state_arrays`]).
fn record(bytes: &[u8], civil: &mut Civil) -> Option<(NaiveDateTime, Decimal)> {
    let at = i64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let amount: [u8; 16] = bytes.get(8..RECORD)?.try_into().ok()?;
    // `Decimal::serialize`'s flags: zero low bytes, scale <= 28, sign bit.
    let flags_ok = amount[0] == 0 && amount[1] == 0 && amount[2] <= 28 && amount[3] & 0x7f == 0;
    let at = civil.at(at)?;
    flags_ok.then(|| (at, Decimal::deserialize(amount)))
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
        for (&group, read) in group_indices.iter().zip(staged) {
            match read {
                Read::Filtered => {}
                Read::Null => self.counts[group].skipped += 1,
                Read::After => self.counts[group].excluded += 1,
                Read::Inside(at, amount) => {
                    self.held.push(Transaction::new(self.key(group), at, amount));
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let (held, counts) = self.take(emit_to);
        struct_array(&self.rows(&held, &counts)?)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (held, counts) = self.take(emit_to);
        state_arrays(&held, &counts)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        let records = values[0].as_binary::<i64>();
        let skipped = values[1].as_primitive::<UInt64Type>();
        let excluded = values[2].as_primitive::<UInt64Type>();
        // Appended straight to the held list and cut back on a bad record, so that a failed
        // batch leaves the state as it was without a staging copy of every transaction.
        let before = self.held.len();
        // The bytes of this array's values, not of a buffer a slice of it may share.
        let offsets = records.value_offsets();
        let bytes = offsets.last().copied().unwrap_or(0) - offsets.first().copied().unwrap_or(0);
        self.held.reserve(usize::try_from(bytes).unwrap_or(0) / RECORD);
        let mut civil = Civil::new();
        for (i, &group) in group_indices.iter().enumerate() {
            let r = records.value(i);
            let key = self.key(group);
            let read = (r.len() % RECORD == 0).then_some(()).and_then(|()| {
                r.chunks_exact(RECORD).try_for_each(|c| {
                    let (at, amount) = record(c, &mut civil)?;
                    self.held.push(Transaction::new(key, at, amount));
                    Some(())
                })
            });
            if read.is_none() {
                self.held.truncate(before);
                return Err(corrupt(r.len()));
            }
        }
        self.resize(total_num_groups);
        for (i, &g) in group_indices.iter().enumerate() {
            self.counts[g].skipped += skipped.value(i);
            self.counts[g].excluded += excluded.value(i);
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
        let mut held = Vec::with_capacity(staged.len());
        let mut counts = vec![Counts::default(); staged.len()];
        for (group, read) in staged.into_iter().enumerate() {
            match read {
                Read::Filtered => {}
                Read::Null => counts[group].skipped = 1,
                Read::After => counts[group].excluded = 1,
                Read::Inside(at, amount) => held.push(Transaction::new(group as u64, at, amount)),
            }
        }
        state_arrays(&held, &counts)
    }

    fn size(&self) -> usize {
        self.held.capacity() * std::mem::size_of::<Transaction<u64>>()
            + self.counts.capacity() * std::mem::size_of::<Counts>()
    }
}

/// The error for a partial state that is not one [`state_arrays`] wrote.
fn corrupt(len: usize) -> DataFusionError {
    DataFusionError::Internal(format!(
        "{NAME}: a partial state of {len} bytes is not a list of transactions"
    ))
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
        let rows = self.0.rows(&self.0.held, &self.0.counts)?;
        ScalarValue::try_from_array(&struct_array(&rows)?, 0)
    }

    fn size(&self) -> usize {
        self.0.size() + std::mem::size_of::<Self>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.0.resize(1);
        state_arrays(&self.0.held, &self.0.counts)?
            .iter()
            .map(|a| ScalarValue::try_from_array(a, 0))
            .collect()
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
        // The times below (1 to 3 microseconds) are inside the window.
        let config = |nulls| Config::new(civil(0).unwrap(), SummaryOptions::default(), nulls);
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
        assert!(matches!(read[..], [Read::Inside(..), Read::Null, Read::Inside(..)]), "{read:?}");
        // A FILTER clause that leaves the row out comes before its key.
        let filter = BooleanArray::from(vec![true, false, true]);
        let read = config(Nulls::Error).read(&args(Some(&keys)), Some(&filter)).unwrap();
        assert!(matches!(read[..], [Read::Inside(..), Read::Filtered, Read::Inside(..)]));
        // `customer_id` given as a NULL literal: every row has no customer.
        let e = config(Nulls::Error).read(&args(Some(&none)), None).unwrap_err().to_string();
        assert!(e.contains("argument customer_id = NULL"), "{e}");
        // Without the argument the key is not read: the amount is the error, as before.
        let e = config(Nulls::Skip).read(&args(None), None).unwrap_err().to_string();
        assert!(e.contains("rfm_summary: argument amount = NaN"), "{e}");
    }

    #[test]
    fn the_day_cache_reads_every_time_as_chrono_does() {
        let mut c = Civil::new();
        let edges = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let random = (0..20_000).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // From beyond chrono's range down to days around 1970.
            (x as i64) >> (x % 24)
        });
        for m in edges.into_iter().chain(random) {
            for m in [m, m.saturating_add(1), m.saturating_sub(MICROS_PER_DAY)] {
                assert_eq!(c.at(m), civil(m), "{m}");
            }
        }
    }

    #[test]
    fn groups_emit_in_parts_count_what_they_drop_and_merge_their_states() {
        let day = |d: i64| 1_577_836_800_000_000 + d * 86_400_000_000; // 2020-01-01 + d days
        let config = Config::new(civil(day(9)).unwrap(), SummaryOptions::default(), Nulls::Skip);
        let times: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
            Some(day(0)),
            Some(day(2)),
            Some(day(0)),
            Some(day(20)),
            Some(day(1)),
            Some(day(3)),
            None,
        ]));
        let amounts: ArrayRef = Arc::new(
            datafusion::arrow::array::Decimal128Array::from(vec![100, 250, 300, 400, -50, 700, 1])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        );
        let mut g = Groups::new(config);
        g.update_batch(&[times, amounts], &[0, 0, 1, 1, 2, 2, 2], None, 3).unwrap();
        assert_eq!(g.held.len(), 5, "the transaction after the window is counted, not held");

        // The first group leaves as a partial state; the others are numbered from 0 again.
        let state = state_arrays(&g.take(EmitTo::First(1)).0, &[Counts::default()]).unwrap();
        assert_eq!(state[0].as_binary::<i64>().value(0).len(), 2 * RECORD);
        let (held, counts) = g.take(EmitTo::All);
        let rows = g.rows(&held, &counts).unwrap();
        let [Some(a), Some(b)] = &rows[..] else { panic!("two rows") };
        assert_eq!((a.frequency, a.orders, a.excluded, a.negatives, a.skipped), (0, 1, 1, 0, 0));
        assert_eq!((b.frequency, b.orders, b.excluded, b.negatives, b.skipped), (1, 2, 0, 1, 1));
        assert_eq!((b.recency, b.t, b.monetary_value), (2.0, 8.0, 7.0));

        // Merged into another accumulator, the state makes the first group's row.
        let mut h = Groups::new(config);
        h.merge_batch(&state, &[0], 1).unwrap();
        let [Some(r)] = &h.rows(&h.held, &h.counts).unwrap()[..] else { panic!("one row") };
        assert_eq!((r.frequency, r.recency, r.t, r.monetary_value), (1, 2.0, 9.0, 2.5));

        // A state that is not a list of records is refused and changes nothing, even after a
        // good value in the same batch.
        let good = state[0].as_binary::<i64>().value(0);
        let bad: ArrayRef =
            Arc::new(LargeBinaryArray::from(vec![good, &[0u8; RECORD - 1][..], good]));
        let zeros: ArrayRef = Arc::new(UInt64Array::from(vec![0, 0, 0]));
        let e = h.merge_batch(&[bad, zeros.clone(), zeros], &[0, 0, 0], 1).unwrap_err();
        let e = e.to_string();
        assert!(e.contains("a partial state of 23 bytes is not a list of transactions"), "{e}");
        assert_eq!(h.held.len(), 2);
    }

    #[test]
    fn a_time_beyond_the_hourly_calendar_is_refused_as_the_library_refuses_it() {
        let as_of = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let far = NaiveDate::from_ymd_opt(250_000, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let hourly = SummaryOptions::default().period(Period::new(PeriodUnit::Hour, 1).unwrap());
        let log = [Transaction::new(1u64, far, Decimal::ONE)];
        let library = summarize(&log, as_of, hourly).unwrap_err().to_string();
        assert!(library.contains("too far from year 0 for hourly periods"), "{library}");
        let times: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![micros(far)]));
        let amounts: ArrayRef = Arc::new(Float64Array::from(vec![1.0]));
        let config = Config::new(as_of, hourly, Nulls::Error);
        let e = config.read(&[times.clone(), amounts.clone()], None).unwrap_err().to_string();
        assert!(e.contains("argument order_time") && e.contains("too far from year 0"), "{e}");
        // Daily periods have no such limit: the transaction is after the window, counted.
        let config = Config::new(as_of, SummaryOptions::default(), Nulls::Error);
        assert_eq!(config.read(&[times, amounts], None).unwrap(), [Read::After]);
    }

    /// The fields of a row that tell rows apart, floats by their bits.
    fn fields(r: &Option<Row>) -> Option<[u64; 9]> {
        r.as_ref().map(|r| {
            [
                u64::from(r.frequency),
                r.recency.to_bits(),
                r.t.to_bits(),
                r.monetary_value.to_bits(),
                u64::from(r.orders),
                r.total_spend.to_bits(),
                r.excluded,
                r.negatives,
                r.skipped,
            ]
        })
    }

    #[test]
    fn a_run_of_first_emits_gives_the_rows_one_emit_of_all_gives() {
        let day = |d: u64| 1_577_836_800_000_000 + d as i64 * 86_400_000_000;
        let config = Config::new(civil(day(60)).unwrap(), SummaryOptions::default(), Nulls::Skip);
        // 40 groups of 1 to 5 transactions over 70 days (some after the window), refunds too.
        let mut x = 7u64;
        let mut log = Vec::new();
        for g in 0..40usize {
            for _ in 0..=g % 5 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                log.push((g, day((x >> 33) % 70), ((x >> 40) % 5000) as i128 - 500));
            }
        }
        let batch = |rows: &[&(usize, i64, i128)], shift: usize| {
            let times: ArrayRef =
                Arc::new(TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.1)));
            let amounts: ArrayRef = Arc::new(
                datafusion::arrow::array::Decimal128Array::from_iter_values(
                    rows.iter().map(|r| r.2),
                )
                .with_precision_and_scale(10, 2)
                .unwrap(),
            );
            (vec![times, amounts], rows.iter().map(|r| r.0 - shift).collect::<Vec<_>>())
        };
        let mut all = Groups::new(config);
        let (values, groups) = batch(&log.iter().collect::<Vec<_>>(), 0);
        all.update_batch(&values, &groups, None, 40).unwrap();
        let (held, counts) = all.take(EmitTo::All);
        let expected: Vec<_> = all.rows(&held, &counts).unwrap().iter().map(fields).collect();
        assert!(expected.iter().any(|r| r.is_some_and(|f| f[6] > 0 && f[7] > 0)));

        // As a stream sorted on the key sends them: groups 12 to 15 get rows after the first
        // emit too, and every emit renumbers the groups left from 0.
        let (one, two): (Vec<_>, Vec<_>) =
            log.iter().enumerate().partition(|(i, r)| r.0 < 12 || (r.0 < 16 && i % 2 == 0));
        let one: Vec<_> = one.into_iter().map(|(_, r)| r).collect();
        let two: Vec<_> = two.into_iter().map(|(_, r)| r).collect();
        let mut g = Groups::new(config);
        let mut got = Vec::new();
        let (values, groups) = batch(&one, 0);
        g.update_batch(&values, &groups, None, 16).unwrap();
        let mut emit = |g: &mut Groups, to| {
            let (held, counts) = g.take(to);
            got.extend(g.rows(&held, &counts).unwrap().iter().map(fields));
        };
        emit(&mut g, EmitTo::First(12));
        let (values, groups) = batch(&two, 12);
        g.update_batch(&values, &groups, None, 28).unwrap();
        emit(&mut g, EmitTo::First(3));
        emit(&mut g, EmitTo::First(5));
        emit(&mut g, EmitTo::All);
        assert_eq!(got, expected);
        assert!(g.held.is_empty() && (g.cursor, g.sorted, g.offset) == (0, 0, 0));
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
