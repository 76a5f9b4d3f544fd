//! Argument checks shared by the functions: the error every function reports, type coercion
//! and constant arguments.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::PhysicalExpr;

/// The error of a bad argument: the function, the argument, the value and what is wrong, in
/// one lowercase line (`rfm_summary: argument amount = -3.5: negative amounts are rejected`).
pub(crate) fn bad_arg(
    function: &str,
    argument: &str,
    value: impl std::fmt::Display,
    reason: impl std::fmt::Display,
) -> DataFusionError {
    DataFusionError::Execution(format!("{function}: argument {argument} = {value}: {reason}"))
}

/// A planning-time type error (the value is the argument's type).
pub(crate) fn bad_type(
    function: &str,
    argument: &str,
    found: &DataType,
    expected: &str,
) -> DataFusionError {
    DataFusionError::Plan(format!(
        "{function}: argument {argument} has type {found}: expected {expected}"
    ))
}

/// An error of the library, prefixed with the function that met it.
pub(crate) fn library(function: &str, e: loyalty::Error) -> DataFusionError {
    DataFusionError::Execution(format!("{function}: {e}"))
}

/// An error of the library about one value, as the function's argument error (the library
/// names the field and the value; `T` is the SQL argument `t`).
pub(crate) fn library_arg(function: &str, e: loyalty::Error) -> DataFusionError {
    match e.kind() {
        loyalty::ErrorKind::InvalidRecord { field, value, reason, .. }
        | loyalty::ErrorKind::InvalidInput { field, value, reason } => {
            let field: &str = if *field == "T" { "t" } else { field };
            bad_arg(function, field, value, reason)
        }
        _ => library(function, e),
    }
}

/// Checks the argument count against the names of the arguments (the optional ones last).
pub(crate) fn check_count(
    function: &str,
    found: usize,
    names: &[&str],
    required: usize,
) -> Result<()> {
    if found < required || found > names.len() {
        let optional = &names[required..];
        let listed = if optional.is_empty() {
            names.join(", ")
        } else {
            format!("{} [, {}]", names[..required].join(", "), optional.join(", "))
        };
        return Err(DataFusionError::Plan(format!(
            "{function}: takes ({listed}), got {found} arguments"
        )));
    }
    Ok(())
}

/// The coercion of a time argument: civil dates and timestamps become microsecond timestamps
/// (a time zone would make the civil time ambiguous, so it is refused).
pub(crate) fn coerce_time(
    function: &str,
    argument: &str,
    t: &DataType,
    strings: bool,
) -> Result<DataType> {
    match t {
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, None) | DataType::Null => {
            Ok(DataType::Timestamp(TimeUnit::Microsecond, None))
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View if strings => {
            Ok(DataType::Timestamp(TimeUnit::Microsecond, None))
        }
        _ => Err(bad_type(
            function,
            argument,
            t,
            "a DATE or a TIMESTAMP without time zone (cast a zoned timestamp to the seller's \
             civil time first)",
        )),
    }
}

/// The coercion of a numeric argument to `Float64`.
pub(crate) fn coerce_f64(function: &str, argument: &str, t: &DataType) -> Result<DataType> {
    if t.is_numeric() || *t == DataType::Null {
        Ok(DataType::Float64)
    } else {
        Err(bad_type(function, argument, t, "a number"))
    }
}

/// The coercion of a text argument to `Utf8`.
pub(crate) fn coerce_text(function: &str, argument: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Ok(DataType::Utf8),
        _ => Err(bad_type(function, argument, t, "a string")),
    }
}

/// The value of an argument that must be a constant (a literal, or an expression of literals):
/// evaluated once against no rows. A column gives an array and is refused.
pub(crate) fn constant(
    function: &str,
    argument: &str,
    expr: &Arc<dyn PhysicalExpr>,
    schema: &Schema,
) -> Result<ScalarValue> {
    let empty = RecordBatch::new_empty(Arc::new(schema.clone()));
    match expr.evaluate(&empty)? {
        ColumnarValue::Scalar(v) => Ok(v),
        ColumnarValue::Array(_) => Err(DataFusionError::Plan(format!(
            "{function}: argument {argument} = {expr}: must be a constant, the same for every \
             row"
        ))),
    }
}

/// A constant string argument (`None` for NULL).
pub(crate) fn constant_text(
    function: &str,
    argument: &str,
    expr: &Arc<dyn PhysicalExpr>,
    schema: &Schema,
) -> Result<Option<String>> {
    match constant(function, argument, expr, schema)? {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => Ok(s),
        ScalarValue::Null => Ok(None),
        other => Err(bad_arg(function, argument, &other, "must be a string")),
    }
}

/// `key=value` pairs of an options string (`'monetary=total, nulls=skip'`), checked against the
/// known keys; an empty string has none.
pub(crate) fn options<'a>(
    function: &str,
    text: &'a str,
    known: &[&str],
) -> Result<Vec<(&'a str, &'a str)>> {
    let mut pairs = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((key, value)) = item.split_once('=') else {
            return Err(bad_arg(function, "options", item, "expected key=value"));
        };
        let (key, value) = (key.trim(), value.trim());
        if !known.contains(&key) {
            return Err(bad_arg(
                function,
                "options",
                item,
                format!("unknown option {key:?}; known: {}", known.join(", ")),
            ));
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_name_the_bad_item() {
        let ok = options("f", " a=1 , b = x ,", &["a", "b"]).unwrap();
        assert_eq!(ok, [("a", "1"), ("b", "x")]);
        let e = options("f", "a=1,c=2", &["a", "b"]).unwrap_err().to_string();
        assert!(e.contains("f: argument options = c=2: unknown option \"c\""), "{e}");
        let e = options("f", "a", &["a"]).unwrap_err().to_string();
        assert!(e.contains("expected key=value"), "{e}");
    }

    #[test]
    fn counts_list_the_optional_arguments() {
        assert!(check_count("f", 2, &["x", "y", "z"], 2).is_ok());
        let e = check_count("f", 1, &["x", "y", "z"], 2).unwrap_err().to_string();
        assert!(e.contains("f: takes (x, y [, z]), got 1 arguments"), "{e}");
    }
}
