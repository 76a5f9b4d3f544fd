//! Compaction: folding the old part of an account's history into a verified checkpoint
//! (see [`Checkpoint`] for the model).

use chrono::NaiveDate;

use super::verify::Derived;
use super::{broken, Account};
use crate::error::{Error, ErrorKind, Result};
use crate::money::Money;
use crate::points::entry::{Balances, Entry, EntryKind, Totals};
use crate::points::lot::{LotState, ReservationState};
use crate::points::{LotId, OpKey, Points};

/// The folded part of an account's history: compaction folds the old part of the history into
/// a verified checkpoint.
///
/// A shop keeps a member's account for years, one row per member, and the history grows
/// with every operation. [`Account::compact`] folds the entries dated before a day into a
/// [`Checkpoint`]: the running totals and balances at the cut, and what the history said
/// about each lot there (points drawn, cancelled and expired, its refund record and its
/// life-cycle state). [`Account::check`] then starts from the checkpoint instead of from an
/// empty account: it checks the checkpoint itself (balances re-derived from the lots,
/// conservation at the cut) and proves every invariant from the cut on, exactly as it does
/// for a whole history.
///
/// Idempotency keys of folded operations are kept in two ways, chosen by the host with the
/// start of a replay window:
///
/// - operations dated on or after it keep their recorded request and outcome (the entry,
///   without the list of lots it drew from), so a replay still returns the stored outcome
///   and a conflicting payload is still
///   [`IdempotencyConflict`](crate::ErrorKind::IdempotencyConflict);
/// - older ones keep only their key (and, for an earn, its lot, so refunds, activations and
///   cancellations of old orders still find their points): a replay is
///   [`ReplayExpired`](crate::ErrorKind::ReplayExpired), never a new operation.
///
/// What stays: the lots (they are the points the member holds, and refunds of old orders
/// measure against them) and the reservations. What goes: the entries and draws of the
/// folded operations, which are most of an account's size. A reservation still open at the
/// cut holds the cut back to the day it was made, since releasing it needs the lots it drew
/// from: compaction folds only what precedes the oldest such reservation.
///
/// [`Account::earned_since`] and [`Account::entries`] see only the kept history: compact
/// before the start of any cap period a host still counts.
///
/// # Example
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::points::*;
/// use loyalty::{Currency, ErrorKind, Money};
/// use rust_decimal::Decimal;
///
/// let usd = Money::new(Decimal::from(10), Currency::USD);
/// let program = Program::new(
///     EarnRules::new(Currency::USD, Decimal::ONE)?,
///     RedemptionRules::new(Points::new(100), usd)?,
/// )?;
/// let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
/// let mut account = Account::new(MemberId::new(7), day(1, 1));
/// let earn = EarnRequest::new(Points::new(300));
/// account.earn(&program, OpKey::new(1), &earn, day(1, 5))?;
/// account.earn(&program, OpKey::new(2), &earn, day(3, 5))?;
/// account.earn(&program, OpKey::new(3), &earn, day(6, 5))?;
///
/// // Fold everything before June; keep the outcomes of operations since March.
/// let folded = account.compact(day(6, 1), day(3, 1))?;
/// assert_eq!((folded.entries, folded.replayable, folded.forgotten), (2, 1, 1));
/// assert_eq!(account.balances().available, Points::new(900));
/// account.check()?;
///
/// // Inside the window a replay returns the stored outcome; before it, a typed error.
/// assert_eq!(account.earn(&program, OpKey::new(2), &earn, day(6, 9))?.points, Points::new(300));
/// let old = account.earn(&program, OpKey::new(1), &earn, day(6, 9)).unwrap_err();
/// assert!(matches!(old.kind(), ErrorKind::ReplayExpired { .. }));
/// # Ok::<(), loyalty::Error>(())
/// ```
///
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "CheckpointRepr", into = "CheckpointRepr")
)]
pub struct Checkpoint {
    /// Every folded entry is dated on or before it, every kept one on or after it.
    pub(crate) at: NaiveDate,
    /// Folded operations dated on or after it keep their outcome.
    pub(crate) replay_from: NaiveDate,
    /// Entries folded, over every compaction.
    pub(crate) folded: u64,
    /// The first `retained` entries of the account are the outcomes kept for replays: they
    /// are not applied again by the check.
    pub(crate) retained: u32,
    pub(crate) totals: Totals,
    pub(crate) balances: Balances,
    /// What the history said about each lot that existed at the cut.
    pub(crate) lots: Vec<LotMark>,
    /// The state of each reservation made before the cut (all closed).
    pub(crate) reservations: Vec<ReservationState>,
    /// Keys whose outcomes were dropped, sorted.
    pub(crate) forgotten: Vec<Forgotten>,
    /// The last activity of the folded history, so the check can re-derive the
    /// account's [`Account::last_activity`] (`None` in checkpoints written before
    /// version 3, or when an older checkpoint did not know it either).
    pub(crate) last_activity: Option<NaiveDate>,
}

