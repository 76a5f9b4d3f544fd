//! Scoring with a fitted model: `p_alive`, `expected_purchases`, `expected_spend` and `clv`.
//!
//! The model is the struct a fit aggregate returns (or one written by hand with
//! `named_struct('model', 'bgnbd', 'r', 0.243, 'alpha', 4.414, 'a', 0.793, 'b', 2.426)`): its
//! `model` field names the model and the parameter fields are read by name. Rows with a NULL
//! argument give NULL; a bad value is an error naming the function, the argument and the value.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, StructArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use loyalty::clv::{
    BgNbd, ClvModel, ClvOptions, Customer, GammaGamma, Horizon, MbgNbd, ParetoNbd, PurchaseModel,
    Span, TransactionModel,
};
use loyalty::rfm::Period;

use crate::args::{bad_arg, bad_type, check_count, coerce_f64, coerce_text, library_arg, options};
use crate::fit::Model;
use crate::summary::DEFAULT_PERIOD;

/// Which score a function computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    PAlive,
    ExpectedPurchases,
    ExpectedSpend,
    Clv,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::PAlive => "p_alive",
            Kind::ExpectedPurchases => "expected_purchases",
            Kind::ExpectedSpend => "expected_spend",
            Kind::Clv => "clv",
        }
    }

    /// Argument names; the last `optional()` of them may be left out.
    fn args(self) -> &'static [&'static str] {
        match self {
            Kind::PAlive => &["model", "frequency", "recency", "t"],
            Kind::ExpectedPurchases => &["model", "horizon", "frequency", "recency", "t"],
            Kind::ExpectedSpend => &["spend_model", "frequency", "monetary_value"],
            Kind::Clv => {
                &["model", "spend_model", "frequency", "recency", "t", "monetary_value", "options"]
            }
        }
    }

    fn optional(self) -> usize {
        usize::from(self == Kind::Clv)
    }
}

/// A scoring function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Score {
    kind: Kind,
    signature: Signature,
}

impl Score {
    pub(crate) fn new(kind: Kind) -> Score {
        Score { kind, signature: Signature::user_defined(Volatility::Immutable) }
    }
}

/// A model read from a struct row.
enum Parsed {
    Purchase(TransactionModel, &'static str),
    Spend(GammaGamma),
}

/// A column of model structs, its fields cast once per batch.
struct Models<'a> {
    function: &'static str,
    argument: &'static str,
    structs: &'a StructArray,
    keys: Option<ArrayRef>,
    params: Vec<(String, ArrayRef)>,
}

impl<'a> Models<'a> {
    fn new(function: &'static str, argument: &'static str, column: &'a ArrayRef) -> Result<Self> {
        let structs = column.as_struct();
        let keys = structs.column_by_name("model").map(|k| cast(k, &DataType::Utf8)).transpose()?;
        let mut params = Vec::new();
        for f in structs.fields() {
            if f.name() != "model" && f.data_type().is_numeric() {
                let column = structs.column_by_name(f.name()).map(|c| cast(c, &DataType::Float64));
                if let Some(c) = column.transpose()? {
                    params.push((f.name().clone(), c));
                }
            }
        }
        Ok(Models { function, argument, structs, keys, params })
    }

    fn missing(&self, field: &str) -> datafusion::error::DataFusionError {
        let names: Vec<&String> = self.structs.fields().iter().map(|f| f.name()).collect();
        bad_arg(
            self.function,
            self.argument,
            format!("a struct of {names:?}"),
            format!("a model struct needs the field {field}"),
        )
    }

