//! The CSV text of tables against the path it replaced: every cell `Display`ed into a
//! `String` (an id through [`IdBook::text`]) and every record through the `csv` crate's
//! default writer. Values are generated to reach every branch of the cell writers and the
//! corners of `Display` (negative zero, 2^53, exponents, NaN, scales 0 to 28, the 96-bit
//! extremes) and the quoting rules (delimiters, quotes, line breaks, blanks, empty fields).

use rust_decimal::Decimal;

use super::{Cells, Table, Values};
use crate::ids::{Id, IdBook};

/// The CSV text of `t` as the command wrote it before cells were written directly.
fn old_csv(t: &Table) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(t.columns.iter().map(|c| c.name)).unwrap();
    for i in 0..t.rows() {
        let cells: Vec<String> = t
            .columns
            .iter()
            .map(|c| match &c.values {
                Values::Text(v) => v[i].to_string(),
                Values::Ids { keys, book } => book.text(keys.at(i)),
                Values::Count(v) => v.at(i).to_string(),
                Values::Real(v) => v.at(i).map_or_else(String::new, |x| x.to_string()),
                Values::Exact(v) => v.at(i).normalize().to_string(),
            })
            .collect();
        out.write_record(&cells).unwrap();
    }
    out.into_inner().unwrap()
}

/// The CSV text of `t` as written now.
fn new_csv(t: &Table) -> Vec<u8> {
    let mut out = Vec::new();
    t.csv(&mut out).unwrap();
    out
}

/// Asserts that both paths write `t` alike, naming the first line that differs.
fn assert_same(t: &Table) {
    let (old, new) = (old_csv(t), new_csv(t));
    if old != new {
        let old = String::from_utf8_lossy(&old);
        let new = String::from_utf8_lossy(&new);
        let (a, b) = old.lines().zip(new.lines()).find(|(a, b)| a != b).unwrap_or(("", ""));
        panic!(
            "first differing line: old {a:?}, new {b:?} (lengths {} and {})",
            old.len(),
            new.len()
        );
    }
}

/// A table of the one column `values`: each row's text is that cell's alone, including
/// the `""` of a record that is one empty field.
fn one(values: Values) -> Table {
    let mut t = Table::default();
    t.push("x", values);
    t
}

/// SplitMix64: reproducible values without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value of `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A value of a random bit length up to `bits`, so that every magnitude is common.
    fn magnitude(&mut self, bits: u32) -> u64 {
        let len = self.below(u64::from(bits) + 1) as u32;
        if len == 0 {
            0
        } else {
            self.next() >> (64 - len)
        }
    }
}

