//! The bundled CDNOW logs as transactions keyed by numeric customer id, shared by the tests
//! that compare with lifetimes' output on them.

use chrono::NaiveDate;
use loyalty::rfm::Transaction;
use rust_decimal::Decimal;

/// The CDNOW master log (`id date count amount`, with a header).
pub fn master() -> Vec<Transaction<u32>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/CDNOW_master.txt");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let date = NaiveDate::parse_from_str(f[1], "%Y%m%d").unwrap();
            Transaction::on(f[0].parse().unwrap(), date, f[3].parse().unwrap())
        })
        .collect()
}

/// The CDNOW 1/10 sample (`master_id sample_id date count amount`), keyed by the sample id.
pub fn sample() -> Vec<Transaction<u32>> {
    include_str!("../../examples/data/CDNOW_sample.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let date = NaiveDate::parse_from_str(f[2], "%Y%m%d").unwrap();
            Transaction::on(f[1].parse().unwrap(), date, f[4].parse::<Decimal>().unwrap())
        })
        .collect()
}