    /// The model of row `i` in `period` (`None` when the row or one of its fields is NULL).
    fn at_in(&mut self, i: usize, period: Period) -> Result<Option<Parsed>> {
        if self.structs.is_null(i) {
            return Ok(None);
        }
        let keys = self.keys.as_ref().ok_or_else(|| self.missing("model"))?;
        let keys = keys.as_string::<i32>();
        if keys.is_null(i) {
            return Ok(None);
        }
        let key = keys.value(i);
        let model = Model::from_key(key).ok_or_else(|| {
            bad_arg(
                self.function,
                self.argument,
                key,
                "unknown model (bgnbd, mbgnbd, pareto_nbd, gamma_gamma)",
            )
        })?;
        let mut p = Vec::with_capacity(4);
        for name in model.params() {
            let column = self
                .params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| c.as_primitive::<Float64Type>())
                .ok_or_else(|| self.missing(name))?;
            if column.is_null(i) {
                return Ok(None);
            }
            p.push(column.value(i));
        }
        let fail = |e| library_arg(self.function, e);
        let parsed = match model {
            Model::BgNbd => Parsed::Purchase(
                BgNbd::new(p[0], p[1], p[2], p[3], period).map_err(fail)?.into(),
                model.key(),
            ),
            Model::MbgNbd => Parsed::Purchase(
                MbgNbd::new(p[0], p[1], p[2], p[3], period).map_err(fail)?.into(),
                model.key(),
            ),
            Model::ParetoNbd => Parsed::Purchase(
                ParetoNbd::new(p[0], p[1], p[2], p[3], period).map_err(fail)?.into(),
                model.key(),
            ),
            Model::GammaGamma => Parsed::Spend(GammaGamma::new(p[0], p[1], p[2]).map_err(fail)?),
        };
        Ok(Some(parsed))
    }
}

fn purchase(function: &str, argument: &str, m: Parsed) -> Result<TransactionModel> {
    match m {
        Parsed::Purchase(m, _) => Ok(m),
        Parsed::Spend(_) => Err(bad_arg(
            function,
            argument,
            "gamma_gamma",
            "a spend model where a purchase model (bgnbd, mbgnbd, pareto_nbd) is expected",
        )),
    }
}

fn spend(function: &str, argument: &str, m: Parsed) -> Result<GammaGamma> {
    match m {
        Parsed::Spend(g) => Ok(g),
        Parsed::Purchase(_, key) => Err(bad_arg(
            function,
            argument,
            key,
            "a purchase model where the spend model (gamma_gamma) is expected",
        )),
    }
}

/// Parses `'horizon_months=12, discount_rate=0.01, period=day'`: `period` is the period the
/// purchase model was fitted in (the summary's), which converts months to model periods with
/// lifetimes' table (30 days or 4.345 weeks a month). Its default is `rfm_summary`'s (and
/// lifetimes' `freq="D"`), so a pipeline left at its defaults pairs days with days.
fn parse_clv_options(text: &str) -> Result<(ClvOptions, Period)> {
    let f = "clv";
    let mut o = ClvOptions::default();
    let mut period = DEFAULT_PERIOD;
    for (key, value) in options(f, text, &["horizon_months", "discount_rate", "period"])? {
        let bad = |reason: String| bad_arg(f, "options", format!("{key}={value}"), reason);
        match key {
            "horizon_months" => {
                let months: u32 =
                    value.parse().map_err(|_| bad("must be a whole number of months".into()))?;
                o = o.with_horizon(Horizon::months(months).map_err(|e| bad(e.to_string()))?);
            }
            "discount_rate" => {
                let rate: f64 = value.parse().map_err(|_| bad("must be a number".into()))?;
                o = o.with_monthly_discount_rate(rate).map_err(|e| bad(e.to_string()))?;
            }
            _ => period = crate::summary::parse_period_for(f, "options", value)?,
        }
    }
    Ok((o, period))
}

