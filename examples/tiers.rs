//! A member rising from bronze to gold during 2024 and falling back at the period ends.
//!
//! `cargo run --example tiers`

use chrono::{NaiveDate, NaiveDateTime};
use loyalty::referral::{MemberId, ReferralBook, ReferralRules, Reward};
use loyalty::tiers::{
    Benefit, Benefits, Demotion, Grace, Ladder, MarginGuard, MemberDiscount, Metric, Policy,
    Program, QualifyingEvent, RefundScope, Tier, Window,
};
use loyalty::{Currency, Money, Multiplier, Rounding, Share};
use rust_decimal::dec;

fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .unwrap_or(NaiveDateTime::MIN)
}

fn main() -> Result<(), loyalty::Error> {
    let pct = |p| Share::from_percent(p);
    let ladder = Ladder::new(
        Metric::Spend,
        vec![
            Tier::new("bronze", dec!(0))?
                .with_benefits(Benefits::new(vec![Benefit::BirthdayCoupon(pct(dec!(10))?)])?),
            Tier::new("silver", dec!(500))?.with_benefits(Benefits::new(vec![
                Benefit::Discount(pct(dec!(2))?),
                Benefit::PointsMultiplier(Multiplier::new(dec!(1.25))?),
                Benefit::EarlyAccess,
            ])?),
            Tier::new("gold", dec!(2000))?.with_benefits(Benefits::new(vec![
                Benefit::Discount(pct(dec!(5))?),
                Benefit::PointsMultiplier(Multiplier::new(dec!(1.5))?),
                Benefit::FreeShipping,
                Benefit::EarlyAccess,
                Benefit::Custom { key: "personal_service".into(), value: "yes".into() },
            ])?),
        ],
    )?;
    let policy = Policy::default().demotion(Demotion::OneLevel).grace(Grace::days(14)?);
    let program = Program::new(ladder, Window::CalendarYear, policy)?;
    println!("Program: {} on spend, {:?}", program.window(), program.policy());

    let joined = NaiveDate::from_ymd_opt(2024, 1, 15).unwrap_or_default();
    let history = [
        QualifyingEvent::order(at(2024, 1, 15), dec!(120))?,
        QualifyingEvent::order(at(2024, 4, 2), dec!(450))?,
        QualifyingEvent::order(at(2024, 9, 30), dec!(900))?,
        QualifyingEvent::refund(at(2024, 10, 8), dec!(300), RefundScope::Partial)?,
        QualifyingEvent::order(at(2024, 11, 29), dec!(1200))?,
        QualifyingEvent::order(at(2025, 3, 3), dec!(700))?,
    ];

    for now in [at(2024, 6, 30), at(2024, 12, 31), at(2025, 6, 30), at(2026, 1, 10)] {
        let p = program.progress(joined, &history, now)?;
        let tier = program.ladder().name(p.standing.tier);
        print!("{now}: {tier}, {} this year", p.standing.figures);
        if let Some(next) = p.next {
            print!("; {}", next.describe(program.ladder()));
        }
        if let Some(keep) = p.keep {
            let by = p.keep_by.unwrap_or(now);
            print!("; to keep {tier} by {by}: {}", keep.describe(program.ladder()));
        }
        let grace = if p.projected_pending { " (in a grace period)" } else { "" };
        println!("; after the period end: {}{grace}", program.ladder().name(p.projected));
    }

    let s = program.evaluate(joined, &history, at(2027, 1, 20))?;
    println!("\nEvery change up to 2027-01-20:");
    for e in &s.events {
        println!("  {}", e.describe(program.ladder()));
    }

    // A gold order: 5 % member discount from the tier, points at 1.5x, capped together at 8 %.
    let gold = program.ladder().tier(2).map(|t| t.benefits().clone()).unwrap_or_default();
    let order = Money::new(dec!(240), Currency::USD);
    let discount = gold.discount().of(order)?.round(Rounding::HalfUp);
    let points_value =
        Money::new(dec!(240) * gold.multiplier().value() * dec!(0.04), Currency::USD);
    let guarded = MarginGuard::new(pct(dec!(8))?).apply(order, discount, points_value)?;
    println!(
        "\nGold order of {order}: discount {}, points worth {} -> after the 8 % guard: {} + {} ({:?})",
        discount, points_value, guarded.discount, guarded.points_value, guarded.applied
    );

    // The cumulative-spend discount schedule, apart from points.
    let schedule =
        MemberDiscount::new(vec![(dec!(1000), pct(dec!(2))?), (dec!(3000), pct(dec!(5))?)])?;
    let spend = loyalty::tiers::cumulative_spend(&history, at(2025, 6, 30))?;
    println!("Cumulative spend {spend}: member discount {}", schedule.rate(spend));

    // A referral paid once the friend's first order clears the 30-day return window.
    let usd = |a| Money::new(a, Currency::USD);
    let mut book = ReferralBook::new(ReferralRules::new(
        Reward::money(usd(dec!(20)))?,
        Reward::points(250)?,
        usd(dec!(50)),
        30,
    )?);
    let (member, friend) = (MemberId::new("member-1")?, MemberId::new("friend-1")?);
    book.refer(member, friend.clone(), at(2025, 2, 1))?;
    book.first_order(&friend, usd(dec!(80)), at(2025, 2, 3))?;
    for p in book.settle(at(2025, 3, 5))?.payouts {
        println!(
            "Referral cleared {}: {} gets {}, {} gets {}",
            p.cleared_at,
            p.referrer,
            p.referrer_reward.map_or("nothing".to_string(), |r| r.to_string()),
            p.referee,
            p.referee_reward.map_or("nothing".to_string(), |r| r.to_string())
        );
    }
    Ok(())
}
