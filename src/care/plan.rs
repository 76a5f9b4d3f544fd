//! One run of the schedule ([`due`](super::due)), in named steps: the input sorted into
//! per-customer runs, then for each customer its candidates from the rules, the gates each
//! candidate must pass (consent, cool-down, quiet hours) and the contact caps.

use std::cmp::Reverse;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::pressure::local_or_err;
use super::rules::{self, Candidate, View};
use super::{
    Action, ActionKind, CareConfig, CareInput, CarePlan, Channel, Contact, ContactCap, Customer,
    CustomerId, GreetingDay, Held, HoldReason, Order, Pressure, Promotion, Purpose,
    QuietHoursPolicy, Scope, Timing,
};
use crate::error::Result;

/// The input sorted for a merge join by customer id.
///
/// Sorting, never hashing: outputs must not depend on iteration order. Sort keys are kept
/// inline next to the references, so sorting does not chase pointers; the full comparison
/// only breaks exact key ties.
pub(super) struct Sorted<'a> {
    pub customers: Vec<(CustomerId, &'a Customer)>,
    order_keys: Vec<CustomerId>,
    orders: Vec<&'a Order>,
    contacts: Vec<Contact>,
    promotions: Vec<&'a Promotion>,
    /// (tag, position in `promotions`) for every tag of every promotion, sorted.
    promotion_tags: Vec<(&'a str, usize)>,
    calendar: &'a super::FestivalCalendar,
    /// Where the next customer's orders and contacts start (customers are visited in order).
    next_order: usize,
    next_contact: usize,
}

impl<'a> Sorted<'a> {
    pub(super) fn new(input: &CareInput<'a>) -> Sorted<'a> {
        let mut customers: Vec<(CustomerId, &Customer)> =
            input.customers.iter().map(|c| (c.id, c)).collect();
        customers.sort_unstable_by_key(|c| c.0);
        let mut keyed: Vec<((CustomerId, NaiveDate), &Order)> =
            input.orders.iter().map(|o| ((o.customer, o.ordered), o)).collect();
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        let order_keys = keyed.iter().map(|k| k.0 .0).collect();
        let orders = keyed.into_iter().map(|k| k.1).collect();
        let mut contacts: Vec<Contact> = input.contacts.to_vec();
        contacts.sort_unstable();
        let mut promotions: Vec<&Promotion> = input.promotions.iter().collect();
        promotions
            .sort_unstable_by(|a, b| a.valid_until.cmp(&b.valid_until).then_with(|| a.cmp(b)));
        let mut promotion_tags: Vec<(&str, usize)> = promotions
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.tags.iter().map(move |t| (t.as_str(), i)))
            .collect();
        promotion_tags.sort_unstable();
        Sorted {
            customers,
            order_keys,
            orders,
            contacts,
            promotions,
            promotion_tags,
            calendar: input.calendar,
            next_order: 0,
            next_contact: 0,
        }
    }

    /// The ranges of `id`'s orders and contacts. Customers, orders and contacts are all
    /// sorted by customer id: they are walked together (sequential in memory) instead of
    /// searched per customer, so successive calls must use increasing ids.
    fn runs_of(&mut self, id: CustomerId) -> ((usize, usize), (usize, usize)) {
        let orders = run_of(&self.order_keys, &mut self.next_order, |k| *k, id);
        let contacts = run_of(&self.contacts, &mut self.next_contact, |c| c.customer, id);
        (orders, contacts)
    }
}

/// The range of `items[*next..]` whose key is `id`, skipping smaller keys; advances `next`
/// past it. `items` is sorted by key and successive calls use increasing ids.
fn run_of<T>(
    items: &[T],
    next: &mut usize,
    key: impl Fn(&T) -> CustomerId,
    id: CustomerId,
) -> (usize, usize) {
    let mut lo = *next;
    while lo < items.len() && key(&items[lo]) < id {
        lo += 1;
    }
    let mut hi = lo;
    while hi < items.len() && key(&items[hi]) == id {
        hi += 1;
    }
    *next = hi;
    (lo, hi)
}

/// The contact caps, the overall one first, then the scoped ones, each with the start of its
/// period; and per customer, the contacts each has seen and used.
pub(super) struct Caps {
    caps: Vec<(Scope, ContactCap, DateTime<Utc>)>,
    recent: Vec<u32>,
    used: Vec<u32>,
}

impl Caps {
    pub(super) fn new(pressure: &Pressure, now: DateTime<Utc>) -> Caps {
        // A period reaching before the start of representable time counts all history.
        let period_start = |days: u32| {
            now.checked_sub_signed(Duration::days(i64::from(days)))
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        };
        let caps: Vec<_> = std::iter::once((Scope::all(), pressure.cap))
            .chain(pressure.caps.iter().map(|c| (c.scope, c.cap)))
            .map(|(scope, cap)| (scope, cap, period_start(cap.period_days)))
            .collect();
        let n = caps.len();
        Caps { caps, recent: vec![0; n], used: vec![0; n] }
    }

    /// Counts a customer's contacts inside each cap's period and scope.
    fn start_customer(&mut self, contacts: &[Contact]) {
        for (k, (scope, _, start)) in self.caps.iter().enumerate() {
            let n = contacts
                .iter()
                .filter(|c| c.at > *start && scope.covers(c.channel, c.kind.purpose()))
                .count();
            self.recent[k] = u32::try_from(n).unwrap_or(u32::MAX);
            self.used[k] = self.recent[k];
        }
    }

    /// Takes one contact on `channel` for `purpose` from every cap covering it, or names
    /// the first cap already reached (and takes nothing).
    fn take(&mut self, channel: Channel, purpose: Purpose) -> std::result::Result<(), HoldReason> {
        let caps = &self.caps;
        let applies = |k: usize| caps[k].0.covers(Some(channel), purpose);
        if let Some(k) =
            (0..caps.len()).find(|&k| applies(k) && self.used[k] >= caps[k].1.max_contacts)
        {
            return Err(HoldReason::CapReached {
                max_contacts: caps[k].1.max_contacts,
                recent_contacts: self.recent[k],
            });
        }
        for (k, u) in self.used.iter_mut().enumerate() {
            if applies(k) {
                *u = u.saturating_add(1);
            }
        }
        Ok(())
    }
}

/// How one customer can be reached at `now`: the channel of each kind of action (the first
/// of its rule's channels the customer consented to for its purpose) and when a message may
/// go out (the end of the quiet hours of its channel and purpose).
struct Reach<'a> {
    config: &'a CareConfig,
    customer: &'a Customer,
    now: DateTime<Utc>,
    tz: Tz,
}