/// A lot as the folded history left it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct LotMark {
    /// Pending, active (or expired) or cancelled; never `Expired` (the history does not
    /// tell an expired lot from an active one).
    pub(crate) state: LotState,
    /// Points debits took (released reservations' points put back).
    pub(crate) drawn: Points,
    /// Pending points cancelled.
    pub(crate) cancelled: Points,
    /// Points expired.
    pub(crate) expired: Points,
    /// Points refunds asked for.
    pub(crate) claw_requested: Points,
    /// The order amount refunded.
    pub(crate) refunded: Option<Money>,
}

impl LotMark {
    /// The points the lot held at the cut (`None`: more left it than it had).
    pub(crate) fn remaining(&self, points: Points) -> Option<u64> {
        points
            .value()
            .checked_sub(self.drawn.value())?
            .checked_sub(self.cancelled.value())?
            .checked_sub(self.expired.value())
    }
}

/// The key of a folded operation whose outcome is no longer kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Forgotten {
    pub(crate) key: OpKey,
    /// The lot an earn created (refunds and activations of the order find it here).
    pub(crate) lot: Option<LotId>,
}

impl Checkpoint {
    /// The date of the cut: every folded entry is dated on or before it.
    #[must_use]
    pub fn at(&self) -> NaiveDate {
        self.at
    }

    /// The start of the replay window the latest compaction kept.
    #[must_use]
    pub fn replay_from(&self) -> NaiveDate {
        self.replay_from
    }

    /// Entries folded over every compaction.
    #[must_use]
    pub fn folded(&self) -> u64 {
        self.folded
    }

    /// Lifetime totals at the cut.
    #[must_use]
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Balances at the cut.
    #[must_use]
    pub fn balances(&self) -> Balances {
        self.balances
    }

    /// Keys whose outcome was dropped (a replay of one is
    /// [`ReplayExpired`](crate::ErrorKind::ReplayExpired)).
    #[must_use]
    pub fn forgotten_keys(&self) -> usize {
        self.forgotten.len()
    }

    fn forgotten(&self, key: OpKey) -> Option<&Forgotten> {
        self.forgotten
            .binary_search_by(|f| f.key.cmp(&key))
            .ok()
            .and_then(|i| self.forgotten.get(i))
    }

    /// Checks what the checkpoint says about itself (the account checks the rest against
    /// its lots).
    fn validate(&self) -> Result<()> {
        if self.forgotten.windows(2).any(|w| w[0].key >= w[1].key) {
            return Err(broken("checkpoint keys are not sorted and unique"));
        }
        if self.reservations.contains(&ReservationState::Held) {
            return Err(broken("checkpoint holds an open reservation"));
        }
        if self.lots.iter().any(|m| m.state == LotState::Expired) {
            return Err(broken("checkpoint lot state is not one the history records"));
        }
        if !self.balances.reserved.is_zero() {
            return Err(broken("checkpoint balances differ from its lots"));
        }
        if self.last_activity.is_some_and(|d| d > self.at) {
            return Err(broken("checkpoint last activity is after its cut"));
        }
        Ok(())
    }
}

/// What a compaction did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Compaction {
    /// Entries folded into the checkpoint.
    pub entries: usize,
    /// Draws dropped with them.
    pub draws: usize,
    /// Folded operations whose outcome is kept for replays.
    pub replayable: usize,
    /// Folded operations whose key alone is kept.
    pub forgotten: usize,
}

#[cold]
#[inline(never)]
pub(super) fn expired_key(key: OpKey) -> Error {
    ErrorKind::ReplayExpired { key: key.to_string() }.into()
}

impl Account {
    /// The checkpoint older history was folded into, if the account was compacted.
    #[must_use]
    pub fn checkpoint(&self) -> Option<&Checkpoint> {
        self.checkpoint.as_deref()
    }

    /// The number of leading entries kept only for replays.
    pub(super) fn retained(&self) -> usize {
        self.checkpoint.as_ref().map_or(0, |c| c.retained as usize)
    }

