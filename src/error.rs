//! The crate's one error type.
//!
//! Every fallible function in `loyalty` returns [`Result<T>`](crate::Result), whose error is
//! [`Error`]: a small, cheap-to-move value (one pointer) wrapping an [`ErrorKind`] that names
//! what was wrong: the field, the value and the reason. Messages are lowercase with no final
//! period, so they compose inside a host's own messages.
//!
//! A failed operation never changes state: every mutating method in the crate validates first
//! and commits last.
//!
//! # Example
//!
//! ```
//! use loyalty::{Currency, ErrorKind, Money};
//! use rust_decimal::Decimal;
//!
//! let usd = Money::new(Decimal::new(1000, 2), Currency::USD);
//! let eur = Money::new(Decimal::new(500, 2), Currency::EUR);
//! let err = usd.checked_add(eur).unwrap_err();
//! assert!(matches!(err.kind(), ErrorKind::CurrencyMismatch { .. }));
//! assert_eq!(err.to_string(), "currency mismatch: USD and EUR");
//! ```

use std::fmt;

/// The error returned by every fallible operation of the crate.
///
/// Inspect it with [`Error::kind`]; it is `Send + Sync + 'static`, `Clone` and `PartialEq`.
#[derive(Clone, PartialEq)]
pub struct Error {
    kind: Box<ErrorKind>,
}

/// What went wrong. Matched through [`Error::kind`].
///
/// The enum is `#[non_exhaustive]`: new kinds may be added in minor releases.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A parameter or field had a value outside its domain.
    #[error("invalid {field} `{value}`: {reason}")]
    InvalidInput {
        /// The name of the parameter or field, as in the API.
        field: &'static str,
        /// The offending value, rendered as text.
        value: String,
        /// Why the value is not accepted.
        reason: String,
    },
    /// One record of a batch (a transaction, a summary row, an event) was invalid.
    #[error("record {index}: invalid {field} `{value}`: {reason}")]
    InvalidRecord {
        /// Zero-based position of the record in the input slice.
        index: usize,
        /// The name of the field, as in the API.
        field: &'static str,
        /// The offending value, rendered as text.
        value: String,
        /// Why the value is not accepted.
        reason: String,
    },
    /// An input that must not be empty was empty.
    #[error("empty {what}")]
    EmptyInput {
        /// What was empty.
        what: &'static str,
    },
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: {left} and {right}")]
    CurrencyMismatch {
        /// Currency of the left operand (or the expected currency).
        left: String,
        /// Currency of the right operand (or the currency found).
        right: String,
    },
    /// A currency code is not a known ISO 4217 code.
    #[error("unknown currency `{code}`")]
    UnknownCurrency {
        /// The code given.
        code: String,
    },
    /// An amount had to be converted but no exchange rate for the pair was supplied.
    #[error("no exchange rate from {from} to {to}")]
    MissingRate {
        /// Source currency.
        from: String,
        /// Target currency.
        to: String,
    },
    /// Arithmetic overflowed the range of the number type.
    #[error("arithmetic overflow in {operation}")]
    Overflow {
        /// The operation that overflowed.
        operation: &'static str,
    },
    /// An IANA time zone name was not recognised.
    #[error("unknown time zone `{name}`")]
    UnknownTimeZone {
        /// The name given.
        name: String,
    },
    /// A referenced entity (account, reservation, order, lot, ...) does not exist.
    #[error("unknown {what} `{id}`")]
    NotFound {
        /// The kind of entity.
        what: &'static str,
        /// Its identifier, rendered as text.
        id: String,
    },
    /// An idempotency key was reused with a different payload.
    #[error("idempotency key `{key}` was already used with a different payload")]
    IdempotencyConflict {
        /// The key.
        key: String,
    },
    /// An idempotency key was used by an operation older than the replay window an
    /// account was compacted with: its outcome is no longer kept, so the call is refused
    /// rather than carried out as a new operation.
    #[error("idempotency key `{key}` belongs to an operation folded into a checkpoint before its replay window")]
    ReplayExpired {
        /// The key.
        key: String,
    },
    /// Not enough points (or another quantity) to carry out the operation.
    #[error("insufficient {what}: requested {requested}, available {available}")]
    Insufficient {
        /// What ran short (for example `points`).
        what: &'static str,
        /// The amount requested.
        requested: String,
        /// The amount available.
        available: String,
    },
    /// A business rule of the program refused the operation.
    #[error("rejected by rule {rule}: {detail}")]
    RuleViolation {
        /// The rule that refused.
        rule: &'static str,
        /// Details.
        detail: String,
    },
    /// A value (typically deserialized state) breaks an invariant of its type.
    #[error("invalid state: {reason}")]
    InvalidState {
        /// The invariant that does not hold.
        reason: String,
    },
    /// Stored state was written in a format version this build does not read: a newer
    /// one (written by a later release), or one no release ever wrote.
    #[error("unsupported {what} format version {found}: this build reads versions 1 to {newest}")]
    UnsupportedVersion {
        /// The stored type (for example `points account`).
        what: &'static str,
        /// The version found.
        found: u32,
        /// The newest version this build reads (and writes).
        newest: u32,
    },
    /// An iterative numerical method (series, optimiser) did not converge.
    #[error("{method} did not converge after {iterations} iterations")]
    NoConvergence {
        /// The method.
        method: &'static str,
        /// Iterations performed.
        iterations: usize,
    },
    /// A model fit converged to the boundary of the parameter space (see
    /// [`FitStatus::AtBoundary`](crate::clv::FitStatus::AtBoundary)): the data do not
    /// identify the named parameters, so values computed from the fit would rest on
    /// numbers the optimiser merely stopped at.
    #[error(
        "{model} fit at the boundary of the parameter space: {} ran beyond a factor of 1e6 of \
         the data's scale, so the data do not identify them",
        .parameters.join(", ")
    )]
    AtBoundary {
        /// The model (for example `bg/nbd`).
        model: &'static str,
        /// The parameters at the boundary, by name.
        parameters: Vec<String>,
    },
    /// A numerical computation produced a non-finite or otherwise unusable value.
    #[error("numerical failure in {what}: {detail}")]
    Numerical {
        /// The computation.
        what: &'static str,
        /// Details.
        detail: String,
    },
}

