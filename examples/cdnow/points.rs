//! Points section of the CDNOW report: a program run over the whole log.
//!
//! 1 point per dollar paid (floor), 100 points = $10 off, points valid 12 months after they
//! are earned, and every customer redeems whenever they can: at each purchase, before
//! earning, as many whole 100-point steps as they hold, up to the order's amount. Points are
//! earned on what was paid in cash (the discount part earns nothing).

use std::time::Instant;

use loyalty::points::{
    liability, Account, Breakage, EarnContext, EarnRequest, EarnRules, Expiry, MemberId, OpKey,
    Order, OrderLine, Points, Program, RedeemRequest, RedemptionRules, Span,
};
use loyalty::{Currency, Money, Share};
use rust_decimal::Decimal;

use super::data::Purchase;

pub fn report(log: &[Purchase]) {
    if let Err(e) = run(log) {
        println!("points: error: {e}");
    }
}

fn run(log: &[Purchase]) -> loyalty::Result<()> {
    let usd = |x: Decimal| Money::new(x, Currency::USD);
    let redemption = RedemptionRules::new(Points::new(100), usd(Decimal::TEN))?
        .minimum(Points::new(100))?
        .increment(Points::new(100))?
        .max_share_of_order(Share::ONE);
    let program = Program::new(EarnRules::new(Currency::USD, Decimal::ONE)?, redemption)?
        .expiry(Expiry::rolling(Span::Months(12))?);
    let Some(end) = log.iter().map(|p| p.date).max() else {
        println!("points: empty log");
        return Ok(());
    };

    let started = Instant::now();
    let mut accounts: Vec<Account> = Vec::new();
    let (mut ops, mut free_orders) = (0u64, 0u64);
    let mut discount = Decimal::ZERO;
    let mut i = 0;
    while i < log.len() {
        let customer = log[i].customer;
        let mut j = i;
        while j < log.len() && log[j].customer == customer {
            j += 1;
        }
        let mut purchases: Vec<&Purchase> = log[i..j].iter().collect();
        purchases.sort_by_key(|p| p.date);
        let mut acct = Account::new(MemberId::new(u64::from(customer)), purchases[0].date);
        let mut key = 0u128;
        for p in purchases {
            let mut next = || {
                key += 1;
                OpKey::new(key)
            };
            // Redeem whatever whole steps the customer holds, up to the order amount.
            acct.expire(&program, p.date)?;
            let held = acct.balances().available.value() / 100;
            let affordable = (p.amount / Decimal::TEN).floor();
            let steps = Decimal::from(held).min(affordable);
            let mut paid_with_points = Decimal::ZERO;
            if steps > Decimal::ZERO {
                let points = Points::new(100 * u64::try_from(steps.mantissa()).unwrap_or(0));
                let r = acct.redeem(
                    &program,
                    next(),
                    &RedeemRequest::new(points, usd(p.amount)),
                    p.date,
                )?;
                paid_with_points = r.value.amount();
                discount += paid_with_points;
                ops += 1;
            }
            if p.amount - paid_with_points <= Decimal::ZERO {
                free_orders += 1;
                continue;
            }
            let order = Order::new(vec![OrderLine::new("cds", usd(p.amount))])
                .paid_with_points(usd(paid_with_points));
            let quote = program.earn_rules().quote(&order, &EarnContext::new(p.date))?;
            if quote.awarded.is_zero() {
                continue;
            }
            let earn = EarnRequest::from_quote(&quote).for_order(usd(p.amount));
            acct.earn(&program, next(), &earn, p.date)?;
            ops += 1;
        }
        acct.expire(&program, end)?;
        acct.check()?;
        accounts.push(acct);
        i = j;
    }
    let elapsed = started.elapsed();

    let sum = |f: fn(&Account) -> u128| accounts.iter().map(f).sum::<u128>();
    let issued = sum(|a| a.totals().earned.value());
    let redeemed = sum(|a| a.totals().redeemed.value());
    let expired = sum(|a| a.totals().expired.value());
    let outstanding = sum(|a| a.balances().available.value().into());
    println!(
        "== Points program (1 pt per $1, 100 pts = $10, 12-month expiry, redeem when possible) =="
    );
    println!("  customers                {:>12}", accounts.len());
    println!("  points issued            {issued:>12}");
    println!("  points redeemed          {redeemed:>12}   (${discount} of discounts)");
    println!("  points expired           {expired:>12}");
    println!("  points outstanding       {outstanding:>12}   (at {end})");
    println!("  orders fully paid by points {free_orders:>9}");
    let program_rules = program.redemption();
    let estimated = liability(&accounts, program_rules, Breakage::Estimated)?;
    println!(
        "  liability                {:>12}   (face {}, breakage {}% estimated from history)",
        estimated.liability.to_string(),
        estimated.face_value.round(loyalty::Rounding::HalfUp),
        estimated.breakage.percent().round_dp(1)
    );
    let given = liability(
        &accounts,
        program_rules,
        Breakage::Given(Share::from_percent(Decimal::from(30))?),
    )?;
    println!("  liability at 30% breakage {:>11}", given.liability.to_string());
    println!(
        "  ledger: {ops} operations in {:.1} ms; every account passes check()",
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}
