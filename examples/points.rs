//! A cross-border shop runs a points program: earn (pending through the return window),
//! redeem at checkout, a partial refund, and expiry, printing the member's ledger.
//!
//! `cargo run --example points`

use chrono::NaiveDate;
use loyalty::points::{
    Account, ClawbackPolicy, EarnContext, EarnRequest, EarnRules, Entry, EntryKind, Expiry,
    Inclusion, MemberId, OpKey, Order, OrderLine, Pending, PeriodEnd, Points, Program,
    RedeemRequest, RedemptionRules, RefundRequest, Span,
};
use loyalty::{Currency, ExchangeRate, ExchangeRates, Money, Multiplier, Rounding, Share};
use rust_decimal::dec;

fn main() -> Result<(), loyalty::Error> {
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("valid date");
    let usd = |x| Money::new(x, Currency::USD);
    let eur = |x| Money::new(x, Currency::EUR);

    // The shop's program, in USD: 1 point per dollar of items (shipping excluded, rounded
    // half-up once), 100 points = $10 off, at least 100 points and at most half an order;
    // points live 6 months, to the end of that month; refunds may leave a debt.
    let rules = EarnRules::new(Currency::USD, dec!(1))?
        .shipping(Inclusion::Excluded)
        .rounding(Rounding::HalfUp)
        .first_order_bonus(Points::new(50));
    let redemption = RedemptionRules::new(Points::new(100), usd(dec!(10)))?
        .minimum(Points::new(100))?
        .max_share_of_order(Share::from_percent(dec!(50))?);
    let program = Program::new(rules, redemption)?
        .expiry(Expiry::rolling(Span::Months(6))?.rounded_up(PeriodEnd::Month))
        .clawback(ClawbackPolicy::CarryDebt);
    let mut rates = ExchangeRates::new(Currency::USD);
    rates.insert(ExchangeRate::new(Currency::EUR, Currency::USD, dec!(1.0850))?)?;

    let mut member = Account::new(MemberId::new(1001), day(3, 1));

    // 1. A customer in Germany orders 180 EUR of goods plus 12 EUR shipping.
    let order = Order::new(vec![
        OrderLine::new("boots", eur(dec!(129.00))).category("shoes"),
        OrderLine::new("socks", eur(dec!(51.00))),
    ])
    .shipping(eur(dec!(12.00)));
    let ctx = EarnContext::new(day(3, 2))
        .rates(&rates)
        .tier(Multiplier::new(dec!(1.25))?)
        .prior_orders(0);
    let quote = program.earn_rules().quote(&order, &ctx)?;
    println!("Earn quote for order A (EUR, normalised at 1.0850):\n{quote}\n");
    let earn = EarnRequest::from_quote(&quote)
        .for_order(eur(dec!(192.00)))
        .pending(Pending::Until(day(3, 16)));
    member.earn(&program, OpKey::new(1), &earn, day(3, 2))?;
    // The webhook is delivered twice: nothing changes.
    member.earn(&program, OpKey::new(1), &earn, day(3, 3))?;

    // 2. The return window ends on 16 March: the points become spendable.
    member.expire(&program, day(3, 16))?;

    // 3. At checkout for a $90 order the customer redeems 200 points ($20).
    let checkout = RedeemRequest::new(Points::new(200), usd(dec!(90)));
    let hold = member.reserve(&program, OpKey::new(2), &checkout, day(4, 2))?;
    let reservation = hold.reservation.expect("a reservation");
    member.commit(&program, OpKey::new(3), reservation, day(4, 2))?;
    println!("Redeemed {} for {}", hold.points, hold.value);

    // 4. The boots go back: 129 of 192 EUR refunded. The points recorded for the order are
    // clawed back in proportion; what was already spent becomes debt.
    let refund = member.refund(
        &program,
        OpKey::new(4),
        &RefundRequest::new(OpKey::new(1), eur(dec!(129.00))),
        day(4, 10),
    )?;
    println!("Refund clawback: {refund:?}");

    // 5. A second order repays the debt first.
    let quote = program.earn_rules().quote(
        &Order::new(vec![OrderLine::new("coat", usd(dec!(150.00)))]),
        &EarnContext::new(day(5, 1)),
    )?;
    member.earn(&program, OpKey::new(5), &EarnRequest::from_quote(&quote), day(5, 1))?;

    // 6. Warnings, then expiry at the end of November.
    for lot in member.expiring_before(&program, day(12, 1)) {
        println!("Warning: {} valid through {}", lot.points, lot.valid_through);
    }
    member.expire(&program, day(12, 1))?;
    member.check()?;

    println!("\nLedger of {}:", member.member());
    println!("{:<10} {:>4}  {:<60} draws", "date", "key", "entry");
    for e in member.entries() {
        println!("{:<10} {:>4}  {:<60} {:?}", e.at(), key(e), describe(e), member.draws(e));
    }
    let b = member.balances();
    let t = member.totals();
    println!(
        "\navailable {}, pending {}, reserved {}, debt {}",
        b.available, b.pending, b.reserved, b.debt
    );
    println!(
        "earned {} = redeemed {} + expired {} + clawed back {} + held {} - debt {}",
        t.earned,
        t.redeemed,
        t.expired,
        t.clawed_back,
        b.outstanding()?,
        b.debt
    );
    Ok(())
}

fn key(e: &Entry) -> String {
    e.key().map_or_else(|| "-".to_string(), |k| k.to_string())
}

fn describe(e: &Entry) -> String {
    match e.kind() {
        EntryKind::Earn { request, outcome } => {
            format!(
                "earn {} into {} (valid through {:?})",
                request.points(),
                outcome.lot,
                outcome.valid_through
            )
        }
        EntryKind::Activate { outcome, .. } => format!(
            "activate {} in {}, valid through {:?}, {} repaid debt",
            outcome.points, outcome.lot, outcome.valid_through, outcome.debt_repaid
        ),
        EntryKind::Reserve { outcome, .. } => {
            format!("reserve {} worth {}", outcome.points, outcome.value)
        }
        EntryKind::Commit { reservation, points } => format!("commit {reservation}: {points}"),
        EntryKind::Refund { outcome, .. } => format!(
            "refund: requested {}, taken {} + {}, debt {}",
            outcome.requested, outcome.from_pending, outcome.from_available, outcome.debt
        ),
        EntryKind::Expire { points } => format!("expire {points}"),
        other => format!("{other:?}"),
    }
}
