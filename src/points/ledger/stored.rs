//! The stored form of an account: what serde writes, and the validation that runs when
//! it is read back.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::{broken, to_u32, Account};
use crate::error::{Error, Result};
use crate::points::entry::{Balances, Entry, Totals};
use crate::points::index::{KeyIndex, SpendIndex};
use crate::points::lot::{Draw, Lot, LotState, Reservation};
use crate::points::MemberId;

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct AccountRepr {
    member: MemberId,
    clock: NaiveDate,
    last_activity: NaiveDate,
    lots: Vec<Lot>,
    entries: Vec<Entry>,
    draws: Vec<Draw>,
    reservations: Vec<Reservation>,
    balances: Balances,
    totals: Totals,
}

impl TryFrom<AccountRepr> for Account {
    type Error = Error;

    fn try_from(r: AccountRepr) -> Result<Account> {
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
            member: a.member,
            clock: a.clock,
            last_activity: a.last_activity,
            lots: a.lots,
            entries: a.entries,
            draws: a.draws,
            reservations: a.reservations,
            balances: a.balances,
            totals: a.totals,
        }
    }
}

impl Account {
    pub(super) fn rebuild_indexes(&mut self) -> Result<()> {
        for (i, e) in self.entries.iter().enumerate() {
            if let Some(k) = e.key {
                if !self.keys.insert(k, to_u32(i, "entry count")?) {
                    return Err(broken(format!("duplicate idempotency key {k}")));
                }
            }
        }
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