impl Error {
    /// The kind of error.
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Consumes the error, returning its kind.
    #[must_use]
    pub fn into_kind(self) -> ErrorKind {
        *self.kind
    }

    /// Shorthand for an [`ErrorKind::InvalidInput`] error.
    #[cold]
    #[inline(never)]
    pub(crate) fn invalid(
        field: &'static str,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Error {
        ErrorKind::InvalidInput { field, value: value.to_string(), reason: reason.into() }.into()
    }

    /// Shorthand for an [`ErrorKind::InvalidRecord`] error.
    #[cold]
    #[inline(never)]
    pub(crate) fn invalid_record(
        index: usize,
        field: &'static str,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Error {
        ErrorKind::InvalidRecord { index, field, value: value.to_string(), reason: reason.into() }
            .into()
    }

    /// Shorthand for an [`ErrorKind::Overflow`] error.
    #[cold]
    #[inline(never)]
    pub(crate) fn overflow(operation: &'static str) -> Error {
        ErrorKind::Overflow { operation }.into()
    }

    /// Shorthand for an [`ErrorKind::EmptyInput`] error.
    #[cold]
    #[inline(never)]
    pub(crate) fn empty(what: &'static str) -> Error {
        ErrorKind::EmptyInput { what }.into()
    }
}

impl From<ErrorKind> for Error {
    #[cold]
    #[inline(never)]
    fn from(kind: ErrorKind) -> Error {
        Error { kind: Box::new(kind) }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.kind, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for Error {}

/// `Result` with the crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

// The error must cross threads and live in `Box<dyn Error + Send + Sync>` in hosts.
const _: () = {
    const fn assert_send_sync_static<T: Send + Sync + 'static>() {}
    assert_send_sync_static::<Error>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_without_final_period() {
        let errors: Vec<Error> = vec![
            Error::invalid("retention", "1.2", "must be in [0, 1)"),
            Error::invalid_record(3, "recency", "-1", "must not be negative"),
            Error::overflow("money addition"),
            Error::empty("transaction log"),
            ErrorKind::CurrencyMismatch { left: "USD".into(), right: "EUR".into() }.into(),
            ErrorKind::UnknownCurrency { code: "XYZ".into() }.into(),
            ErrorKind::MissingRate { from: "EUR".into(), to: "USD".into() }.into(),
            ErrorKind::UnknownTimeZone { name: "Mars/Olympus".into() }.into(),
            ErrorKind::NotFound { what: "reservation", id: "r1".into() }.into(),
            ErrorKind::IdempotencyConflict { key: "k".into() }.into(),
            ErrorKind::Insufficient {
                what: "points",
                requested: "10".into(),
                available: "5".into(),
            }
            .into(),
            ErrorKind::RuleViolation { rule: "self-referral", detail: "a member".into() }.into(),
            ErrorKind::InvalidState { reason: "conservation violated".into() }.into(),
            ErrorKind::UnsupportedVersion { what: "points account", found: 9, newest: 2 }.into(),
            ErrorKind::NoConvergence { method: "hyp2f1 series", iterations: 10 }.into(),
            ErrorKind::Numerical { what: "likelihood", detail: "not finite".into() }.into(),
        ];
        for e in errors {
            let msg = e.to_string();
            let first = msg.chars().next().unwrap();
            assert!(!first.is_uppercase(), "{msg}");
            assert!(!msg.ends_with('.'), "{msg}");
        }
    }

    #[test]
    fn error_names_field_and_value() {
        let e = Error::invalid("retention", "1.2", "must be in [0, 1)");
        assert_eq!(e.to_string(), "invalid retention `1.2`: must be in [0, 1)");
        match e.into_kind() {
            ErrorKind::InvalidInput { field, value, .. } => {
                assert_eq!(field, "retention");
                assert_eq!(value, "1.2");
            }
            other => panic!("unexpected kind {other:?}"),
        }
    }

    #[test]
    fn error_is_one_pointer() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }
}
