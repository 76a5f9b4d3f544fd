//! CSV cells written straight into a block of output bytes: the text each cell had when it
//! was `Display`ed into a `String` and passed through the `csv` crate's writer (default
//! settings), without the `String`, the formatter and the writer's per-field state machine.
//!
//! Numbers never need quoting (digits, `-`, `.`, `NaN`, `inf`), so they are written as they
//! are; text is copied as it is unless the `csv` crate would quote it, and then the `csv`
//! crate writes it. The tests (`output/tests.rs`) compare whole tables with the old path.

use std::io::{self, Write};

use rust_decimal::Decimal;

use crate::ids::{Id, IdBook};

/// Appends the count `n` as `Display` writes it.
pub(super) fn count(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// 2^53: every integer of smaller magnitude is a double, and no other double lies within
/// half a unit of it.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// Appends `x` as `Display` writes it.
///
/// The days of recency and `T` are whole numbers, and `Display` writes a double's shortest
/// round-trip digits: for an integer below 2^53 those are the integer's own digits (any
/// shorter digit string is another integer, more than half a unit away), which `itoa`
/// writes in a fraction of the time. `-0.0` (written `-0`), fractions, larger magnitudes,
/// NaN and the infinities go through `Display` itself.
pub(super) fn real(out: &mut Vec<u8>, x: f64) {
    // NaN and the infinities fail the bound. The integer test is a round trip through `i64`
    // (exact below 2^53) rather than `f64::trunc`, a call into libm on baseline x86-64.
    if x.abs() < EXACT_INTEGERS {
        let n = x as i64;
        if n as f64 == x && x.to_bits() != (-0.0f64).to_bits() {
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            return;
        }
    }
    // Writing into a `Vec` cannot fail.
    let _ = write!(out, "{x}");
}

/// Appends `d` as the `Display` of `d.normalize()` writes it: a `-` for a negative value
/// (normalizing turns `-0` into `0`), the mantissa's digits with a point `scale` digits from
/// the right, and a `0` before a point that would lead. Normalizing leaves no trailing zero
/// after the point. The digits of the 96-bit mantissa come from `itoa`'s 128-bit path rather
/// than `rust_decimal`'s division of three words by ten per digit.
pub(super) fn exact(out: &mut Vec<u8>, d: Decimal) {
    let d = d.normalize();
    if d.is_sign_negative() {
        out.push(b'-');
    }
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(d.mantissa().unsigned_abs()).as_bytes();
    let scale = d.scale() as usize;
    if scale == 0 {
        out.extend_from_slice(digits);
    } else if digits.len() > scale {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(whole);
        out.push(b'.');
        out.extend_from_slice(fraction);
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + scale - digits.len(), b'0');
        out.extend_from_slice(digits);
    }
}

/// Whether the `csv` crate's default writer (`QuoteStyle::Necessary`, `,`, `"` doubled, `\n`
/// records, no comment character) quotes `field`: when it holds the delimiter, the quote or
/// either line-ending byte. An empty field is quoted only when it is a record's only field,
/// which the record's writer sees, not the cell's.
fn needs_quotes(field: &[u8]) -> bool {
    field.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
}

/// Appends the text cell `s` as the `csv` crate writes it.
///
/// # Errors
///
/// None in practice (the `csv` crate's writer into a `Vec`); kept rather than unwrapped.
pub(super) fn text(out: &mut Vec<u8>, s: &str) -> io::Result<()> {
    if !needs_quotes(s.as_bytes()) {
        out.extend_from_slice(s.as_bytes());
        return Ok(());
    }
    // Rare (an id or name with a comma, quote or line break): the crate's own quoting, as a
    // record of one field, whose closing quote comes with the terminator, dropped after.
    let mut w = csv::WriterBuilder::new().buffer_capacity(2 * s.len() + 3).from_writer(&mut *out);
    w.write_record([s]).map_err(|e| io::Error::other(e.to_string()))?;
    w.flush()?;
    drop(w);
    // The record's `\n`.
    out.pop();
    Ok(())
}

/// Appends the id of key `id` as [`IdBook::text`] gives it, quoted as a text cell is.
///
/// # Errors
///
/// As [`text`].
pub(super) fn id(out: &mut Vec<u8>, book: &IdBook, id: Id) -> io::Result<()> {
    match book {
        IdBook::Plain => out.extend_from_slice(itoa::Buffer::new().format(id.0).as_bytes()),
        IdBook::Padded(width) => {
            let mut buffer = itoa::Buffer::new();
            let digits = buffer.format(id.0).as_bytes();
            out.resize(out.len() + width.saturating_sub(digits.len()), b'0');
            out.extend_from_slice(digits);
        }
        IdBook::Text(names) => text(out, &names[id.0 as usize])?,
    }
    Ok(())
}
