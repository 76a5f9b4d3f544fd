//! The model fits as SQL aggregates: `bgnbd_fit`, `mbgnbd_fit`, `pareto_nbd_fit` over
//! `(frequency, recency, t [, options])` and `gamma_gamma_fit` over
//! `(frequency, monetary_value [, options])`.
//!
//! The partial state of a purchase-model fit is the library's mergeable
//! [`Histogram`](loyalty::clv::Histogram) of `(x, t_x, T)` patterns, so partitions summarise
//! their customers apart and the final step fits the merged histogram, which equals fitting
//! every row at once. Gamma-Gamma's state is the list of its repeat buyers' `(x, m_x)`. The
//! result is a struct: the model's name, its parameters, their standard errors, the
//! log-likelihood and how the optimiser converged (a fit that does not converge is an error,
//! never a start point returned as an estimate), and its `status`: `converged` at an interior
//! optimum, or `boundary` when the optimum lies at the boundary of the parameter space
//! (`boundary_parameters` names the parameters the data do not identify, comma-separated,
//! and the standard errors are null).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, LargeBinaryArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, UInt64Type};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};
use loyalty::clv::{
    BgNbd, Customer, Fit, FitOptions, FitStatus, GammaGamma, Histogram, MbgNbd, Method, ParetoNbd,
    Pattern,
};

use crate::args::{
    bad_arg, check_count, coerce_f64, coerce_text, constant_text, library, library_arg, options,
};

/// Which model an aggregate fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Model {
    BgNbd,
    MbgNbd,
    ParetoNbd,
    GammaGamma,
}

impl Model {
    /// The name of the model in the result's `model` field.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Model::BgNbd => "bgnbd",
            Model::MbgNbd => "mbgnbd",
            Model::ParetoNbd => "pareto_nbd",
            Model::GammaGamma => "gamma_gamma",
        }
    }

    /// The model of a `model` field.
    pub(crate) fn from_key(key: &str) -> Option<Model> {
        [Model::BgNbd, Model::MbgNbd, Model::ParetoNbd, Model::GammaGamma]
            .into_iter()
            .find(|m| m.key() == key)
    }

    /// The parameter names, as the library and lifetimes name them.
    pub(crate) fn params(self) -> &'static [&'static str] {
        match self {
            Model::BgNbd | Model::MbgNbd => &["r", "alpha", "a", "b"],
            Model::ParetoNbd => &["r", "alpha", "s", "beta"],
            Model::GammaGamma => &["p", "q", "v"],
        }
    }

    fn function(self) -> &'static str {
        match self {
            Model::BgNbd => "bgnbd_fit",
            Model::MbgNbd => "mbgnbd_fit",
            Model::ParetoNbd => "pareto_nbd_fit",
            Model::GammaGamma => "gamma_gamma_fit",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            Model::GammaGamma => &["frequency", "monetary_value", "options"],
            _ => &["frequency", "recency", "t", "options"],
        }
    }

    /// The fields of the result struct.
    fn fields(self) -> Fields {
        let mut fields = vec![Field::new("model", DataType::Utf8, false)];
        for p in self.params() {
            fields.push(Field::new(*p, DataType::Float64, false));
        }
        // Null for a fit at the boundary of the parameter space, where they are undefined.
        for p in self.params() {
            fields.push(Field::new(format!("se_{p}"), DataType::Float64, true));
        }
        fields.extend([
            Field::new("log_likelihood", DataType::Float64, false),
            Field::new("iterations", DataType::UInt64, false),
            Field::new("method", DataType::Utf8, false),
            Field::new("converged", DataType::Boolean, false),
            Field::new("status", DataType::Utf8, false),
            Field::new("boundary_parameters", DataType::Utf8, false),
            Field::new("customers", DataType::UInt64, false),
            Field::new("skipped_nulls", DataType::UInt64, false),
        ]);
        Fields::from(fields)
    }
}

/// A fit aggregate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct FitUdaf {
    model: Model,
    signature: Signature,
}

impl FitUdaf {
    pub(crate) fn new(model: Model) -> FitUdaf {
        FitUdaf { model, signature: Signature::user_defined(Volatility::Immutable) }
    }
}