    /// Whether `key` belongs to a folded operation whose outcome was dropped.
    pub(super) fn forgotten(&self, key: OpKey) -> Option<(OpKey, Option<LotId>)> {
        let f = self.checkpoint.as_ref()?.forgotten(key)?;
        Some((f.key, f.lot))
    }

    /// Folds the entries dated before `before` into the account's [`Checkpoint`] (see [`Checkpoint`]). Operations dated on or after `replay_from` keep their
    /// outcome for replays; older ones keep only their key. Nothing else changes: balances,
    /// lots, totals and the outcome of every later operation are those of the account
    /// before compaction (except replays of keys older than the window, which become
    /// [`ReplayExpired`](crate::ErrorKind::ReplayExpired)). Compacting again folds more.
    ///
    /// The cut stops at the oldest reservation still open at it. The result is verified
    /// with [`Account::check`] before it replaces the account; cost is linear in the
    /// history.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `replay_from` is
    /// after `before`; [`ErrorKind::InvalidState`](crate::ErrorKind::InvalidState) when the
    /// account fails its own check. On an error the account is unchanged.
    pub fn compact(&mut self, before: NaiveDate, replay_from: NaiveDate) -> Result<Compaction> {
        if replay_from > before {
            return Err(Error::invalid(
                "replay from",
                replay_from,
                format!("is after the compaction date ({before})"),
            ));
        }
        let r0 = self.retained();
        let cut = r0 + self.entries[r0..].partition_point(|e| e.at < before);
        let n = self.open_reservation_bound(r0, cut);
        if n == r0 {
            return Ok(Compaction::default());
        }
        let at = self.entries.get(n).map_or(before, |e| e.at.min(before));
        let d = self.derive(n)?.0;
        if d.held.iter().any(|r| r.state == ReservationState::Held) {
            return Err(broken("a reservation open at the cut"));
        }
        let lots = lot_marks(&d);
        // With no activity after the cut, the account's last activity is the folded one.
        let last_activity = d.last_activity.or_else(|| {
            (!self.entries[n..].iter().any(|e| super::verify::is_activity(&e.kind)))
                .then_some(self.last_activity)
        });
        let (available, pending) = self.balances_at_cut(&lots)?;
        let debt = d.debt.checked_sub(d.repaid).ok_or_else(|| broken("debt below zero"))?;
        let debt = u64::try_from(debt).map_err(|_| Error::overflow("debt"))?;
        let balances = Balances {
            available: Points::new(available),
            pending: Points::new(pending),
            reserved: Points::ZERO,
            debt: Points::new(debt),
        };
        let old = self.checkpoint.as_deref();
        let mut forgotten: Vec<Forgotten> = old.map(|c| c.forgotten.clone()).unwrap_or_default();
        let before_fold = forgotten.len();
        let retained = fold_keys(&self.entries[..n], replay_from, &mut forgotten);
        let mut compaction =
            Compaction { forgotten: forgotten.len() - before_fold, ..Compaction::default() };
        forgotten.sort_unstable_by_key(|f| f.key);
        compaction.replayable = retained.len();
        compaction.entries = n - r0;
        let m = self.entries.get(n).map_or(self.draws.len(), |e| e.draws_start as usize);
        compaction.draws = m;
        let shift = |s: u32| s - m as u32;
        let mut next = self.clone();
        next.entries = retained;
        next.entries.extend(
            self.entries[n..]
                .iter()
                .map(|e| Entry { draws_start: shift(e.draws_start), ..e.clone() }),
        );
        next.draws = self.draws[m..].to_vec();
        for r in &mut next.reservations {
            if (r.id.value() as usize) < d.held.len() {
                (r.draws_start, r.draws_len) = (0, 0);
            } else {
                r.draws_start = shift(r.draws_start);
            }
        }
        let retained_len = super::to_u32(compaction.replayable, "entry count")?;
        next.checkpoint = Some(Box::new(Checkpoint {
            at,
            replay_from,
            folded: old.map_or(0, |c| c.folded) + compaction.entries as u64,
            retained: retained_len,
            totals: d.totals,
            balances,
            lots,
            reservations: d.held.iter().map(|r| r.state).collect(),
            forgotten,
            last_activity,
        }));
        next.rebuild_keys()?;
        next.check()?;
        *self = next;
        Ok(compaction)
    }

