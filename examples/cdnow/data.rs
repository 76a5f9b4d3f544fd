//! Reading the CDNOW master log.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::str::FromStr;

/// One line of the log: several purchases on one day are separate lines.
#[derive(Clone, Copy, Debug)]
pub struct Purchase {
    pub customer: u32,
    pub date: NaiveDate,
    #[allow(dead_code)]
    pub cds: u32,
    pub amount: Decimal,
}

/// Reads `customer_id date number_of_cds dollar_value` lines (whitespace separated, one
/// header line). Errors name the line.
pub fn load(path: &str) -> Result<Vec<Purchase>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Vec::with_capacity(text.len() / 28);
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let mut f = line.split_whitespace();
        let (Some(id), Some(date), Some(cds), Some(amount)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(format!("{path}:{line_no}: expected 4 fields"));
        };
        if i == 0 && id == "customer_id" {
            continue;
        }
        let bad = |what: &str| format!("{path}:{line_no}: bad {what}");
        out.push(Purchase {
            customer: id.parse().map_err(|_| bad("customer id"))?,
            date: NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| bad("date"))?,
            cds: cds.parse().map_err(|_| bad("number of CDs"))?,
            amount: Decimal::from_str(amount).map_err(|_| bad("dollar value"))?,
        });
    }
    Ok(out)
}
