//! Reply SLAs: business calendars, policies, breach checks and triage.
//!
//! "Emails from old customers must be replied to the same day; if a problem needs more time,
//! tell the customer the message was received, and never reply later than three days." A
//! cross-border shop answers across time zones, weekends and holidays; this module turns such
//! rules into deadlines, breach flags and a work queue, as pure functions of the events and
//! `now` (helpdesk semantics from Zendesk, Freshdesk, JSM and Intercom; business-time semantics
//! from `workclock` and `biz`, see the crate's `reply-sla` reference).
//!
//! - [`Calendar`]: an IANA zone, weekly [`Shift`]s (several a day, overnight), [`Holiday`]s and
//!   date overrides; [`Calendar::is_open`], [`Calendar::next_open`], [`Calendar::add`],
//!   [`Calendar::add_business_days`], [`Calendar::between`]. DST gaps and folds follow one
//!   documented rule; ordinary stretches of days are skipped in O(1).
//! - [`TimeSpan`] and [`Target`]: calendar time, working time, or a business-day count, with
//!   the meaning of "1 day" pinned in the [`Target`] docs.
//! - [`Policy`] / [`PolicySet`]: ordered filters over [`CustomerFacts`], first match wins, a
//!   catch-all required or synthesised, shadowed policies reported; targets per [`Metric`], an
//!   absolute cap, the [`MessageKind`]s that count as a reply, the [`Status`]es that pause.
//! - [`evaluate`]: events → one [`CycleReport`] per metric cycle (state, deadline, breach,
//!   remaining time, [`Risk`]).
//! - [`triage`]: open conversations in an explicit order ([`TriageOptions`]): breached first,
//!   then returning (or high-value) customers due within an urgency band, then the rest of
//!   the band, then later deadlines; by deadline within each.
//!
//! Everything round-trips through serde (with the `serde` feature); calendars and policies are
//! validated again on deserialisation.
//!
//! # Example
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use loyalty::sla::{
//!     evaluate, Calendar, CustomerKind, EvaluateOptions, Event, Filter, MessageKind, Metric,
//!     Policy, Shift, Target, Targets, TimeSpan,
//! };
//!
//! // A Shanghai shop, Mon-Fri 09:00-12:00 and 13:00-18:00, closed on National Day.
//! let cal = Calendar::builder("Asia/Shanghai")
//!     .weekdays(&[Shift::hm(9, 0, 12, 0)?, Shift::hm(13, 0, 18, 0)?])
//!     .holiday(NaiveDate::from_ymd_opt(2024, 10, 1).unwrap())
//!     .build()?;
//! let policy = Policy::new(
//!     "returning customers",
//!     Filter::any().customer(CustomerKind::Returning),
//!     Targets::none().first_reply(Target::business_days(0)).resolution(Target::business_days(3)),
//! )?
//! .reply_kinds(&[MessageKind::AgentReply, MessageKind::AutoAcknowledgement])?
//! .cap(TimeSpan::days(3)?)?;
//!
//! // A customer in Berlin writes on Monday 2024-09-30 at 20:00 Shanghai time (12:00 UTC).
//! let msg = Utc.with_ymd_and_hms(2024, 9, 30, 12, 0, 0).unwrap();
//! let now = Utc.with_ymd_and_hms(2024, 10, 1, 2, 0, 0).unwrap();
//! let eval = evaluate(&[Event::customer_message(msg)], &policy, &[cal], now, &EvaluateOptions::default())?;
//! let first = eval.current(Metric::FirstReply).unwrap();
//! // Tuesday is a holiday: "same business day" is Wednesday's close, 18:00 Shanghai.
//! assert_eq!(first.deadline, Some(Utc.with_ymd_and_hms(2024, 10, 2, 10, 0, 0).unwrap()));
//! // Resolution: 3 business days would be Friday, but the cap says 3 calendar days.
//! let res = eval.current(Metric::Resolution).unwrap();
//! assert_eq!(res.deadline, Some(msg + chrono::TimeDelta::days(3)));
//! # Ok::<(), loyalty::Error>(())
//! ```

mod calendar;
mod duration;
mod evaluate;
mod policy;
#[cfg(feature = "serde")]
mod policy_stored;
mod triage;
mod zone;

pub use calendar::{Calendar, CalendarBuilder, CalendarSpec, DateHours, Holiday, Shift};
pub use duration::{Cap, Target, TimeSpan};
pub use evaluate::{
    evaluate, CycleReport, CycleState, EvaluateOptions, Evaluation, Event, EventKind, Risk,
};
pub use policy::{
    CatchAll, CustomerFacts, CustomerKind, Filter, MessageKind, Metric, Policy, PolicySet,
    PolicyWarning, Priority, Status, Targets,
};
pub use triage::{triage, TriageItem, TriageOptions};
