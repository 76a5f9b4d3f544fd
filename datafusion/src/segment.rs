//! `rfm_segment(r, f, m [, map])`: the name of an R/F/M score's segment.
//!
//! The scores themselves are SQL's business: `ntile(5) OVER (ORDER BY recency, customer_id)`
//! gives equal-count bins with the customer id as tie-break, and `6 - ntile(5) OVER (...)`
//! turns "lower is better" around. The maps are the library's presets: `'eleven'` (the default,
//! 5 × 5 × 5, from the Squeezely/Spotler RFM apps) and `'rf_ten'` (5 × 5 over R and F; M is
//! ignored by the map but must still be a score in 1..=5).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use loyalty::rfm::{RfmScore, SegmentMap};

use crate::args::{bad_arg, bad_type, check_count, coerce_text, library_arg};

const NAME: &str = "rfm_segment";
const ARGS: [&str; 4] = ["r", "f", "m", "map"];

/// The function `rfm_segment`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct RfmSegment {
    signature: Signature,
}

impl RfmSegment {
    pub(crate) fn new() -> RfmSegment {
        RfmSegment { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

fn segment_map(name: &str) -> Result<SegmentMap> {
    match name {
        "eleven" => Ok(SegmentMap::eleven_segments()),
        "rf_ten" => Ok(SegmentMap::rf_ten_segments()),
        _ => Err(bad_arg(NAME, "map", format!("'{name}'"), "unknown map (eleven, rf_ten)")),
    }
}

impl ScalarUDFImpl for RfmSegment {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_count(NAME, arg_types.len(), &ARGS, 3)?;
        arg_types
            .iter()
            .zip(ARGS)
            .map(|(t, name)| match name {
                "map" => coerce_text(NAME, name, t),
                _ if t.is_integer() || *t == DataType::Null => Ok(DataType::Int64),
                _ => Err(bad_type(NAME, name, t, "an integer score")),
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays: Vec<ArrayRef> =
            args.args.iter().map(|a| a.to_array(n)).collect::<Result<_>>()?;
        let map = match arrays.get(3) {
            Some(a) if !a.is_empty() && a.is_valid(0) => {
                segment_map(a.as_string::<i32>().value(0))?
            }
            _ => SegmentMap::eleven_segments(),
        };
        let scores: Vec<_> = arrays[..3].iter().map(|a| a.as_primitive::<Int64Type>()).collect();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            if scores.iter().any(|s| s.is_null(i)) {
                out.push(None);
                continue;
            }
            let mut s = [0u8; 3];
            for ((slot, col), name) in s.iter_mut().zip(&scores).zip(ARGS) {
                let v = col.value(i);
                *slot = u8::try_from(v)
                    .map_err(|_| bad_arg(NAME, name, v, "a score must be in 1..=9"))?;
            }
            let score = RfmScore::new(s[0], s[1], s[2]).map_err(|e| library_arg(NAME, e))?;
            let id = map.segment(score).map_err(|e| library_arg(NAME, e))?;
            out.push(Some(map.name(id).to_owned()));
        }
        Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
    }
}
