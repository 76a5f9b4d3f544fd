//! Triage: which open conversation to answer first.
//!
//! Order: the earliest deadline first (conversations without one last); on equal deadlines the
//! customer with the higher value (for example predicted CLV) first, then returning customers
//! before new ones ("old customers are answered first"), then by id, then by input position,
//! so the order is total and deterministic.
//!
//! # Example
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use loyalty::sla::{triage, CustomerKind, TriageItem};
//! use rust_decimal::Decimal;
//!
//! let noon = Utc.with_ymd_and_hms(2024, 6, 3, 12, 0, 0).unwrap();
//! let items = [
//!     TriageItem::new("a", Some(noon), CustomerKind::New, Decimal::from(10)),
//!     TriageItem::new("b", Some(noon), CustomerKind::Returning, Decimal::from(900)),
//!     TriageItem::new("c", None, CustomerKind::Returning, Decimal::from(5000)),
//! ];
//! assert_eq!(triage(&items), vec![1, 0, 2]);
//! ```

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::evaluate::Evaluation;
use super::policy::CustomerKind;

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

fn urgency(a: &TriageItem, b: &TriageItem) -> Ordering {
    let deadline = match (a.deadline, b.deadline) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    deadline
        .then_with(|| b.value.cmp(&a.value))
        .then_with(|| b.customer.cmp(&a.customer))
        .then_with(|| a.id.cmp(&b.id))
}

/// Indices of `items`, most urgent first (see the module docs for the order).
#[must_use]
pub fn triage(items: &[TriageItem]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    // Stable sort: equal items keep their input order, the final tie-break.
    order.sort_by(|&i, &j| match (items.get(i), items.get(j)) {
        (Some(a), Some(b)) => urgency(a, b),
        _ => Ordering::Equal,
    });
    order
}
