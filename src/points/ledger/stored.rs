//! The stored form of an account: what serde writes, and the validation that runs when
//! it is read back.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::{broken, Account, Checkpoint};
use crate::error::{Error, Result};
use crate::points::entry::{Balances, Entry, EntryKind, Totals};
use crate::points::index::{KeyIndex, SpendIndex};
use crate::points::lot::{Draw, Lot, LotState, Reservation};
use crate::points::MemberId;

/// The newest format version of a stored [`Account`] (see [`crate::version`]): 5 adds
/// rollback entries and the `rolled_back` total (absent before: zero); 4 widens the
/// lifetime totals to `u128`, written as decimal strings; 3 adds the optional
/// `checkpoint` of a compacted account; 2 writes idempotency keys as decimal strings; 1
/// wrote them as JSON numbers (still read).
const ACCOUNT_VERSION: u32 = 5;

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct AccountRepr {
    #[serde(default = "crate::version::v1")]
    version: u32,
    member: MemberId,
    clock: NaiveDate,
    last_activity: NaiveDate,
    lots: Vec<Lot>,
    entries: Vec<Entry>,
    draws: Vec<Draw>,
    reservations: Vec<Reservation>,
    balances: Balances,
    totals: Totals,
    /// Absent before version 3, and in accounts never compacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checkpoint: Option<Box<Checkpoint>>,
}

impl TryFrom<AccountRepr> for Account {
    type Error = Error;

    fn try_from(r: AccountRepr) -> Result<Account> {
        // Versions 1 to 4 differ from 5 only in how keys and totals are written (JSON
        // numbers, u64 totals), which `OpKey` and `TotalPoints` read either way, in
        // whether a checkpoint may be present, and in having no rollbacks (the total
        // reads as zero when absent), so all five convert the same.
        let version = crate::version::check("points account", r.version, ACCOUNT_VERSION)?;
        if version < 3 && r.checkpoint.is_some() {
            return Err(broken(format!("a version {version} account has no checkpoint")));
        }
        let rollback = r.entries.iter().any(|e| matches!(e.kind, EntryKind::Rollback { .. }));
        if version < 5 && (rollback || !r.totals.rolled_back.is_zero()) {
            return Err(broken(format!("a version {version} account has no rollback")));
        }
        let mut a = Account {
            member: r.member,
            clock: r.clock,
            last_activity: r.last_activity,
            lots: r.lots,
            entries: r.entries,
            draws: r.draws,
            reservations: r.reservations,
            balances: r.balances,
            totals: r.totals,
            checkpoint: r.checkpoint,
            keys: KeyIndex::default(),
            spendable: SpendIndex::default(),
            scheduled: BTreeSet::new(),
        };
        a.rebuild_indexes()?;
        a.check()?;
        Ok(a)
    }
}

impl From<Account> for AccountRepr {
    fn from(a: Account) -> AccountRepr {
        AccountRepr {
            version: ACCOUNT_VERSION,
            member: a.member,
            clock: a.clock,
            last_activity: a.last_activity,
            lots: a.lots,
            entries: a.entries,
            draws: a.draws,
            reservations: a.reservations,
            balances: a.balances,
            totals: a.totals,
            checkpoint: a.checkpoint,
        }
    }
}

impl Account {
    pub(super) fn rebuild_indexes(&mut self) -> Result<()> {
        self.rebuild_keys()?;
        // Sorted first, so every key lands in the index's queue.
        let mut keys: Vec<_> = self
            .lots
            .iter()
            .filter(|l| l.state == LotState::Active && !l.remaining.is_zero())
            .map(Lot::spend_key)
            .collect();
        keys.sort_unstable();
        keys.into_iter().for_each(|k| self.spendable.insert(k));
        for lot in &self.lots {
            if let LotState::Pending(Some(d)) = lot.state {
                self.scheduled.insert((d, lot.id));
            }
        }
        Ok(())
    }
}