/// Text that reaches every quoting rule: the fixed corners, then random strings over an
/// alphabet of plain letters, digits, blanks, `#`, the special bytes and two-byte letters.
fn texts() -> Vec<String> {
    let corners = [
        "",
        " ",
        "  ",
        "a",
        " a",
        "a ",
        "#",
        "#a",
        "a,b",
        ",",
        ",,",
        "\"",
        "\"\"",
        "a\"b",
        "\"a\"",
        "\n",
        "a\nb",
        "\r",
        "a\rb",
        "\r\n",
        "a\r\nb",
        "\t",
        "a\tb",
        "'",
        "é",
        "ü,x",
        "ß\"",
        "0",
        "00",
        "-1",
        "1.5",
        "NaN",
        "\\",
        "a\\\"b",
        ";",
        "\u{feff}x",
    ];
    let alphabet = ["a", "Z", "0", "9", " ", "#", ",", "\"", "\n", "\r", "\t", "é", "€", "'"];
    let mut rng = Rng(7);
    let mut v: Vec<String> = corners.iter().map(|s| (*s).to_string()).collect();
    for _ in 0..20_000 {
        let len = rng.below(12);
        v.push((0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect());
    }
    v
}

#[test]
fn text_cells_are_quoted_as_the_csv_crate_quotes_them() {
    let texts = texts();
    assert_same(&one(Values::Text(texts.clone())));
    // Next to other cells an empty text is an empty field, not `""`.
    let mut t = one(Values::Text(texts.clone()));
    t.push("y", Values::Text(texts.iter().rev().cloned().collect()));
    assert_same(&t);
}

#[test]
fn ids_of_every_book_are_written_as_their_text() {
    let mut rng = Rng(11);
    // Plain: up to the 15 digits a key may have.
    let keys = (0..40_000).map(|_| Id(rng.magnitude(50))).collect();
    assert_same(&one(Values::Ids { keys, book: &IdBook::Plain }));
    // Padded to every width, with keys of every length up to it (and, though the reader
    // never makes them, longer ones, which padding leaves as they are).
    for width in 1..=16 {
        let keys = (0..2_000).map(|_| Id(rng.magnitude(54))).collect();
        assert_same(&one(Values::Ids { keys, book: &IdBook::Padded(width) }));
    }
    // Text, in text order as the reader leaves it, including names that need quotes and
    // the empty name (alone in its record, `""`).
    let mut names = texts();
    names.sort();
    names.dedup();
    let keys: Vec<Id> = (0..40_000).map(|_| Id(rng.below(names.len() as u64))).collect();
    let book = IdBook::Text(names);
    let mut t = one(Values::Ids { keys: keys.clone().into(), book: &book });
    assert_same(&t);
    t.push("n", Values::Count(keys.iter().map(|k| k.0 as u32).collect()));
    assert_same(&t);
}

#[test]
fn counts_are_their_digits() {
    let mut rng = Rng(13);
    let mut v: Vec<u32> = vec![0, 1, 9, 10, 99, 100, u32::MAX - 1, u32::MAX];
    v.extend((0..20_000).map(|_| rng.magnitude(32) as u32));
    assert_same(&one(Values::Count(v.into())));
}

/// Doubles at the corners of the integer fast path and of `Display`.
fn corner_reals() -> Vec<Option<f64>> {
    const TWO_53: f64 = 9_007_199_254_740_992.0;
    let mut v = vec![
        None,
        Some(0.0),
        Some(-0.0),
        Some(1.0),
        Some(-1.0),
        Some(0.5),
        Some(-0.5),
        Some(0.1),
        Some(1.0 / 3.0),
        Some(123.456),
        Some(TWO_53),
        Some(-TWO_53),
        Some(TWO_53 - 1.0),
        Some(1.0 - TWO_53),
        Some(TWO_53 + 2.0),
        Some(TWO_53 - 0.5),
        Some(4_503_599_627_370_495.5),
        Some(9.223_372_036_854_776e18),
        Some(1.8446744073709552e19),
        Some(1e15),
        Some(1e16),
        Some(1e20),
        Some(1e21),
        Some(1e22),
        Some(1e23),
        Some(1e300),
        Some(-1e300),
        Some(f64::MAX),
        Some(f64::MIN),
        Some(f64::MIN_POSITIVE),
        Some(5e-324),
        Some(-5e-324),
        Some(1e-7),
        Some(f64::EPSILON),
        Some(f64::NAN),
        Some(-f64::NAN),
        Some(f64::INFINITY),
        Some(f64::NEG_INFINITY),
    ];
    for k in 0..64 {
        let p = 2f64.powi(k);
        v.extend([Some(p), Some(-p), Some(p - 1.0), Some(p + 1.0), Some(-p + 1.0)]);
    }
    v
}

#[test]
fn reals_are_written_as_display_writes_them() {
    let mut rng = Rng(17);
    let mut v = corner_reals();
    for _ in 0..20_000 {
        let sign = if rng.below(2) == 0 { 1.0 } else { -1.0 };
        v.push(Some(match rng.below(5) {
            // Whole numbers of every magnitude around the fast path's bound.
            0 => sign * rng.magnitude(60) as f64,
            // Whole days and their halves, as recency and T are.
            1 => sign * rng.below(100_000) as f64 / 2.0,
            // Means of a few purchases.
            2 => sign * rng.below(1_000_000) as f64 / (1 + rng.below(30)) as f64,
            // Any bits: NaNs, infinities, subnormals, huge exponents.
            3 => f64::from_bits(rng.next()),
            _ => sign * (rng.magnitude(53) as f64) * 2f64.powi(rng.below(200) as i32 - 100),
        }));
        if rng.below(50) == 0 {
            v.push(None);
        }
    }
    assert_same(&one(Values::Real(v.clone().into())));
    // An empty model cell beside others is an empty field.
    let mut t = one(Values::Real(v.clone().into()));
    t.push("y", Values::Real(v.into_iter().rev().collect()));
    assert_same(&t);
}

/// Exact amounts of every scale and sign: random mantissas of every length up to 96 bits,
/// the extremes, zeros with a scale and negative zeros, and trailing zeros to normalize.
fn exacts() -> Vec<Decimal> {
    let mut rng = Rng(19);
    let mut v =
        vec![Decimal::ZERO, Decimal::ONE, Decimal::NEGATIVE_ONE, Decimal::MAX, Decimal::MIN];
    for scale in 0..=28 {
        v.push(Decimal::from_parts(0, 0, 0, false, scale));
        v.push(Decimal::from_parts(0, 0, 0, true, scale));
        v.push(Decimal::from_parts(u32::MAX, u32::MAX, u32::MAX, false, scale));
        v.push(Decimal::from_parts(u32::MAX, u32::MAX, u32::MAX, true, scale));
        v.push(Decimal::from_parts(1, 0, 0, true, scale));
        for zeros in 0..=scale {
            v.push(Decimal::from_i128_with_scale(10i128.pow(zeros), scale));
            v.push(Decimal::from_i128_with_scale(-7 * 10i128.pow(zeros.min(27)), scale));
        }
    }
    for _ in 0..40_000 {
        let bits = rng.below(97) as u32;
        let m = if bits == 0 {
            0
        } else {
            let wide = (u128::from(rng.next()) << 64) | u128::from(rng.next());
            (wide >> (128 - bits)) as i128
        };
        // Every other value ends in zeros that normalizing strips.
        let m = if rng.below(2) == 0 { m } else { (m / 1000) * 1000 };
        let m = if rng.below(2) == 0 { m } else { -m };
        v.push(Decimal::from_i128_with_scale(m, rng.below(29) as u32));
    }
    v
}

#[test]
fn exact_amounts_are_written_as_their_normalized_display() {
    let v = exacts();
    assert_same(&one(Values::Exact(v.into())));
    // The summary's monetary values: means of cents to 28 digits.
    let means: Vec<Decimal> = (1..20_000i64)
        .map(|i| Decimal::new(i * 37 % 100_000, 2) / Decimal::from(1 + i % 29))
        .collect();
    assert_same(&one(Values::Exact(means.into())));
}

/// Computed cells are written as the same values stored, in a table of every kind (the
/// summary's columns are computed from its rows).
#[test]
fn a_table_of_every_kind_is_written_alike() {
    let texts = texts();
    let n = texts.len();
    let reals = corner_reals();
    let exacts = exacts();
    let mut names = texts.clone();
    names.sort();
    names.dedup();
    let ids = names.len();
    let book = IdBook::Text(names);
    let key = |i: usize| Id((i * 7919 % ids) as u64);
    let count = |i: usize| (i as u32).wrapping_mul(2_654_435_761);
    let real = |i: usize| reals[i % reals.len()];
    let exact = |i: usize| exacts[i % exacts.len()];
    let mut computed = Table::default();
    computed.push("customer_id", Values::Ids { keys: Cells::computed(n, key), book: &book });
    computed.push("count", Values::Count(Cells::computed(n, count)));
    computed.push("real", Values::Real(Cells::computed(n, real)));
    computed.push("exact", Values::Exact(Cells::computed(n, exact)));
    computed.push("text", Values::Text(texts.clone()));
    assert_same(&computed);
    let mut stored = Table::default();
    stored.push("customer_id", Values::Ids { keys: (0..n).map(key).collect(), book: &book });
    stored.push("count", Values::Count((0..n).map(count).collect()));
    stored.push("real", Values::Real((0..n).map(real).collect()));
    stored.push("exact", Values::Exact((0..n).map(exact).collect()));
    stored.push("text", Values::Text(texts));
    assert_eq!(new_csv(&computed), new_csv(&stored));
    // No rows: the header alone; no columns: the csv crate's `""` for an empty record.
    assert_same(&one(Values::Count(Vec::new().into())));
    assert_same(&Table::default());
}

/// More rows than a wave of blocks (two blocks of 16,384 rows per thread): each wave is
/// written while the next is formatted, and the text must still come out whole and in
/// order, on a pool of one thread (four waves here) as on the default pool.
#[test]
fn many_waves_are_written_in_order() {
    let n = 100_003;
    let exacts = exacts();
    let table = || {
        let mut t = Table::default();
        t.push("n", Values::Count(Cells::computed(n, |i| i as u32)));
        t.push("x", Values::Exact(Cells::computed(n, |i| exacts[i % exacts.len()])));
        t
    };
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    one_thread.install(|| assert_same(&table()));
    assert_same(&table());
}