    /// The largest cut at or before `cut` that no reservation open at it straddles (every
    /// reservation made before the cut is committed or released before it), and that
    /// keeps every redemption a kept rollback returns points of (with its reservation).
    fn open_reservation_bound(&self, r0: usize, mut cut: usize) -> usize {
        // (entry that made it, entry that closed it), by reservation id.
        let mut life: Vec<(Option<usize>, Option<usize>)> =
            vec![(None, None); self.reservations.len()];
        for (i, e) in self.entries.iter().enumerate().skip(r0) {
            let slot = match &e.kind {
                EntryKind::Reserve { outcome, .. } => outcome
                    .reservation
                    .and_then(|id| life.get_mut(id.value() as usize))
                    .map(|s| &mut s.0),
                EntryKind::Commit { reservation, .. } | EntryKind::Release { reservation, .. } => {
                    life.get_mut(reservation.value() as usize).map(|s| &mut s.1)
                }
                _ => None,
            };
            if let Some(s) = slot {
                *s = Some(i);
            }
        }
        // A rollback needs the draws of its redemption: (first entry the redemption
        // needs, the rollback's entry).
        let rollbacks: Vec<(usize, usize)> = self
            .entries
            .iter()
            .enumerate()
            .skip(r0)
            .filter_map(|(i, e)| match &e.kind {
                EntryKind::Rollback { request, .. } => {
                    self.redeemed(request.redemption).ok().map(|r| (r.anchor, i))
                }
                _ => None,
            })
            .collect();
        loop {
            let open = life
                .iter()
                .filter_map(|&(made, closed)| {
                    made.filter(|&m| m < cut && closed.is_none_or(|c| c >= cut))
                })
                .chain(rollbacks.iter().filter(|&&(a, r)| a < cut && r >= cut).map(|&(a, _)| a))
                .min();
            match open {
                Some(m) if m < cut => cut = m,
                _ => return cut,
            }
        }
    }

    /// Available and pending points at the cut, from the lots and what the history said
    /// about them.
    pub(super) fn balances_at_cut(&self, marks: &[LotMark]) -> Result<(u64, u64)> {
        let (mut available, mut pending) = (0u64, 0u64);
        for (i, m) in marks.iter().enumerate() {
            let lot =
                self.lots.get(i).ok_or_else(|| broken("checkpoint lots beyond the account's"))?;
            let held = m
                .remaining(lot.points)
                .filter(|_| m.claw_requested <= lot.points)
                .ok_or_else(|| broken(format!("checkpoint lot {i} is malformed")))?;
            let sum = match m.state {
                LotState::Active => &mut available,
                LotState::Pending(_) => &mut pending,
                LotState::Cancelled if held == 0 => continue,
                _ => return Err(broken(format!("checkpoint lot {i} is malformed"))),
            };
            *sum = sum.checked_add(held).ok_or_else(|| Error::overflow("balance"))?;
        }
        Ok((available, pending))
    }

    /// The checkpoint against the account: its balances re-derived from the lots,
    /// conservation at the cut, closed reservations, kept outcomes and forgotten keys.
    pub(super) fn check_checkpoint(&self) -> Result<()> {
        let Some(c) = self.checkpoint.as_deref() else { return Ok(()) };
        c.validate()?;
        let (available, pending) = self.balances_at_cut(&c.lots)?;
        let b = c.balances;
        if available != b.available.value() || pending != b.pending.value() {
            return Err(broken("checkpoint balances differ from its lots"));
        }
        if !b.debt.is_zero() && !b.available.is_zero() {
            return Err(broken("checkpoint has debt and spendable points at once"));
        }
        // At most 2^32 lots of 2^64 points: no overflow in 128 bits.
        let expired: u128 = c.lots.iter().map(|m| u128::from(m.expired.value())).sum();
        if expired != c.totals.expired.value() {
            return Err(broken("checkpoint expired points differ from its lots"));
        }
        let left = c.totals.credits().plus(u128::from(b.debt.value()));
        let right = c.totals.debits().plus(u128::from(b.outstanding()?.value()));
        if left != right {
            return Err(broken(format!("checkpoint conservation violated: {left} != {right}")));
        }
        if c.reservations.len() > self.reservations.len()
            || c.reservations.iter().zip(&self.reservations).any(|(s, r)| *s != r.state)
        {
            return Err(broken("checkpoint reservations differ from the account's"));
        }
        let kept = self.entries.get(..c.retained as usize);
        let kept = kept.ok_or_else(|| broken("checkpoint keeps more entries than there are"))?;
        for e in kept {
            if e.key.is_none() || e.at < c.replay_from || e.at > c.at || e.draws_len != 0 {
                return Err(broken("checkpoint keeps an entry outside its replay window"));
            }
        }
        for f in &c.forgotten {
            if self.keys.get(&f.key, &self.entries).is_some() {
                return Err(broken(format!("idempotency key {} both kept and forgotten", f.key)));
            }
            if let Some(id) = f.lot {
                let lot = self.lots.get(id.index()).filter(|_| id.index() < c.lots.len());
                if lot.is_none_or(|l| l.key != Some(f.key)) {
                    return Err(broken(format!("forgotten key {} names another lot", f.key)));
                }
            }
        }
        // Every folded operation that created a lot still answers to its key.
        for (i, lot) in self.lots.iter().enumerate().take(c.lots.len()) {
            let Some(key) = lot.key else { continue };
            let known = self.keys.get(&key, &self.entries).is_some()
                || c.forgotten(key).is_some_and(|f| {
                    f.lot == Some(lot.id) || lot.source != crate::points::LotSource::Earn
                });
            if !known {
                return Err(broken(format!("lot {i} was created by a key the account lost")));
            }
        }
        Ok(())
    }
}