/// Parses `'penalizer=0.001, max_iterations=500, tolerance=1e-8'`.
fn parse_fit_options(function: &str, text: &str) -> Result<FitOptions> {
    let mut o = FitOptions::default();
    for (key, value) in options(function, text, &["penalizer", "max_iterations", "tolerance"])? {
        let bad = |reason: &str| bad_arg(function, "options", format!("{key}={value}"), reason);
        o = match key {
            "penalizer" => {
                let v: f64 = value.parse().map_err(|_| bad("must be a number"))?;
                if !(v.is_finite() && v >= 0.0) {
                    return Err(bad("must be finite and >= 0"));
                }
                o.penalizer(v)
            }
            "max_iterations" => {
                let v: usize = value.parse().map_err(|_| bad("must be a positive integer"))?;
                if v == 0 {
                    return Err(bad("must be at least 1"));
                }
                o.max_iterations(v)
            }
            _ => {
                let v: f64 = value.parse().map_err(|_| bad("must be a number"))?;
                if !(v.is_finite() && v > 0.0) {
                    return Err(bad("must be finite and > 0"));
                }
                o.tolerance(v)
            }
        };
    }
    Ok(o)
}

impl AggregateUDFImpl for FitUdaf {
    fn name(&self) -> &str {
        self.model.function()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (f, names) = (self.model.function(), self.model.args());
        check_count(f, arg_types.len(), names, names.len() - 1)?;
        arg_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if i == names.len() - 1 {
                    coerce_text(f, names[i], t)
                } else {
                    coerce_f64(f, names[i], t)
                }
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(self.model.fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let state =
            |what: &str, t| Arc::new(Field::new(format!("{}[{what}]", args.name), t, false));
        Ok(vec![
            state("histogram", DataType::LargeBinary),
            state("customers", DataType::UInt64),
            state("skipped_nulls", DataType::UInt64),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let (f, names) = (self.model.function(), self.model.args());
        let options = match args.exprs.get(names.len() - 1) {
            Some(e) => match constant_text(f, "options", e, args.schema)? {
                Some(text) => parse_fit_options(f, &text)?,
                None => FitOptions::default(),
            },
            None => FitOptions::default(),
        };
        Ok(Box::new(FitAccumulator {
            model: self.model,
            options,
            histogram: Histogram::from_patterns(Vec::new(), TABLE_PERIOD)
                .map_err(|e| library(self.model.function(), e))?,
            spend: Vec::new(),
            customers: 0,
            skipped: 0,
        }))
    }
}

/// The state of one fit: the histogram (purchase models) or the repeat buyers (Gamma-Gamma),
/// the rows counted and the NULL rows skipped.
#[derive(Debug)]
struct FitAccumulator {
    model: Model,
    options: FitOptions,
    histogram: Histogram,
    spend: Vec<(f64, f64)>,
    customers: u64,
    skipped: u64,
}

/// The period label of a fit's rows. SQL columns carry no unit: recency and T are counts of
/// the table's own periods, and a fitted model's parameters are per that period, whatever it
/// is. The fit labels them with one period so the library's checks pair like with like (days,
/// `rfm_summary`'s and the scoring functions' default); the scoring functions read horizons in the same table
/// periods, and `clv`'s `period` option says what that period is.
const TABLE_PERIOD: loyalty::rfm::Period = crate::summary::DEFAULT_PERIOD;

/// Bytes of a histogram pattern in the state: x (u32), t_x, T (f64) and the count (u64).
const PATTERN: usize = 28;
/// Bytes of a repeat buyer in the state: x and m_x (f64).
const BUYER: usize = 16;

impl FitAccumulator {
    fn function(&self) -> &'static str {
        self.model.function()
    }

    /// The error of the library for a bad row, as the function's argument error.
    fn row_error(&self, e: loyalty::Error) -> DataFusionError {
        library_arg(self.function(), e)
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.model == Model::GammaGamma {
            for (x, m) in &self.spend {
                out.extend_from_slice(&x.to_le_bytes());
                out.extend_from_slice(&m.to_le_bytes());
            }
        } else {
            for p in self.histogram.patterns() {
                out.extend_from_slice(&p.frequency.to_le_bytes());
                out.extend_from_slice(&p.recency.to_le_bytes());
                out.extend_from_slice(&p.t.to_le_bytes());
                out.extend_from_slice(&p.count.to_le_bytes());
            }
        }
        out
    }

    fn decode_merge(&mut self, bytes: &[u8]) -> Result<()> {
        let f64_at = |b: &[u8], i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            f64::from_le_bytes(a)
        };
        let corrupt = |n: usize| {
            DataFusionError::Internal(format!(
                "{}: a partial state of {n} bytes is not a fit state",
                self.function()
            ))
        };
        if self.model == Model::GammaGamma {
            if !bytes.len().is_multiple_of(BUYER) {
                return Err(corrupt(bytes.len()));
            }
            self.spend.extend(bytes.chunks_exact(BUYER).map(|c| (f64_at(c, 0), f64_at(c, 8))));
        } else {
            if !bytes.len().is_multiple_of(PATTERN) {
                return Err(corrupt(bytes.len()));
            }
            let patterns: Vec<Pattern> = bytes
                .chunks_exact(PATTERN)
                .map(|c| {
                    let mut x = [0u8; 4];
                    x.copy_from_slice(&c[..4]);
                    let mut n = [0u8; 8];
                    n.copy_from_slice(&c[20..28]);
                    Pattern {
                        frequency: u32::from_le_bytes(x),
                        recency: f64_at(c, 4),
                        t: f64_at(c, 12),
                        count: u64::from_le_bytes(n),
                    }
                })
                .collect();
            // Validated again: a state read back is checked like any input.
            let part =
                Histogram::from_patterns(patterns, TABLE_PERIOD).map_err(|e| self.row_error(e))?;
            self.histogram = self.histogram.merge(&part).map_err(|e| self.row_error(e))?;
        }
        Ok(())
    }
}

impl Accumulator for FitAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let columns: Vec<_> = values
            .iter()
            .take(if self.model == Model::GammaGamma { 2 } else { 3 })
            .map(|v| v.as_primitive::<Float64Type>())
            .collect();
        let n = columns.first().map_or(0, |c| c.len());
        let mut rows = Vec::with_capacity(n);
        let mut skipped = 0;
        for i in 0..n {
            if columns.iter().any(|c| c.is_null(i)) {
                skipped += 1;
                continue;
            }
            let v: Vec<f64> = columns.iter().map(|c| c.value(i)).collect();
            rows.push(v);
        }
        // Checked in full before the state changes.
        if self.model == Model::GammaGamma {
            let mut buyers = Vec::new();
            for v in &rows {
                let c = Customer {
                    frequency: v[0],
                    recency: 0.0,
                    t: v[0],
                    monetary_value: v[1],
                    period: TABLE_PERIOD,
                };
                c.validate().map_err(|e| self.row_error(e))?;
                if v[0] > 0.0 {
                    if !(v[1].is_finite() && v[1] > 0.0) {
                        return Err(bad_arg(
                            self.function(),
                            "monetary_value",
                            v[1],
                            "must be finite and > 0 for a repeat buyer",
                        ));
                    }
                    buyers.push((v[0], v[1]));
                }
            }
            self.spend.extend(buyers);
        } else if !rows.is_empty() {
            let customers: Vec<Customer> = rows
                .iter()
                .map(|v| Customer {
                    frequency: v[0],
                    recency: v[1],
                    t: v[2],
                    monetary_value: 0.0,
                    period: TABLE_PERIOD,
                })
                .collect();
            let part = Histogram::from_customers(&customers).map_err(|e| self.row_error(e))?;
            self.histogram = self.histogram.merge(&part).map_err(|e| self.row_error(e))?;
        }
        self.customers += rows.len() as u64;
        self.skipped += skipped;
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let f = self.function();
        if self.customers == 0 {
            return Err(bad_arg(
                f,
                "frequency",
                "(no rows)",
                format!("no customers to fit ({} NULL rows skipped)", self.skipped),
            ));
        }
        // Without a repeat purchase the purchase models' likelihood has no maximum (the
        // repeat rate runs to zero): say so with the argument, as Gamma-Gamma does below.
        if self.model != Model::GammaGamma
            && self.histogram.patterns().iter().all(|p| p.frequency == 0)
        {
            return Err(bad_arg(
                f,
                "frequency",
                0,
                "every customer has frequency 0: a purchase model needs repeat buyers",
            ));
        }
        let fail = |e| library(f, e);
        let (params, report): (Vec<f64>, _) = match self.model {
            Model::BgNbd => {
                let Fit { params: p, report } =
                    BgNbd::fit(&self.histogram, &self.options).map_err(fail)?;
                (vec![p.r(), p.alpha(), p.a(), p.b()], report)
            }
            Model::MbgNbd => {
                let Fit { params: p, report } =
                    MbgNbd::fit(&self.histogram, &self.options).map_err(fail)?;
                (vec![p.r(), p.alpha(), p.a(), p.b()], report)
            }
            Model::ParetoNbd => {
                let Fit { params: p, report } =
                    ParetoNbd::fit(&self.histogram, &self.options).map_err(fail)?;
                (vec![p.r(), p.alpha(), p.s(), p.beta()], report)
            }
            Model::GammaGamma => {
                if self.spend.is_empty() {
                    return Err(bad_arg(
                        f,
                        "frequency",
                        0,
                        "every customer has frequency 0: the spend model needs repeat buyers",
                    ));
                }
                // The library's fit sorts its rows: the order of the partitions does not matter.
                let customers: Vec<Customer> = self
                    .spend
                    .iter()
                    .map(|&(x, m)| Customer {
                        frequency: x,
                        recency: 0.0,
                        t: x,
                        monetary_value: m,
                        period: TABLE_PERIOD,
                    })
                    .collect();
                let Fit { params: p, report } =
                    GammaGamma::fit(&customers, &self.options).map_err(fail)?;
                (vec![p.p(), p.q(), p.v()], report)
            }
        };
        let mut values = vec![ScalarValue::Utf8(Some(self.model.key().into()))];
        values.extend(params.iter().map(|v| ScalarValue::Float64(Some(*v))));
        let (status, boundary) = match &report.status {
            FitStatus::Converged => ("converged", String::new()),
            FitStatus::AtBoundary { parameters } => ("boundary", parameters.join(", ")),
            _ => ("other", String::new()),
        };
        // None at the boundary: one null per parameter.
        let se = report.standard_errors.iter().map(|v| Some(*v));
        let se: Vec<Option<f64>> =
            if report.status.is_converged() { se.collect() } else { vec![None; params.len()] };
        values.extend(se.into_iter().map(ScalarValue::Float64));
        let method = match report.method {
            Method::Newton => "newton",
            Method::Bfgs => "bfgs",
            Method::NelderMead => "nelder_mead",
            _ => "other",
        };
        values.extend([
            ScalarValue::Float64(Some(report.log_likelihood)),
            ScalarValue::UInt64(Some(report.iterations as u64)),
            ScalarValue::Utf8(Some(method.into())),
            ScalarValue::Boolean(Some(true)),
            ScalarValue::Utf8(Some(status.into())),
            ScalarValue::Utf8(Some(boundary)),
            ScalarValue::UInt64(Some(report.customers)),
            ScalarValue::UInt64(Some(self.skipped)),
        ]);
        let fields = self.model.fields();
        if values.len() != fields.len() {
            return Err(DataFusionError::Internal(format!(
                "{f}: {} standard errors for {} parameters",
                report.standard_errors.len(),
                params.len()
            )));
        }
        let arrays = values.iter().map(ScalarValue::to_array).collect::<Result<Vec<_>>>()?;
        let array = datafusion::arrow::array::StructArray::try_new(fields, arrays, None)?;
        ScalarValue::try_from_array(&array, 0)
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + std::mem::size_of_val(self.histogram.patterns())
            + self.spend.capacity() * BUYER
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::LargeBinary(Some(self.encode())),
            ScalarValue::UInt64(Some(self.customers)),
            ScalarValue::UInt64(Some(self.skipped)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let bytes: &LargeBinaryArray = states[0].as_binary::<i64>();
        let customers = states[1].as_primitive::<UInt64Type>();
        let skipped = states[2].as_primitive::<UInt64Type>();
        for i in 0..bytes.len() {
            self.decode_merge(bytes.value(i))?;
            self.customers += customers.value(i);
            self.skipped += skipped.value(i);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_options_parse_and_check() {
        let o = parse_fit_options("bgnbd_fit", "penalizer=0.01, max_iterations=50").unwrap();
        assert_eq!(o.penalizer_coefficient(), 0.01);
        let e = parse_fit_options("bgnbd_fit", "penalizer=-1").unwrap_err().to_string();
        assert!(e.contains("bgnbd_fit: argument options = penalizer=-1: must be finite"), "{e}");
    }

    #[test]
    fn model_keys_round_trip() {
        for m in [Model::BgNbd, Model::MbgNbd, Model::ParetoNbd, Model::GammaGamma] {
            assert_eq!(Model::from_key(m.key()), Some(m));
        }
        assert_eq!(Model::from_key("bg"), None);
    }
}
