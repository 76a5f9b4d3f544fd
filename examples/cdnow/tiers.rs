//! Tiers section: the tier distribution at the end of the log (1998-06-30) under two
//! ladders, the cumulative-spend member discount, and one member's history explained.

use std::time::Instant;

use chrono::{NaiveDate, NaiveDateTime};
use loyalty::tiers::{
    Demotion, Ladder, MemberDiscount, Metric, Policy, Program, QualifyingEvent, Standing, Tier,
    Window,
};
use loyalty::{Error, Share};
use rust_decimal::{dec, Decimal};

use super::data::Purchase;

fn ladder() -> Result<Ladder, Error> {
    Ladder::new(
        Metric::Spend,
        vec![
            Tier::new("bronze", Decimal::ZERO)?,
            Tier::new("silver", dec!(100))?,
            Tier::new("gold", dec!(300))?,
        ],
    )
}

struct Member {
    customer: u32,
    joined: NaiveDate,
    history: Vec<QualifyingEvent>,
}

fn members(log: &[Purchase]) -> Result<Vec<Member>, Error> {
    let mut sorted: Vec<&Purchase> = log.iter().collect();
    sorted.sort_by_key(|p| (p.customer, p.date));
    let mut out: Vec<Member> = Vec::new();
    let mut last_customer = None;
    for p in sorted {
        let at = p.date.and_hms_opt(0, 0, 0).unwrap_or(NaiveDateTime::MIN);
        let event = QualifyingEvent::order(at, p.amount)?;
        match out.last_mut() {
            Some(m) if last_customer == Some(p.customer) => m.history.push(event),
            _ => out.push(Member { customer: p.customer, joined: p.date, history: vec![event] }),
        }
        last_customer = Some(p.customer);
    }
    Ok(out)
}

fn distribution(
    program: &Program,
    members: &[Member],
    now: NaiveDateTime,
) -> Result<(Vec<usize>, usize, Vec<Standing>), Error> {
    let input: Vec<(NaiveDate, &[QualifyingEvent])> =
        members.iter().map(|m| (m.joined, m.history.as_slice())).collect();
    let standings = program.evaluate_all(&input, now)?;
    let mut counts = vec![0usize; program.ladder().tiers().len() + 1];
    let mut changes = 0;
    for s in &standings {
        counts[s.tier.map_or(0, |r| r + 1)] += 1;
        changes += s.events.len();
    }
    Ok((counts, changes, standings))
}

/// Prints the section.
pub fn report(log: &[Purchase]) {
    if let Err(e) = run(log) {
        println!("tiers section failed: {e}");
    }
}

fn run(log: &[Purchase]) -> Result<(), Error> {
    println!();
    println!("== Tiers at the end of the log ==");
    let now = NaiveDate::from_ymd_opt(1998, 6, 30)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .unwrap_or(NaiveDateTime::MIN);
    let members = members(log)?;
    println!("Ladder on spend: bronze >= $0, silver >= $100, gold >= $300; promotion at once;");
    println!("evaluated at {now} for {} members (joined = first purchase).", members.len());
    let programs = [
        (
            "rolling 12 months, reviewed every 12 months from joining, full re-evaluation",
            Program::new(
                ladder()?,
                Window::rolling_months(12)?,
                Policy::default().demotion(Demotion::Reevaluate),
            )?,
        ),
        (
            "rolling 12 months, reviewed monthly, full re-evaluation",
            Program::new(
                ladder()?,
                Window::rolling(12, 1)?,
                Policy::default().demotion(Demotion::Reevaluate),
            )?,
        ),
        (
            "calendar year, one level down per year end",
            Program::new(
                ladder()?,
                Window::CalendarYear,
                Policy::default().demotion(Demotion::OneLevel),
            )?,
        ),
        (
            "lifetime spend, never demoted",
            Program::new(ladder()?, Window::Lifetime, Policy::default())?,
        ),
    ];
    println!(
        "{:<78} {:>8} {:>8} {:>8} {:>9}",
        "window and policy", "bronze", "silver", "gold", "changes"
    );
    let mut explained = None;
    for (label, program) in &programs {
        let started = Instant::now();
        let (counts, changes, standings) = distribution(program, &members, now)?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{label:<78} {:>8} {:>8} {:>8} {:>9}   ({:.0} members/s)",
            counts[1],
            counts[2],
            counts[3],
            changes,
            members.len() as f64 / secs.max(1e-9)
        );
        if explained.is_none() {
            // The member with the most tier changes under the first program.
            let best =
                standings.iter().enumerate().max_by_key(|(i, s)| (s.events.len(), usize::MAX - i));
            explained = best.map(|(i, s)| (i, s.clone(), program.clone()));
        }
    }
    if let Some((i, s, program)) = explained {
        if let Some(m) = members.get(i) {
            println!(
                "Customer {} (first purchase {}), the most tier changes under the first program:",
                m.customer, m.joined
            );
        }
        for e in &s.events {
            println!("  {}", e.describe(program.ladder()));
        }
    }

    let pct = |p: i64| Share::from_percent(Decimal::from(p));
    let schedule = MemberDiscount::new(vec![(dec!(100), pct(2)?), (dec!(300), pct(5)?)])?;
    let mut at = [0usize; 3];
    for m in &members {
        let spend = loyalty::tiers::cumulative_spend(&m.history, now)?;
        let rate = schedule.rate(spend);
        at[if rate == Share::ZERO {
            0
        } else if rate == pct(2)? {
            1
        } else {
            2
        }] += 1;
    }
    println!(
        "Member discount on lifetime spend ($100 -> 2 %, $300 -> 5 %): none {}, 2 % {}, 5 % {}\n(the same split as the lifetime ladder: the schedule is a lifetime-spend ladder)",
        at[0], at[1], at[2]
    );
    Ok(())
}