/// The stored form of a [`Checkpoint`].
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct CheckpointRepr {
    #[serde(default = "crate::version::v1")]
    version: u32,
    at: NaiveDate,
    replay_from: NaiveDate,
    folded: u64,
    retained: u32,
    totals: Totals,
    balances: Balances,
    lots: Vec<LotMark>,
    reservations: Vec<ReservationState>,
    forgotten: Vec<Forgotten>,
    /// Absent before version 3.
    #[serde(default)]
    last_activity: Option<NaiveDate>,
}

/// The newest format version of a stored [`Checkpoint`] (see [`crate::version`]): 3
/// records the last activity of the folded history; 2 writes its totals as decimal
/// strings of `u128` (1: `u64` JSON numbers, still read).
#[cfg(feature = "serde")]
const CHECKPOINT_VERSION: u32 = 3;

#[cfg(feature = "serde")]
impl TryFrom<CheckpointRepr> for Checkpoint {
    type Error = Error;

    fn try_from(r: CheckpointRepr) -> Result<Checkpoint> {
        crate::version::check("points checkpoint", r.version, CHECKPOINT_VERSION)?;
        let c = Checkpoint {
            at: r.at,
            replay_from: r.replay_from,
            folded: r.folded,
            retained: r.retained,
            totals: r.totals,
            balances: r.balances,
            lots: r.lots,
            reservations: r.reservations,
            forgotten: r.forgotten,
            last_activity: r.last_activity,
        };
        c.validate()?;
        Ok(c)
    }
}

#[cfg(feature = "serde")]
impl From<Checkpoint> for CheckpointRepr {
    fn from(c: Checkpoint) -> CheckpointRepr {
        CheckpointRepr {
            version: CHECKPOINT_VERSION,
            at: c.at,
            replay_from: c.replay_from,
            folded: c.folded,
            retained: c.retained,
            totals: c.totals,
            balances: c.balances,
            lots: c.lots,
            reservations: c.reservations,
            forgotten: c.forgotten,
            last_activity: c.last_activity,
        }
    }
}

/// Each lot's state at the cut, as the history up to it derived.
fn lot_marks(d: &Derived) -> Vec<LotMark> {
    (0..d.created)
        .map(|i| {
            let (claw_requested, refunded) = d.refunds[i];
            LotMark {
                state: d.life[i].state(),
                drawn: Points::new(d.drawn[i]),
                cancelled: Points::new(d.cancelled[i]),
                expired: Points::new(d.expired[i]),
                claw_requested,
                refunded,
            }
        })
        .collect()
}

/// The keyed entries of `folded` still replayable (on or after `replay_from`), kept
/// without their draws; the older keys go to `forgotten`, with the lot each earn made.
fn fold_keys(
    folded: &[Entry],
    replay_from: NaiveDate,
    forgotten: &mut Vec<Forgotten>,
) -> Vec<Entry> {
    let mut retained = Vec::new();
    for e in folded {
        let Some(key) = e.key else { continue };
        if e.at >= replay_from {
            retained.push(Entry { draws_start: 0, draws_len: 0, ..e.clone() });
        } else {
            let lot = match &e.kind {
                EntryKind::Earn { outcome, .. } => Some(outcome.lot),
                _ => None,
            };
            forgotten.push(Forgotten { key, lot });
        }
    }
    retained
}
