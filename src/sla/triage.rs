//! Triage: which open conversation to answer first.
//!
//! Sellers say "give priority to replying to old customers", but not at the price of a
//! breach. The order is an explicit policy ([`TriageOptions`]), in four bands, each ordered
//! by deadline:
//!
//! 1. **Breached**: the deadline is at or before `now`; earliest first.
//! 2. **Urgent, priority customers**: the deadline is within
//!    [`TriageOptions::urgent_within`] of `now` (default 24 hours) and the customer is a
//!    priority customer: returning, or worth at least [`TriageOptions::priority_value`]
//!    when the host sets one.
//! 3. **Urgent, other customers**: the deadline is within the band.
//! 4. **Later**: deadlines beyond the band, then conversations without a deadline.
//!
//! Within a band: earliest deadline first, then priority customers, then higher value, then
//! by id, then by input position, so the order is total and deterministic. An urgency band of
//! zero gives the plain earliest-deadline order (priority only breaking ties).
//!
//! # Example
//!
//! ```
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use loyalty::sla::{triage, CustomerKind, TriageItem, TriageOptions};
//! use rust_decimal::Decimal;
//!
//! let now = Utc.with_ymd_and_hms(2024, 6, 3, 9, 0, 0).unwrap();
//! let h = |n| now + TimeDelta::hours(n);
//! let items = [
//!     TriageItem::new("new, due in 2 h", Some(h(2)), CustomerKind::New, Decimal::from(300)),
//!     TriageItem::new("old, due in 6 h", Some(h(6)), CustomerKind::Returning, Decimal::from(2400)),
//!     TriageItem::new("breached", Some(h(-1)), CustomerKind::New, Decimal::from(10)),
//!     TriageItem::new("old, due in 3 days", Some(h(72)), CustomerKind::Returning, Decimal::from(5000)),
//! ];
//! assert_eq!(triage(&items, now, &TriageOptions::default()), vec![2, 1, 0, 3]);
//! ```

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::duration::TimeSpan;
use super::evaluate::Evaluation;
use super::policy::CustomerKind;
use crate::error::{Error, Result};

/// One open conversation to rank.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TriageItem {
    /// The host's conversation id (last tie-break).
    pub id: String,
    /// The earliest open deadline ([`Evaluation::next_deadline`]).
    pub deadline: Option<DateTime<Utc>>,
    /// New or returning customer.
    pub customer: CustomerKind,
    /// The customer's value (any comparable money-like score, e.g. CLV).
    pub value: Decimal,
}

impl TriageItem {
    /// An item.
    #[must_use]
    pub fn new(
        id: impl Into<String>,
        deadline: Option<DateTime<Utc>>,
        customer: CustomerKind,
        value: Decimal,
    ) -> TriageItem {
        TriageItem { id: id.into(), deadline, customer, value }
    }

    /// An item whose deadline is the evaluation's next open deadline.
    #[must_use]
    pub fn from_evaluation(
        id: impl Into<String>,
        eval: &Evaluation,
        customer: CustomerKind,
        value: Decimal,
    ) -> TriageItem {
        TriageItem::new(id, eval.next_deadline(), customer, value)
    }
}

/// The triage policy (see the module docs). Read back through serde, it is checked as
/// [`TriageOptions::urgent_within`] checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "TriageOptionsRepr"))]
pub struct TriageOptions {
    urgent_within: TimeSpan,
    priority_value: Option<Decimal>,
}

/// Wire form of [`TriageOptions`], validated on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct TriageOptionsRepr {
    urgent_within: TimeSpan,
    priority_value: Option<Decimal>,
}

#[cfg(feature = "serde")]
impl TryFrom<TriageOptionsRepr> for TriageOptions {
    type Error = Error;
    fn try_from(r: TriageOptionsRepr) -> Result<TriageOptions> {
        let o = TriageOptions::default().urgent_within(r.urgent_within)?;
        Ok(TriageOptions { priority_value: r.priority_value, ..o })
    }
}

impl Default for TriageOptions {
    /// Urgent within 24 hours; priority customers are the returning ones.
    fn default() -> TriageOptions {
        TriageOptions { urgent_within: TimeSpan::seconds(86_400), priority_value: None }
    }
}

impl TriageOptions {
    /// Deadlines at most `span` after `now` are urgent, and priority customers go first
    /// among them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a negative span.
    pub fn urgent_within(mut self, span: TimeSpan) -> Result<TriageOptions> {
        if span.is_negative() {
            return Err(Error::invalid("urgency band", span, "must not be negative"));
        }
        self.urgent_within = span;
        Ok(self)
    }

    /// Customers worth at least `value` are priority customers too (new or returning).
    #[must_use]
    pub fn priority_value(mut self, value: Decimal) -> TriageOptions {
        self.priority_value = Some(value);
        self
    }

    fn is_priority(&self, item: &TriageItem) -> bool {
        item.customer == CustomerKind::Returning
            || self.priority_value.is_some_and(|v| item.value >= v)
    }

    /// The band of an item: 0 breached, 1 urgent priority, 2 urgent, 3 later.
    fn band(&self, item: &TriageItem, now: DateTime<Utc>) -> u8 {
        match item.deadline {
            Some(d) if d <= now => 0,
            Some(d) if d.timestamp() - now.timestamp() <= self.urgent_within.as_secs() => {
                if self.is_priority(item) {
                    1
                } else {
                    2
                }
            }
            _ => 3,
        }
    }
}

fn urgency(a: &TriageItem, b: &TriageItem, now: DateTime<Utc>, o: &TriageOptions) -> Ordering {
    let deadline = match (a.deadline, b.deadline) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    o.band(a, now)
        .cmp(&o.band(b, now))
        .then(deadline)
        .then_with(|| o.is_priority(b).cmp(&o.is_priority(a)))
        .then_with(|| b.value.cmp(&a.value))
        .then_with(|| a.id.cmp(&b.id))
}

/// Indices of `items`, most urgent first at `now` under `options` (see the module docs).
#[must_use]
pub fn triage(items: &[TriageItem], now: DateTime<Utc>, options: &TriageOptions) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    // Stable sort: equal items keep their input order, the final tie-break.
    order.sort_by(|&i, &j| match (items.get(i), items.get(j)) {
        (Some(a), Some(b)) => urgency(a, b, now, options),
        _ => Ordering::Equal,
    });
    order
}
