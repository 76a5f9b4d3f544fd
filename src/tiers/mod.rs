//! Tiers: bronze, silver, gold by what members spend, order or earn; their benefits; member
//! discounts by cumulative spend; and the margin guard.
//!
//! # Overview
//!
//! - A [`Ladder`] orders [`Tier`]s by strictly increasing thresholds of one [`Metric`]
//!   (spend, order count or points *earned*, never the spendable balance), or by a
//!   [`Criterion`] per tier over several metrics: either-or ("gold if 6 orders or 3000
//!   spent", [`Criterion::any_of`]) or all of them ([`Criterion::all_of`]). The ladder checks
//!   its tiers are ordered: every route into a tier passes the tier below.
//! - A [`Window`] says over which time the metric is summed: lifetime, calendar year,
//!   quarter, month, rolling N months, or the membership year from the join date.
//! - A [`Program`] adds a [`Policy`]: [`PromotionTiming`], [`Demotion`] policy, [`Grace`]
//!   period and [`RefundEffect`]; tiers can be made permanent with [`TierRetention`].
//! - [`Program::evaluate`] replays a member's [`QualifyingEvent`]s up to `now` and returns a
//!   [`Standing`] with every [`TierEvent`], each carrying its [`Explanation`] (window, span,
//!   figure, threshold). Skipped tiers are listed in [`TierEvent::crossed`].
//!   [`Program::evaluate_all`] does the same for a slice of members.
//! - [`Program::progress`] adds how far the next tier is, what keeps the current one and the
//!   projected tier at the period end ([`Progress`]); a [`Gap`] holds the nearest route of
//!   an either-or criterion and every missing part of an all-of one.
//! - [`Benefits`] attach a discount, a points multiplier (input to the points rules), free
//!   shipping, early access, a birthday coupon or any [`Benefit::Custom`] to a tier.
//! - [`MemberDiscount`] is the "1000 in total: 2 % off, 3000: 5 % off" schedule, computed
//!   apart from points; [`MarginGuard`] caps discount plus points value on one order.
//!
//! Time is civil time in the program's time zone ([`chrono::NaiveDateTime`]); `now` is always
//! an argument. Month steps clamp to month ends ([`add_months`]).
//!
//! # Example
//!
//! ```
//! use chrono::NaiveDate;
//! use loyalty::tiers::{Demotion, Ladder, Metric, Policy, Program, QualifyingEvent, RefundScope, Tier, TierEventKind, Window};
//! use rust_decimal::Decimal;
//!
//! let at = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(10, 0, 0).unwrap();
//! let ladder = Ladder::new(Metric::Spend, vec![
//!     Tier::new("bronze", Decimal::ZERO)?,
//!     Tier::new("silver", Decimal::from(500))?,
//!     Tier::new("gold", Decimal::from(2000))?,
//! ])?;
//! let program = Program::new(ladder, Window::rolling_months(12)?, Policy::default().demotion(Demotion::Reevaluate))?;
//! let joined = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
//! let history = [
//!     QualifyingEvent::order(at(2024, 2, 1), Decimal::from(600))?,
//!     QualifyingEvent::refund(at(2024, 2, 20), Decimal::from(200), RefundScope::Partial)?,
//! ];
//! let s = program.evaluate(joined, &history, at(2024, 3, 1))?;
//! // Silver on the order, undone by the refund (400 < 500).
//! assert_eq!(s.tier, Some(0));
//! assert_eq!(s.events.last().unwrap().kind, TierEventKind::Reverted);
//! println!("{}", s.events[1].describe(program.ladder()));
//! # Ok::<(), loyalty::Error>(())
//! ```
//!
//! Either-or tiers: the member holds the highest tier whose criterion they meet; every
//! figure the ladder measures travels in [`Figures`], and events explain themselves with the
//! criterion met or missed.
//!
//! ```
//! use chrono::NaiveDate;
//! use loyalty::tiers::{Criterion, Figures, Ladder, Metric, Policy, Program, QualifyingEvent, Tier, Window};
//! use rust_decimal::Decimal;
//!
//! let at = |d| NaiveDate::from_ymd_opt(2024, 2, d).unwrap().and_hms_opt(10, 0, 0).unwrap();
//! let n = Decimal::from;
//! let ladder = Ladder::new(Metric::OrderCount, vec![
//!     Tier::new("silver", n(3))?,
//!     Tier::by_criterion("gold", Criterion::any_of([(Metric::OrderCount, n(6)), (Metric::Spend, n(3000))])?)?,
//! ]);
//! // Refused: gold's spend route would skip silver (3 orders only).
//! assert!(ladder.is_err());
//! let ladder = Ladder::new(Metric::OrderCount, vec![
//!     Tier::by_criterion("silver", Criterion::any_of([(Metric::OrderCount, n(3)), (Metric::Spend, n(1000))])?)?,
//!     Tier::by_criterion("gold", Criterion::any_of([(Metric::OrderCount, n(6)), (Metric::Spend, n(3000))])?)?,
//! ])?;
//! let program = Program::new(ladder, Window::CalendarYear, Policy::default())?;
//! let joined = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
//! // Five orders, 2900 spent: silver; gold is 100 spent away (nearer than a sixth order).
//! let history: Vec<_> = [1000, 1000, 500, 200, 200]
//!     .into_iter()
//!     .zip(1..)
//!     .map(|(amount, day)| QualifyingEvent::order(at(day), n(amount)))
//!     .collect::<Result<_, _>>()?;
//! let p = program.progress(joined, &history, at(20))?;
//! assert_eq!(p.standing.tier, Some(0));
//! let gold = p.next.unwrap();
//! assert_eq!(gold.needed, Figures::default().with(Metric::Spend, n(100)));
//! assert_eq!(gold.describe(program.ladder()), "100 more spend for gold (spend 3000 or orders 6)");
//! # Ok::<(), loyalty::Error>(())
//! ```
//!
//! # References
//!
//! Feature bar: the tier behaviour these vendors document (Talon.One tiers, Voucherify v2
//! downgrade and grace options, Yotpo tier terms, Smile entry rewards for every tier passed,
//! Open Loyalty #131 and ERPNext #22167).

mod benefits;
mod criterion;
mod discount;
mod evaluate;
mod history;
mod ladder;
mod progress;
mod window;

pub use benefits::{Benefit, Benefits};
pub use criterion::{Criterion, Figures, Join};
pub use discount::{
    cumulative_spend, spend_before, CapApplied, Guarded, MarginGuard, MemberDiscount, Trim,
};
pub use evaluate::{
    Cause, Demotion, Explanation, Grace, PendingDemotion, Policy, Program, PromotionTiming,
    RefundEffect, Standing, TierEvent, TierEventKind, Upper,
};
pub use history::{Activity, QualifyingEvent, Recorded, RefundScope};
pub use ladder::{Ladder, Metric, Requirement, Tier, TierRetention};
pub use progress::{Gap, Progress};
pub use window::{add_months, Lower, Period, Window};

#[cfg(test)]
mod tests;
