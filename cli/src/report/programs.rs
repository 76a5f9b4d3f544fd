//! Points liability and tiers for the report, when the seller says what their programs are:
//! `--points-program FILE` (the library's [`loyalty::points::Program`] as JSON) and
//! `--tiers FILE` (the library's [`loyalty::tiers::Program`] as JSON). A purchase log alone
//! has no programs, so without these files the report says what it would need.
//!
//! - Points: every purchase earns what the program's earn rules award for one order of its
//!   amount (on the purchase day, with the customer's earlier orders and, under a period cap,
//!   their points earned in the period as context), in one ledger
//!   ([`loyalty::points::Account`]) per customer, expired by the program's policy up to the
//!   observation end. A purchase log records no redemptions: every unexpired point is
//!   outstanding, priced by [`loyalty::points::liability`] at the given breakage.
//! - Tiers: each customer's purchases (refunds as partial refunds) replayed by
//!   [`loyalty::tiers::Program::evaluate_all`] from their first purchase to the observation
//!   end; members and revenue per tier.

use chrono::NaiveDateTime;
use loyalty::points::{
    liability, Account, Breakage, EarnContext, EarnRequest, MemberId, Order, OrderLine, Points,
    TotalPoints,
};
use loyalty::tiers::{Metric, QualifyingEvent, RefundScope};
use loyalty::{Money, OpKey, Share};
use rust_decimal::Decimal;

use crate::error::{Failure, Result};
use crate::input::Log;

/// Reads one of the library's program types from a JSON file.
///
/// # Errors
///
/// A file that cannot be read; JSON that is not the type, as `file:line: column C: reason`.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &str) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::in_file(path, crate::input::os_reason(&e)))?;
    serde_json::from_str(&text).map_err(|e| {
        let full = e.to_string();
        // serde_json ends its message with " at line L column C"; the place goes first here.
        let reason = full.rsplit_once(" at line ").map_or(full.as_str(), |(r, _)| r);
        if e.line() == 0 {
            Failure::in_file(path, reason.to_string())
        } else {
            Failure::at_line(path, e.line() as u64, format!("column {}: {reason}", e.column()))
        }
    })
}

/// The customers' purchases up to `end`, grouped: `(customer, purchases in time order)`.
fn by_customer(log: &Log, end: NaiveDateTime) -> Vec<(u64, Vec<(NaiveDateTime, Decimal)>)> {
    let mut rows: Vec<(u64, NaiveDateTime, Decimal)> = log
        .transactions
        .iter()
        .filter(|t| t.at <= end)
        .map(|t| (t.customer.0, t.at, t.amount))
        .collect();
    rows.sort_by_key(|r| (r.0, r.1));
    let mut out: Vec<(u64, Vec<(NaiveDateTime, Decimal)>)> = Vec::new();
    for (c, at, amount) in rows {
        match out.last_mut() {
            Some((last, v)) if *last == c => v.push((at, amount)),
            _ => out.push((c, vec![(at, amount)])),
        }
    }
    out
}

/// One tier's members.
#[derive(Debug, Clone, PartialEq)]
pub struct TierRow {
    /// The tier's name ("no tier" for members below the first threshold).
    pub name: String,
    /// Its threshold (`None` for "no tier" and for a tier with its own criterion).
    pub threshold: Option<Decimal>,
    /// Members in it at the observation end.
    pub members: u64,
    /// Their spend up to the observation end.
    pub revenue: Decimal,
}

/// The tier section's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Tiers {
    /// The file the program came from.
    pub source: String,
    /// What the ladder counts.
    pub metric: &'static str,
    /// Tiers from the lowest; "no tier" first when the ladder has no entry tier.
    pub rows: Vec<TierRow>,
}