impl ScalarUDFImpl for Score {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (f, names) = (self.kind.name(), self.kind.args());
        check_count(f, arg_types.len(), names, names.len() - self.kind.optional())?;
        arg_types
            .iter()
            .zip(names)
            .map(|(t, name)| match *name {
                "model" | "spend_model" => match t {
                    DataType::Struct(_) => Ok(t.clone()),
                    _ => Err(bad_type(f, name, t, "a model struct, as a fit aggregate returns")),
                },
                "options" => coerce_text(f, name, t),
                _ => coerce_f64(f, name, t),
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (f, names) = (self.kind.name(), self.kind.args());
        let n = args.number_rows;
        let arrays: Vec<ArrayRef> =
            args.args.iter().map(|a| a.to_array(n)).collect::<Result<_>>()?;
        // `clv`'s options: one set per call, the first row's (it is a constant in SQL).
        let text = arrays
            .get(6)
            .filter(|_| self.kind == Kind::Clv)
            .map(|a| a.as_string::<i32>())
            .filter(|a| !a.is_empty() && !a.is_null(0));
        let (options, period) = match text {
            Some(a) => parse_clv_options(a.value(0))?,
            None => (ClvOptions::default(), DEFAULT_PERIOD),
        };
        let mut first_models = Models::new(f, names[0], &arrays[0])?;
        let mut second_models =
            if self.kind == Kind::Clv { Some(Models::new(f, names[1], &arrays[1])?) } else { None };
        let numbers_from = if self.kind == Kind::Clv { 2 } else { 1 };
        let numbers: Vec<&Float64Array> = arrays[numbers_from..]
            .iter()
            .take_while(|a| *a.data_type() == DataType::Float64)
            .map(|a| a.as_primitive::<Float64Type>())
            .collect();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            if numbers.iter().any(|c| c.is_null(i)) {
                out.push(None);
                continue;
            }
            let v: Vec<f64> = numbers.iter().map(|c| c.value(i)).collect();
            let Some(first) = first_models.at_in(i, period)? else {
                out.push(None);
                continue;
            };
            let fail = |e| library_arg(f, e);
            let value = match self.kind {
                Kind::PAlive => {
                    let m = purchase(f, names[0], first)?;
                    let c = Customer::new(v[0], v[1], v[2], period).map_err(fail)?;
                    m.probability_alive(&c).map_err(fail)?
                }
                Kind::ExpectedPurchases => {
                    let m = purchase(f, names[0], first)?;
                    let c = Customer::new(v[1], v[2], v[3], period).map_err(fail)?;
                    if !(v[0].is_finite() && v[0] >= 0.0) {
                        return Err(bad_arg(f, "horizon", v[0], "must be finite and >= 0"));
                    }
                    // The horizon is a count of the table's periods, as recency and T are.
                    let h = Span::new(v[0], period).map_err(fail)?;
                    m.conditional_expected_purchases(&c, h).map_err(fail)?
                }
                Kind::ExpectedSpend => {
                    let g = spend(f, names[0], first)?;
                    let c = Customer {
                        frequency: v[0],
                        recency: 0.0,
                        t: v[0],
                        monetary_value: v[1],
                        period,
                    };
                    g.conditional_expected_average_spend(&c).map_err(fail)?
                }
                Kind::Clv => {
                    let m = purchase(f, names[0], first)?;
                    let second = match second_models.as_mut() {
                        Some(m) => m.at_in(i, period)?,
                        None => None,
                    };
                    let Some(second) = second else {
                        out.push(None);
                        continue;
                    };
                    let g = spend(f, names[1], second)?;
                    let c = Customer::new(v[0], v[1], v[2], period)
                        .map_err(fail)?
                        .with_monetary_value(v[3]);
                    ClvModel::new(m, g).customer_lifetime_value(&c, &options).map_err(fail)?
                }
            };
            out.push(Some(value));
        }
        Ok(ColumnarValue::Array(Arc::new(Float64Array::from(out))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clv_options_parse_and_check() {
        let (o, p) = parse_clv_options("horizon_months=6, discount_rate=0.02, period=day").unwrap();
        assert_eq!((o.horizon().whole_months().unwrap(), o.monthly_discount_rate()), (6, 0.02));
        assert_eq!(p, Period::DAY);
        let e = parse_clv_options("discount_rate=-1").unwrap_err().to_string();
        assert!(e.contains("clv: argument options = discount_rate=-1"), "{e}");
    }
}
