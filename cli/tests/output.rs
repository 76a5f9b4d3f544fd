//! What the command writes: every output format holds the values the CSV holds, exactly,
//! and `-o` writes where the path leads (a symlink's target, a FIFO) with the permissions a
//! new file gets from the umask or the existing file had.

mod common;

use std::path::Path;

use common::{dir, file, ok, read_parquet, run};

/// The `monetary_value` column of a Parquet summary as text, trailing zeros dropped as the
/// CSV writes them; with the column's type.
fn parquet_money(path: &Path) -> (arrow_schema::DataType, Vec<String>) {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Decimal128Type, Decimal256Type};
    let batches = read_parquet(path);
    let mut ty = None;
    let mut out = Vec::new();
    for b in &batches {
        let a = b.column_by_name("monetary_value").unwrap();
        ty = Some(a.data_type().clone());
        for i in 0..a.len() {
            let s = match a.data_type() {
                arrow_schema::DataType::Decimal128(..) => {
                    a.as_primitive::<Decimal128Type>().value_as_string(i)
                }
                arrow_schema::DataType::Decimal256(..) => {
                    a.as_primitive::<Decimal256Type>().value_as_string(i)
                }
                other => panic!("monetary_value is {other}"),
            };
            let s = if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s
            };
            out.push(s);
        }
    }
    (ty.unwrap(), out)
}

/// The `monetary_value` cells of a CSV summary.
fn csv_money(text: &str) -> Vec<String> {
    text.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().to_string()).collect()
}

/// Summary as CSV on stdout and as Parquet; the Parquet's money read back.
fn both(d: &Path, log: &str) -> (Vec<String>, arrow_schema::DataType, Vec<String>) {
    let csv = ok(&run(&["summary", log]));
    let out = d.join("out.parquet");
    ok(&run(&["summary", "-o", out.to_str().unwrap(), log]));
    let (ty, parquet) = parquet_money(&out);
    (csv_money(&csv), ty, parquet)
}

#[test]
fn parquet_money_is_the_csv_money_exactly() {
    use arrow_schema::DataType;
    let d = dir("parquet_exact");
    // The review's case: a mean of 27 decimals beside an amount of 11 digits before the
    // point, 38 digits at one scale (before the fix 12345678901.5 came back as 12.3456789015).
    let resc = "customer_id,date,amount\n1,2024-01-01,1\n1,2024-01-02,100\n1,2024-01-03,0\n\
                1,2024-01-04,0\n2,2024-01-01,1\n2,2024-01-02,12345678901.5\n";
    let log = file(&d, "resc.csv", resc);
    let (csv, ty, parquet) = both(&d, &log);
    assert_eq!(csv, ["33.333333333333333333333333333", "12345678901.5"]);
    assert_eq!(ty, DataType::Decimal128(38, 27));
    assert_eq!(parquet, csv);

    // 21 digits before the point and 27 after do not fit 38 digits: a 76-digit column.
    let wide = format!("{resc}3,2024-01-01,1\n3,2024-01-02,100000000000000000000.5\n");
    let log = file(&d, "wide.csv", &wide);
    let (csv, ty, parquet) = both(&d, &log);
    assert_eq!(csv, ["33.333333333333333333333333333", "12345678901.5", "100000000000000000000.5"]);
    assert_eq!(ty, DataType::Decimal256(76, 27));
    assert_eq!(parquet, csv);

    // An ordinary log: 2,000 customers, amounts of 0 to 3 decimals up to a few million, so
    // the means have from 0 to 28 significant decimals.
    let mut state = 5u64;
    let mut next = || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut text = String::from("customer_id,date,amount\n");
    for c in 0..2_000u64 {
        for k in 0..(1 + next() % 6) {
            let cents = next() % 500_000_000;
            let amount = match next() % 3 {
                0 => format!("{}", cents / 100),
                1 => format!("{}.{:02}", cents / 100, cents % 100),
                _ => format!("{}.{:03}", cents / 1000, cents % 1000),
            };
            text.push_str(&format!("{c},2024-01-{:02},{amount}\n", 1 + k));
        }
    }
    let log = file(&d, "ordinary.csv", &text);
    let (csv, ty, parquet) = both(&d, &log);
    assert_eq!(csv.len(), 2_000);
    assert!(matches!(ty, DataType::Decimal128(38, _)), "{ty}");
    let wrong = csv.iter().zip(&parquet).filter(|(a, b)| a != b).count();
    assert_eq!(wrong, 0, "{:?}", csv.iter().zip(&parquet).find(|(a, b)| a != b));
    assert_eq!(parquet, csv);
    // Some means are long fractions (the case that went wrong).
    assert!(csv.iter().any(|m| m.split('.').nth(1).is_some_and(|f| f.len() >= 20)));
}