/// Members per tier of `program` at `end`.
///
/// # Errors
///
/// A ladder by points earned (a purchase log has no points), the library's errors.
pub fn tiers(
    log: &Log,
    end: NaiveDateTime,
    program: &loyalty::tiers::Program,
    source: &str,
) -> Result<Tiers> {
    let ladder = program.ladder();
    let metrics: Vec<Metric> = ladder.metrics().collect();
    let metric = match metrics.as_slice() {
        [Metric::Spend] => "spend",
        [Metric::OrderCount] => "orders",
        [Metric::Spend, Metric::OrderCount] => "spend and orders",
        _ => {
            return Err(Failure::in_file(
                source,
                "a ladder by points earned needs points events, which a purchase log does not have; use spend or orders",
            ))
        }
    };
    let customers = by_customer(log, end);
    let mut histories = Vec::with_capacity(customers.len());
    for (_, purchases) in &customers {
        let events = purchases
            .iter()
            .map(|&(at, amount)| {
                if amount.is_sign_negative() {
                    QualifyingEvent::refund(at, -amount, RefundScope::Partial)
                } else {
                    QualifyingEvent::order(at, amount)
                }
            })
            .collect::<loyalty::Result<Vec<_>>>()?;
        let joined = purchases.first().map_or(end.date(), |p| p.0.date());
        histories.push((joined, events));
    }
    let members: Vec<_> = histories.iter().map(|(j, h)| (*j, h.as_slice())).collect();
    let standings = program.evaluate_all(&members, end)?;
    let mut rows: Vec<TierRow> = ladder
        .tiers()
        .iter()
        .map(|t| TierRow {
            name: t.name().to_string(),
            threshold: t.threshold(),
            members: 0,
            revenue: Decimal::ZERO,
        })
        .collect();
    let mut none =
        TierRow { name: "no tier".into(), threshold: None, members: 0, revenue: Decimal::ZERO };
    for (s, (_, purchases)) in standings.iter().zip(&customers) {
        let row = match s.tier {
            Some(i) => &mut rows[i],
            None => &mut none,
        };
        row.members += 1;
        row.revenue += purchases.iter().map(|p| p.1).sum::<Decimal>();
    }
    // "No tier" is a row only when someone can be in it.
    if none.members > 0 || ladder.entry().is_none() {
        rows.insert(0, none);
    }
    Ok(Tiers { source: source.to_string(), metric, rows })
}

/// The points section's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct PointsFacts {
    /// The file the program came from.
    pub source: String,
    /// Customers who earned points.
    pub members: u64,
    /// Points earned (a lifetime total over every member).
    pub earned: TotalPoints,
    /// Of those, expired by the observation end.
    pub expired: TotalPoints,
    /// The library's liability of the rest.
    pub liability: loyalty::points::Liability,
    /// Purchases that earned nothing (a refund, a zero amount, below the first point).
    pub without_points: u64,
}

/// Points earned by every purchase under `program` up to `end`, and their liability at
/// `breakage`.
///
/// # Errors
///
/// The library's (an amount the earn rules reject, an overflow).
pub fn points(
    log: &Log,
    end: NaiveDateTime,
    program: &loyalty::points::Program,
    breakage: Share,
    source: &str,
) -> Result<PointsFacts> {
    let rules = program.earn_rules();
    let currency = rules.currency();
    let mut accounts = Vec::new();
    let mut without_points = 0u64;
    for (customer, purchases) in by_customer(log, end) {
        let opened = purchases.first().map_or(end.date(), |p| p.0.date());
        let mut account = Account::new(MemberId::new(customer), opened);
        let mut prior = 0u32;
        for (k, &(at, amount)) in purchases.iter().enumerate() {
            let day = at.date();
            if amount <= Decimal::ZERO {
                without_points += 1;
                continue;
            }
            let total = Money::new(amount, currency);
            let order = Order::new(vec![OrderLine::new("purchase", total)]);
            let mut context = EarnContext::new(day).prior_orders(prior);
            if let Some(cap) = rules.period_cap_rule() {
                context = context.earned_in_period(account.earned_since(cap.period.start(day)));
            }
            prior = prior.saturating_add(1);
            let quote = rules.quote(&order, &context)?;
            if quote.awarded == Points::ZERO {
                without_points += 1;
                continue;
            }
            let request = EarnRequest::from_quote(&quote).for_order(total);
            account.earn(program, OpKey::new(k as u128), &request, day)?;
        }
        account.expire(program, end.date())?;
        accounts.push(account);
    }
    let mut earned = TotalPoints::ZERO;
    let mut expired = TotalPoints::ZERO;
    for a in &accounts {
        let t = a.totals();
        earned = earned.checked_add_total(t.earned)?;
        expired = expired.checked_add_total(t.expired)?;
    }
    let liability = liability(&accounts, program.redemption(), Breakage::Given(breakage))?;
    Ok(PointsFacts {
        source: source.to_string(),
        members: accounts.iter().filter(|a| a.totals().earned > Points::ZERO).count() as u64,
        earned,
        expired,
        liability,
        without_points,
    })
}