impl Reach<'_> {
    fn channel(&self, kind: ActionKind) -> Option<Channel> {
        let purpose = kind.purpose();
        self.config
            .base(kind)
            .channels
            .iter()
            .copied()
            .find(|&ch| self.customer.consents(ch, purpose))
    }

    fn send_time(&self, channel: Option<Channel>, purpose: Purpose) -> Result<DateTime<Utc>> {
        let pressure = &self.config.pressure;
        let quiet = match channel {
            Some(ch) => pressure.quiet_hours_for(ch, purpose),
            None => pressure.quiet_hours,
        };
        match quiet {
            Some(q) => q.next_allowed(self.now, self.tz),
            None => Ok(self.now),
        }
    }

    /// The local date a greeting of `kind` is judged on ([`GreetingDay`]).
    fn greeting_day(&self, kind: ActionKind, today: NaiveDate) -> Result<NaiveDate> {
        Ok(match self.config.pressure.greeting_day {
            GreetingDay::OnTheDay => {
                let at = self.send_time(self.channel(kind), kind.purpose())?;
                local_or_err(at, self.tz, "now")?.date()
            }
            GreetingDay::RunDate => today,
        })
    }
}

/// A candidate that passed the gates: its channel, priority and send time.
type Passed = (Candidate, Channel, u8, DateTime<Utc>);

