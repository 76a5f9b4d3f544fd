//! Tiers: bronze, silver, gold by what members spend, order or earn; their benefits; member
//! discounts by cumulative spend; and the margin guard.
//!
//! # Overview
//!
//! - A [`Ladder`] orders [`Tier`]s by strictly increasing thresholds of one [`Metric`]
//!   (spend, order count or points *earned*, never the spendable balance).
//! - A [`Window`] says over which time the metric is summed: lifetime, calendar year,
//!   quarter, month, rolling N months, or the membership year from the join date.
//! - A [`Program`] adds a [`Policy`]: [`PromotionTiming`], [`Demotion`] policy, [`Grace`]
//!   period and [`RefundEffect`]; tiers can be made permanent with [`TierRetention`].
//! - [`Program::evaluate`] replays a member's [`QualifyingEvent`]s up to `now` and returns a
//!   [`Standing`] with every [`TierEvent`], each carrying its [`Explanation`] (window, span,
//!   figure, threshold). Skipped tiers are listed in [`TierEvent::crossed`].
//!   [`Program::evaluate_all`] does the same for a slice of members.
//! - [`Program::progress`] adds how far the next tier is, what keeps the current one and the
//!   projected tier at the period end ([`Progress`]).
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
