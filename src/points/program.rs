//! A program's rules and policies, shared by its accounts.

use super::expiry::Expiry;
use super::redeem::RedemptionRules;
use super::rules::EarnRules;
use crate::error::{Error, ErrorKind, Result};

/// What a refund takes when the order's points were already spent (Talon.One
/// `returnPolicy`, Voucherify v2 revoke modes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ClawbackPolicy {
    /// Take only what is still pending in the order's lot; the rest is forgiven.
    OnlyFromPending,
    /// Take from the order's lot, then from other spendable lots in spend order, down to
    /// zero; the rest is forgiven.
    #[default]
    WithinBalance,
    /// As `WithinBalance`, and the rest becomes a debt that later credits repay before they
    /// become spendable.
    CarryDebt,
}

/// The expiry of points a member receives by transfer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum TransferExpiry {
    /// Received points keep the expiry dates of the lots they came from.
    #[default]
    KeepSource,
    /// Received points get a fresh expiry from the program's policy, as if earned on the
    /// transfer date (Voucherify).
    Reset,
}

/// A points program: earning rules, redemption terms, expiry, clawback and transfer
/// policies. Operations on an [`Account`](super::Account) take the program by reference; lots keep the
/// dates computed when they were activated, so a changed policy applies to new points only.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "StoredProgram", into = "StoredProgram")
)]
pub struct Program(pub(crate) ProgramRepr);

/// The newest format version of a stored [`Program`] (see [`crate::version`]).
#[cfg(feature = "serde")]
const PROGRAM_VERSION: u32 = 1;

/// The stored form of a [`Program`]: its parts and a format version.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredProgram {
    #[serde(default = "crate::version::v1")]
    version: u32,
    earn: EarnRules,
    redemption: RedemptionRules,
    expiry: Expiry,
    clawback: ClawbackPolicy,
    transfer_expiry: TransferExpiry,
}

#[cfg(feature = "serde")]
impl TryFrom<StoredProgram> for Program {
    type Error = Error;

    fn try_from(r: StoredProgram) -> Result<Program> {
        crate::version::check("points program", r.version, PROGRAM_VERSION)?;
        Program::try_from(ProgramRepr {
            earn: r.earn,
            redemption: r.redemption,
            expiry: r.expiry,
            clawback: r.clawback,
            transfer_expiry: r.transfer_expiry,
        })
    }
}

#[cfg(feature = "serde")]
impl From<Program> for StoredProgram {
    fn from(p: Program) -> StoredProgram {
        let r = p.0;
        StoredProgram {
            version: PROGRAM_VERSION,
            earn: r.earn,
            redemption: r.redemption,
            expiry: r.expiry,
            clawback: r.clawback,
            transfer_expiry: r.transfer_expiry,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProgramRepr {
    pub(crate) earn: EarnRules,
    pub(crate) redemption: RedemptionRules,
    pub(crate) expiry: Expiry,
    pub(crate) clawback: ClawbackPolicy,
    pub(crate) transfer_expiry: TransferExpiry,
}

impl TryFrom<ProgramRepr> for Program {
    type Error = Error;

    fn try_from(r: ProgramRepr) -> Result<Program> {
        Ok(Program::new(r.earn, r.redemption)?
            .expiry(r.expiry)
            .clawback(r.clawback)
            .transfer_expiry(r.transfer_expiry))
    }
}

impl From<Program> for ProgramRepr {
    fn from(p: Program) -> ProgramRepr {
        p.0
    }
}

impl Program {
    /// A program with these rules; points never expire, refunds claw back within the
    /// balance, transfers keep the source expiry.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CurrencyMismatch`] when earning and redemption use different currencies.
    pub fn new(earn: EarnRules, redemption: RedemptionRules) -> Result<Program> {
        if earn.currency() != redemption.currency() {
            return Err(ErrorKind::CurrencyMismatch {
                left: earn.currency().code().to_string(),
                right: redemption.currency().code().to_string(),
            }
            .into());
        }
        Ok(Program(ProgramRepr {
            earn,
            redemption,
            expiry: Expiry::never(),
            clawback: ClawbackPolicy::default(),
            transfer_expiry: TransferExpiry::default(),
        }))
    }

    /// The expiry policy.
    #[must_use]
    pub fn expiry(mut self, expiry: Expiry) -> Program {
        self.0.expiry = expiry;
        self
    }

    /// The clawback policy.
    #[must_use]
    pub fn clawback(mut self, policy: ClawbackPolicy) -> Program {
        self.0.clawback = policy;
        self
    }

    /// The expiry of transferred points.
    #[must_use]
    pub fn transfer_expiry(mut self, policy: TransferExpiry) -> Program {
        self.0.transfer_expiry = policy;
        self
    }

    /// The earning rules.
    #[must_use]
    pub fn earn_rules(&self) -> &EarnRules {
        &self.0.earn
    }

    /// The redemption terms.
    #[must_use]
    pub fn redemption(&self) -> &RedemptionRules {
        &self.0.redemption
    }

    /// The expiry policy.
    #[must_use]
    pub fn expiry_policy(&self) -> &Expiry {
        &self.0.expiry
    }

    /// The clawback policy.
    #[must_use]
    pub fn clawback_policy(&self) -> ClawbackPolicy {
        self.0.clawback
    }

    /// The expiry of points received by transfer.
    #[must_use]
    pub fn transfer_expiry_policy(&self) -> TransferExpiry {
        self.0.transfer_expiry
    }
}