/// Reusable buffers of one run.
#[derive(Default)]
pub(super) struct Scratch {
    candidates: Vec<Candidate>,
    passed: Vec<Passed>,
}

fn held(id: CustomerId, c: Candidate, hold: HoldReason) -> Held {
    Held { customer: id, kind: c.kind, reason: c.reason, trigger: c.trigger, hold }
}

/// Plans one customer: the rules' candidates, the gates, then the caps in priority order.
pub(super) fn customer(
    now: DateTime<Utc>,
    config: &CareConfig,
    sorted: &mut Sorted<'_>,
    (id, customer): (CustomerId, &Customer),
    caps: &mut Caps,
    scratch: &mut Scratch,
    plan: &mut CarePlan,
) -> Result<()> {
    let ((o_lo, o_hi), (c_lo, c_hi)) = sorted.runs_of(id);
    let tz = customer.time_zone;
    let today = local_or_err(now, tz, "now")?.date();
    let reach = Reach { config, customer, now, tz };
    let view = View {
        today,
        greeting_day: reach.greeting_day(ActionKind::Birthday, today)?,
        festival_day: reach.greeting_day(ActionKind::Festival, today)?,
        customer,
        orders: &sorted.orders[o_lo..o_hi],
        contacts: &sorted.contacts[c_lo..c_hi],
        calendar: sorted.calendar,
        promotions: &sorted.promotions,
        promotion_tags: &sorted.promotion_tags,
    };
    scratch.candidates.clear();
    rules::candidates(config, &view, &mut scratch.candidates)?;
    gate(&reach, &view, id, scratch, plan)?;
    if scratch.passed.is_empty() {
        return Ok(());
    }
    caps.start_customer(view.contacts);
    scratch.passed.sort_by_key(|(c, _, p, _)| (Reverse(*p), c.kind));
    for (c, channel, priority, send_at) in scratch.passed.drain(..) {
        let purpose = c.kind.purpose();
        if let Err(hold) = caps.take(channel, purpose) {
            plan.held.push(held(id, c, hold));
            continue;
        }
        plan.actions.push(Action {
            customer: id,
            kind: c.kind,
            reason: c.reason,
            trigger: c.trigger,
            channel,
            purpose,
            priority,
            language: customer.language.clone(),
            local_date: view.today,
            timing: if send_at == now { Timing::Now } else { Timing::Deferred },
            send_at,
        });
    }
    Ok(())
}

/// Moves each candidate to `scratch.passed` or to the held list: no consented channel, a
/// cool-down not over, or quiet hours under [`QuietHoursPolicy::Hold`].
fn gate(
    reach: &Reach<'_>,
    view: &View<'_>,
    id: CustomerId,
    scratch: &mut Scratch,
    plan: &mut CarePlan,
) -> Result<()> {
    scratch.passed.clear();
    let config = reach.config;
    for c in scratch.candidates.drain(..) {
        let base = config.base(c.kind);
        let Some(channel) = reach.channel(c.kind) else {
            plan.held.push(held(id, c, HoldReason::NoConsent));
            continue;
        };
        if let Some(last) = view.last(c.kind) {
            // A cool-down past the end of representable time never ends.
            let until = last
                .checked_add_signed(Duration::days(i64::from(base.cool_down_days)))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            if reach.now < until {
                plan.held.push(held(id, c, HoldReason::CoolDown { last, until }));
                continue;
            }
        }
        let send_at = reach.send_time(Some(channel), c.kind.purpose())?;
        if send_at != reach.now && config.pressure.quiet_policy == QuietHoursPolicy::Hold {
            plan.held.push(held(id, c, HoldReason::QuietHours { until: send_at }));
            continue;
        }
        scratch.passed.push((c, channel, base.priority, send_at));
    }
    Ok(())
}
