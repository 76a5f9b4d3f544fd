//! Money: decimal amounts tagged with an ISO 4217 currency.
//!
//! Money in `loyalty` is never `f64`. A [`Money`] is a [`Decimal`] amount and a [`Currency`];
//! arithmetic between two amounts checks that the currencies agree and that nothing
//! overflows, and reports either problem as an [`Error`] instead of panicking.
//! Amounts keep full precision until the host rounds them with an explicit [`Rounding`]
//! strategy, to the currency's minor units ([`Money::round`]) or to any number of decimals.
//!
//! Cross-border sellers normalise amounts to a base currency with an [`ExchangeRate`] they
//! supply (the crate never looks rates up), or with a small [`ExchangeRates`] table.
//!
//! # Example
//!
//! ```
//! use loyalty::{Currency, ExchangeRate, Money, Rounding};
//! use rust_decimal::Decimal;
//!
//! let price = Money::new(Decimal::new(1999, 2), Currency::EUR); // 19.99 EUR
//! let total = price.checked_mul(Decimal::from(3))?;             // 59.97 EUR
//! let rate = ExchangeRate::new(Currency::EUR, Currency::JPY, Decimal::new(16234, 2))?;
//! let yen = rate.convert(total)?.round(Rounding::HalfUp);       // JPY has no minor unit
//! assert_eq!(yen.to_string(), "9736 JPY");
//! # Ok::<(), loyalty::Error>(())
//! ```
//!
//! # Wire format
//!
//! With the `serde` feature, a `Money` serialises as `{"amount": "19.99", "currency":
//! {"code": "EUR", "minor_units": 2}}`: the amount is a decimal string, so no precision is lost
//! in JSON.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::{Error, ErrorKind, Result};

/// A currency: a three-letter code and the number of digits of its minor unit.
///
/// ISO 4217 currencies are looked up with [`Currency::from_code`] (or the constants such as
/// [`Currency::USD`]); other units (a marketplace credit, a crypto asset) are made with
/// [`Currency::new`].
///
/// # Example
///
/// ```
/// use loyalty::Currency;
///
/// assert_eq!(Currency::from_code("JPY")?.minor_units(), 0);
/// assert_eq!(Currency::from_code("kwd")?.minor_units(), 3);
/// assert_eq!(Currency::USD.code(), "USD");
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "CurrencyRepr", into = "CurrencyRepr")
)]
pub struct Currency {
    code: [u8; 3],
    minor_units: u8,
}

/// The largest number of minor-unit digits accepted (the scale limit of [`Decimal`]).
const MAX_MINOR_UNITS: u8 = 28;

impl Currency {
    /// US dollar (2 minor digits).
    pub const USD: Currency = Currency { code: *b"USD", minor_units: 2 };
    /// Euro (2).
    pub const EUR: Currency = Currency { code: *b"EUR", minor_units: 2 };
    /// Pound sterling (2).
    pub const GBP: Currency = Currency { code: *b"GBP", minor_units: 2 };
    /// Japanese yen (0).
    pub const JPY: Currency = Currency { code: *b"JPY", minor_units: 0 };
    /// Chinese yuan renminbi (2).
    pub const CNY: Currency = Currency { code: *b"CNY", minor_units: 2 };
    /// Korean won (0).
    pub const KRW: Currency = Currency { code: *b"KRW", minor_units: 0 };
    /// Kuwaiti dinar (3).
    pub const KWD: Currency = Currency { code: *b"KWD", minor_units: 3 };
    /// Canadian dollar (2).
    pub const CAD: Currency = Currency { code: *b"CAD", minor_units: 2 };
    /// Australian dollar (2).
    pub const AUD: Currency = Currency { code: *b"AUD", minor_units: 2 };
    /// Swiss franc (2).
    pub const CHF: Currency = Currency { code: *b"CHF", minor_units: 2 };
    /// Hong Kong dollar (2).
    pub const HKD: Currency = Currency { code: *b"HKD", minor_units: 2 };
    /// Singapore dollar (2).
    pub const SGD: Currency = Currency { code: *b"SGD", minor_units: 2 };

    /// A currency outside the ISO table (or an ISO code with a different precision).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when `code` is not three ASCII letters or `minor_units`
    /// exceeds 28.
    pub fn new(code: &str, minor_units: u8) -> Result<Currency> {
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(Error::invalid("currency code", code, "must be three ASCII letters"));
        }
        if minor_units > MAX_MINOR_UNITS {
            return Err(Error::invalid("minor_units", minor_units, "must be at most 28"));
        }
        let code = [
            bytes[0].to_ascii_uppercase(),
            bytes[1].to_ascii_uppercase(),
            bytes[2].to_ascii_uppercase(),
        ];
        Ok(Currency { code, minor_units })
    }

    /// Looks up an active ISO 4217 currency by its code (case-insensitive).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownCurrency`] when the code is not in the table.
    pub fn from_code(code: &str) -> Result<Currency> {
        let upper = code.to_ascii_uppercase();
        ISO_4217
            .binary_search_by(|(c, _)| c.cmp(&upper.as_str()))
            .map(|i| {
                let b = ISO_4217[i].0.as_bytes();
                Currency { code: [b[0], b[1], b[2]], minor_units: ISO_4217[i].1 }
            })
            .map_err(|_| ErrorKind::UnknownCurrency { code: code.to_string() }.into())
    }

    /// The three-letter code, upper case.
    #[must_use]
    pub fn code(&self) -> &str {
        // Constructors admit only ASCII letters.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Digits after the decimal point in the currency's minor unit (USD 2, JPY 0, KWD 3).
    #[must_use]
    pub fn minor_units(&self) -> u8 {
        self.minor_units
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.code(), self.minor_units)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = Error;

    fn from_str(s: &str) -> Result<Currency> {
        Currency::from_code(s)
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct CurrencyRepr {
    code: String,
    minor_units: u8,
}

#[cfg(feature = "serde")]
impl TryFrom<CurrencyRepr> for Currency {
    type Error = Error;

    fn try_from(r: CurrencyRepr) -> Result<Currency> {
        Currency::new(&r.code, r.minor_units)
    }
}

#[cfg(feature = "serde")]
impl From<Currency> for CurrencyRepr {
    fn from(c: Currency) -> CurrencyRepr {
        CurrencyRepr { code: c.code().to_string(), minor_units: c.minor_units }
    }
}

/// How to round a decimal value. Every rounding in the crate names one of these.
///
/// Note that `rust_decimal`'s plain `round()` is banker's rounding; the crate never calls it
/// implicitly.
///
/// | mode | 2.5 | -2.5 | 2.4 | -2.6 |
/// |---|---|---|---|---|
/// | `HalfEven` | 2 | -2 | 2 | -3 |
/// | `HalfUp` | 3 | -3 | 2 | -3 |
/// | `HalfDown` | 2 | -2 | 2 | -3 |
/// | `Floor` | 2 | -3 | 2 | -3 |
/// | `Ceiling` | 3 | -2 | 3 | -2 |
/// | `TowardZero` | 2 | -2 | 2 | -2 |
/// | `AwayFromZero` | 3 | -3 | 3 | -3 |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Rounding {
    /// Nearest; a tie goes to the even neighbour (banker's rounding).
    HalfEven,
    /// Nearest; a tie goes away from zero (the school rule).
    #[default]
    HalfUp,
    /// Nearest; a tie goes toward zero.
    HalfDown,
    /// Toward negative infinity.
    Floor,
    /// Toward positive infinity.
    Ceiling,
    /// Toward zero (truncation).
    TowardZero,
    /// Away from zero.
    AwayFromZero,
}

impl Rounding {
    fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfDown => RoundingStrategy::MidpointTowardZero,
            Rounding::Floor => RoundingStrategy::ToNegativeInfinity,
            Rounding::Ceiling => RoundingStrategy::ToPositiveInfinity,
            Rounding::TowardZero => RoundingStrategy::ToZero,
            Rounding::AwayFromZero => RoundingStrategy::AwayFromZero,
        }
    }

    /// Rounds `value` to `dp` decimal places with this strategy.
    ///
    /// # Example
    ///
    /// ```
    /// use loyalty::Rounding;
    /// use rust_decimal::Decimal;
    ///
    /// let x = Decimal::new(25, 1); // 2.5
    /// assert_eq!(Rounding::HalfEven.round(x, 0), Decimal::from(2));
    /// assert_eq!(Rounding::HalfUp.round(x, 0), Decimal::from(3));
    /// ```
    #[must_use]
    pub fn round(self, value: Decimal, dp: u32) -> Decimal {
        value.round_dp_with_strategy(dp, self.strategy())
    }

    /// Rounds `value` to a whole number and converts it to `i64`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`] when the rounded value does not fit in an `i64`.
    pub fn round_to_i64(self, value: Decimal) -> Result<i64> {
        use rust_decimal::prelude::ToPrimitive;
        self.round(value, 0).to_i64().ok_or_else(|| Error::overflow("rounding to an integer"))
    }
}

/// An amount of money in one currency.
///
/// The amount keeps whatever precision the arithmetic produced; round it explicitly with
/// [`Money::round`] or [`Money::round_dp`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// An amount in a currency.
    #[must_use]
    pub const fn new(amount: Decimal, currency: Currency) -> Money {
        Money { amount, currency }
    }

    /// Zero in a currency.
    #[must_use]
    pub const fn zero(currency: Currency) -> Money {
        Money { amount: Decimal::ZERO, currency }
    }

    /// Parses an amount written as a decimal string.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when `amount` is not a decimal number.
    ///
    /// # Example
    ///
    /// ```
    /// use loyalty::{Currency, Money};
    ///
    /// let m = Money::parse("12.50", Currency::USD)?;
    /// assert_eq!(m.to_string(), "12.50 USD");
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    pub fn parse(amount: &str, currency: Currency) -> Result<Money> {
        let amount = Decimal::from_str(amount.trim())
            .map_err(|e| Error::invalid("amount", amount, e.to_string().to_lowercase()))?;
        Ok(Money { amount, currency })
    }

    /// The decimal amount.
    #[must_use]
    pub const fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    #[must_use]
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    #[must_use]
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// Whether the amount is below zero.
    #[must_use]
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// Whether the amount is above zero.
    #[must_use]
    pub fn is_positive(&self) -> bool {
        self.amount.is_sign_positive() && !self.amount.is_zero()
    }

    /// Checks that `other` is in the same currency.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CurrencyMismatch`] when it is not.
    pub fn ensure_same_currency(&self, other: Currency) -> Result<()> {
        if self.currency == other {
            Ok(())
        } else {
            Err(mismatch(self.currency, other))
        }
    }

    /// `self + other`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CurrencyMismatch`] for different currencies; [`ErrorKind::Overflow`].
    pub fn checked_add(self, other: Money) -> Result<Money> {
        self.ensure_same_currency(other.currency)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or_else(|| Error::overflow("money addition"))?;
        Ok(Money { amount, ..self })
    }

    /// `self - other`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CurrencyMismatch`] for different currencies; [`ErrorKind::Overflow`].
    pub fn checked_sub(self, other: Money) -> Result<Money> {
        self.ensure_same_currency(other.currency)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or_else(|| Error::overflow("money subtraction"))?;
        Ok(Money { amount, ..self })
    }

    /// `self × factor`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`].
    pub fn checked_mul(self, factor: Decimal) -> Result<Money> {
        let amount = self
            .amount
            .checked_mul(factor)
            .ok_or_else(|| Error::overflow("money multiplication"))?;
        Ok(Money { amount, ..self })
    }

    /// `self ÷ divisor`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when `divisor` is zero; [`ErrorKind::Overflow`].
    pub fn checked_div(self, divisor: Decimal) -> Result<Money> {
        if divisor.is_zero() {
            return Err(Error::invalid("divisor", divisor, "must not be zero"));
        }
        let amount =
            self.amount.checked_div(divisor).ok_or_else(|| Error::overflow("money division"))?;
        Ok(Money { amount, ..self })
    }

    /// The ratio `self ÷ other` of two amounts in the same currency.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CurrencyMismatch`]; [`ErrorKind::InvalidInput`] when `other` is zero;
    /// [`ErrorKind::Overflow`].
    pub fn ratio(self, other: Money) -> Result<Decimal> {
        self.ensure_same_currency(other.currency)?;
        if other.amount.is_zero() {
            return Err(Error::invalid("divisor", other, "must not be zero"));
        }
        self.amount.checked_div(other.amount).ok_or_else(|| Error::overflow("money ratio"))
    }

    /// The absolute amount.
    #[must_use]
    pub fn abs(self) -> Money {
        Money { amount: self.amount.abs(), ..self }
    }

    /// Compares two amounts of the same currency.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CurrencyMismatch`].
    pub fn try_cmp(&self, other: &Money) -> Result<Ordering> {
        self.ensure_same_currency(other.currency)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// Rounds to the currency's minor units (cents for USD, whole yen for JPY).
    ///
    /// # Example
    ///
    /// ```
    /// use loyalty::{Currency, Money, Rounding};
    /// use rust_decimal::Decimal;
    ///
    /// let m = Money::new(Decimal::new(10125, 3), Currency::USD); // 10.125
    /// assert_eq!(m.round(Rounding::HalfEven).amount(), Decimal::new(1012, 2));
    /// assert_eq!(m.round(Rounding::HalfUp).amount(), Decimal::new(1013, 2));
    /// ```
    #[must_use]
    pub fn round(self, mode: Rounding) -> Money {
        self.round_dp(u32::from(self.currency.minor_units), mode)
    }

    /// Rounds to `dp` decimal places.
    #[must_use]
    pub fn round_dp(self, dp: u32, mode: Rounding) -> Money {
        Money { amount: mode.round(self.amount, dp), ..self }
    }

    /// Sums amounts, all of which must be in `currency`. An empty iterator sums to zero.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CurrencyMismatch`]; [`ErrorKind::Overflow`].
    pub fn sum<I: IntoIterator<Item = Money>>(currency: Currency, items: I) -> Result<Money> {
        items.into_iter().try_fold(Money::zero(currency), Money::checked_add)
    }
}

impl std::ops::Neg for Money {
    type Output = Money;

    /// The negated amount (a refund of the same value).
    fn neg(self) -> Money {
        Money { amount: -self.amount, ..self }
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} {})", self.amount, self.currency.code())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency.code())
    }
}

#[cold]
#[inline(never)]
fn mismatch(left: Currency, right: Currency) -> Error {
    ErrorKind::CurrencyMismatch { left: left.code().to_string(), right: right.code().to_string() }
        .into()
}

/// A rate supplied by the host: one unit of `from` is worth `rate` units of `to`.
///
/// # Example
///
/// ```
/// use loyalty::{Currency, ExchangeRate, Money, Rounding};
/// use rust_decimal::Decimal;
///
/// let eur_usd = ExchangeRate::new(Currency::EUR, Currency::USD, Decimal::new(108, 2))?;
/// let usd = eur_usd.convert(Money::new(Decimal::from(50), Currency::EUR))?;
/// assert_eq!(usd.round(Rounding::HalfUp).to_string(), "54.00 USD");
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "ExchangeRateRepr", into = "ExchangeRateRepr")
)]
pub struct ExchangeRate {
    from: Currency,
    to: Currency,
    rate: Decimal,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct ExchangeRateRepr {
    from: Currency,
    to: Currency,
    rate: Decimal,
}

#[cfg(feature = "serde")]
impl TryFrom<ExchangeRateRepr> for ExchangeRate {
    type Error = Error;

    fn try_from(r: ExchangeRateRepr) -> Result<ExchangeRate> {
        ExchangeRate::new(r.from, r.to, r.rate)
    }
}

#[cfg(feature = "serde")]
impl From<ExchangeRate> for ExchangeRateRepr {
    fn from(r: ExchangeRate) -> ExchangeRateRepr {
        ExchangeRateRepr { from: r.from, to: r.to, rate: r.rate }
    }
}

impl ExchangeRate {
    /// A rate from `from` to `to`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when `rate` is not positive, or when `from` and `to` are
    /// the same currency with a rate other than 1.
    pub fn new(from: Currency, to: Currency, rate: Decimal) -> Result<ExchangeRate> {
        if rate <= Decimal::ZERO {
            return Err(Error::invalid("exchange rate", rate, "must be positive"));
        }
        if from == to && rate != Decimal::ONE {
            return Err(Error::invalid(
                "exchange rate",
                rate,
                "must be 1 between equal currencies",
            ));
        }
        Ok(ExchangeRate { from, to, rate })
    }

    /// Source currency.
    #[must_use]
    pub fn from(&self) -> Currency {
        self.from
    }

    /// Target currency.
    #[must_use]
    pub fn to(&self) -> Currency {
        self.to
    }

    /// Units of `to` per unit of `from`.
    #[must_use]
    pub fn rate(&self) -> Decimal {
        self.rate
    }

    /// Converts an amount in `from` into `to`, unrounded.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CurrencyMismatch`] when `money` is not in `from`; [`ErrorKind::Overflow`].
    pub fn convert(&self, money: Money) -> Result<Money> {
        money.ensure_same_currency(self.from)?;
        let amount = money
            .amount
            .checked_mul(self.rate)
            .ok_or_else(|| Error::overflow("currency conversion"))?;
        Ok(Money::new(amount, self.to))
    }

    /// The rate from `to` back to `from`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`] when `1 / rate` is not representable.
    pub fn inverse(&self) -> Result<ExchangeRate> {
        let rate =
            Decimal::ONE.checked_div(self.rate).ok_or_else(|| Error::overflow("rate inversion"))?;
        if rate.is_zero() {
            return Err(Error::overflow("rate inversion"));
        }
        Ok(ExchangeRate { from: self.to, to: self.from, rate })
    }
}

/// A host-supplied table of rates into one base currency.
///
/// # Example
///
/// ```
/// use loyalty::{Currency, ExchangeRate, ExchangeRates, Money};
/// use rust_decimal::Decimal;
///
/// let mut rates = ExchangeRates::new(Currency::USD);
/// rates.insert(ExchangeRate::new(Currency::EUR, Currency::USD, Decimal::new(110, 2))?)?;
/// let usd = rates.to_base(Money::new(Decimal::from(10), Currency::EUR))?;
/// assert_eq!(usd.amount(), Decimal::new(1100, 2));
/// assert!(rates.to_base(Money::new(Decimal::ONE, Currency::GBP)).is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "ExchangeRatesRepr", into = "ExchangeRatesRepr")
)]
pub struct ExchangeRates {
    base: Currency,
    rates: Vec<ExchangeRate>,
}

/// Wire form of [`ExchangeRates`], with its format version; read back through
/// [`ExchangeRates::insert`]'s checks, and a currency given two rates is refused.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct ExchangeRatesRepr {
    #[serde(default = "crate::version::v1")]
    version: u32,
    base: Currency,
    rates: Vec<ExchangeRate>,
}

#[cfg(feature = "serde")]
impl TryFrom<ExchangeRatesRepr> for ExchangeRates {
    type Error = Error;
    fn try_from(r: ExchangeRatesRepr) -> Result<ExchangeRates> {
        crate::version::check("exchange rates", r.version, 2)?;
        let mut table = ExchangeRates::new(r.base);
        for rate in r.rates {
            if table.rate_for(rate.from).is_some() {
                return Err(Error::invalid(
                    "exchange rates",
                    rate.from,
                    "two rates for one currency",
                ));
            }
            table.insert(rate)?;
        }
        Ok(table)
    }
}

#[cfg(feature = "serde")]
impl From<ExchangeRates> for ExchangeRatesRepr {
    fn from(t: ExchangeRates) -> ExchangeRatesRepr {
        ExchangeRatesRepr { version: 2, base: t.base, rates: t.rates }
    }
}

impl ExchangeRates {
    /// An empty table for `base`.
    #[must_use]
    pub fn new(base: Currency) -> ExchangeRates {
        ExchangeRates { base, rates: Vec::new() }
    }

    /// The base currency.
    #[must_use]
    pub fn base(&self) -> Currency {
        self.base
    }

    /// Adds or replaces the rate from `rate.from()` into the base.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CurrencyMismatch`] when the rate does not convert into the base.
    pub fn insert(&mut self, rate: ExchangeRate) -> Result<()> {
        if rate.to != self.base {
            return Err(mismatch(self.base, rate.to));
        }
        match self.rates.iter_mut().find(|r| r.from == rate.from) {
            Some(existing) => *existing = rate,
            None => self.rates.push(rate),
        }
        Ok(())
    }

    /// The rate from `currency` into the base, if one was supplied.
    #[must_use]
    pub fn rate_for(&self, currency: Currency) -> Option<&ExchangeRate> {
        self.rates.iter().find(|r| r.from == currency)
    }

    /// Converts `money` into the base currency (unchanged when already in it).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::MissingRate`] when no rate for its currency was supplied;
    /// [`ErrorKind::Overflow`].
    pub fn to_base(&self, money: Money) -> Result<Money> {
        if money.currency == self.base {
            return Ok(money);
        }
        match self.rate_for(money.currency) {
            Some(rate) => rate.convert(money),
            None => Err(ErrorKind::MissingRate {
                from: money.currency.code().to_string(),
                to: self.base.code().to_string(),
            }
            .into()),
        }
    }
}

/// Active ISO 4217 codes and their minor units, sorted by code.
const ISO_4217: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("ANG", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn iso_table_is_sorted_and_unique() {
        for w in ISO_4217.windows(2) {
            assert!(w[0].0 < w[1].0, "{} before {}", w[0].0, w[1].0);
        }
    }

    #[test]
    fn constants_agree_with_table() {
        for c in [
            Currency::USD,
            Currency::EUR,
            Currency::GBP,
            Currency::JPY,
            Currency::CNY,
            Currency::KRW,
            Currency::KWD,
            Currency::CAD,
            Currency::AUD,
            Currency::CHF,
            Currency::HKD,
            Currency::SGD,
        ] {
            assert_eq!(Currency::from_code(c.code()).unwrap(), c);
        }
    }

    #[test]
    fn minor_units_by_currency() {
        let cases = [("JPY", 0), ("USD", 2), ("KWD", 3), ("BHD", 3), ("CLF", 4), ("eur", 2)];
        for (code, units) in cases {
            assert_eq!(Currency::from_code(code).unwrap().minor_units(), units, "{code}");
        }
        assert!(matches!(
            Currency::from_code("XYZ").unwrap_err().kind(),
            ErrorKind::UnknownCurrency { .. }
        ));
    }

    #[test]
    fn custom_currency_validation() {
        assert_eq!(Currency::new("pts", 0).unwrap().code(), "PTS");
        assert!(Currency::new("US", 2).is_err());
        assert!(Currency::new("U$D", 2).is_err());
        assert!(Currency::new("USD", 29).is_err());
        assert!(Currency::new("ÄÖÜ", 2).is_err());
    }

    #[test]
    fn rounding_to_minor_units() {
        let cases = [
            ("10.125", Currency::USD, Rounding::HalfEven, "10.12"),
            ("10.125", Currency::USD, Rounding::HalfUp, "10.13"),
            ("10.135", Currency::USD, Rounding::HalfEven, "10.14"),
            ("-10.125", Currency::USD, Rounding::HalfUp, "-10.13"),
            ("-10.125", Currency::USD, Rounding::HalfDown, "-10.12"),
            ("-10.121", Currency::USD, Rounding::Floor, "-10.13"),
            ("10.121", Currency::USD, Rounding::Ceiling, "10.13"),
            ("10.129", Currency::USD, Rounding::TowardZero, "10.12"),
            ("10.121", Currency::USD, Rounding::AwayFromZero, "10.13"),
            ("1234.5", Currency::JPY, Rounding::HalfUp, "1235"),
            ("1234.5", Currency::JPY, Rounding::HalfEven, "1234"),
            ("1.23456", Currency::KWD, Rounding::HalfUp, "1.235"),
        ];
        for (amount, cur, mode, expected) in cases {
            let m = Money::new(d(amount), cur).round(mode);
            assert_eq!(m.amount(), d(expected), "{amount} {cur} {mode:?}");
        }
    }

    #[test]
    fn rounding_table_in_docs_holds() {
        let table = [
            (Rounding::HalfEven, ["2", "-2", "2", "-3"]),
            (Rounding::HalfUp, ["3", "-3", "2", "-3"]),
            (Rounding::HalfDown, ["2", "-2", "2", "-3"]),
            (Rounding::Floor, ["2", "-3", "2", "-3"]),
            (Rounding::Ceiling, ["3", "-2", "3", "-2"]),
            (Rounding::TowardZero, ["2", "-2", "2", "-2"]),
            (Rounding::AwayFromZero, ["3", "-3", "3", "-3"]),
        ];
        let inputs = ["2.5", "-2.5", "2.4", "-2.6"];
        for (mode, expected) in table {
            for (x, e) in inputs.iter().zip(expected) {
                assert_eq!(mode.round(d(x), 0), d(e), "{mode:?} {x}");
            }
        }
    }

    #[test]
    fn arithmetic_refuses_mixed_currencies() {
        let a = Money::new(d("1"), Currency::USD);
        let b = Money::new(d("1"), Currency::EUR);
        for r in [a.checked_add(b), a.checked_sub(b)] {
            assert!(matches!(r.unwrap_err().kind(), ErrorKind::CurrencyMismatch { .. }));
        }
        assert!(a.try_cmp(&b).is_err());
        assert!(a.ratio(b).is_err());
        assert!(Money::sum(Currency::USD, [a, b]).is_err());
    }

    #[test]
    fn arithmetic_overflow_is_an_error() {
        let max = Money::new(Decimal::MAX, Currency::USD);
        assert!(matches!(max.checked_add(max).unwrap_err().kind(), ErrorKind::Overflow { .. }));
        assert!(matches!((-max).checked_sub(max).unwrap_err().kind(), ErrorKind::Overflow { .. }));
        assert!(max.checked_mul(d("2")).is_err());
        assert!(max.checked_div(d("0.5")).is_err());
        assert!(max.checked_div(Decimal::ZERO).is_err());
    }

    #[test]
    fn basic_arithmetic() {
        let a = Money::parse("10.50", Currency::USD).unwrap();
        let b = Money::parse("0.75", Currency::USD).unwrap();
        assert_eq!(a.checked_add(b).unwrap().amount(), d("11.25"));
        assert_eq!(a.checked_sub(b).unwrap().amount(), d("9.75"));
        assert_eq!(a.checked_mul(d("3")).unwrap().amount(), d("31.50"));
        assert_eq!(a.checked_div(d("4")).unwrap().amount(), d("2.625"));
        assert_eq!(a.ratio(b).unwrap(), d("14"));
        assert_eq!(Money::sum(Currency::USD, [a, b, b]).unwrap().amount(), d("12.00"));
        assert!(Money::parse("ten", Currency::USD).is_err());
        assert!((-b).is_negative());
        assert!(b.is_positive());
        assert!(Money::zero(Currency::JPY).is_zero());
        assert_eq!(a.try_cmp(&b).unwrap(), Ordering::Greater);
    }

    #[test]
    fn exchange_rates() {
        let r = ExchangeRate::new(Currency::EUR, Currency::USD, d("1.25")).unwrap();
        let usd = r.convert(Money::new(d("8"), Currency::EUR)).unwrap();
        assert_eq!(usd, Money::new(d("10.00"), Currency::USD));
        assert!(r.convert(usd).is_err());
        let back = r.inverse().unwrap().convert(usd).unwrap();
        assert_eq!(back.amount(), d("8"));
        assert!(ExchangeRate::new(Currency::EUR, Currency::USD, Decimal::ZERO).is_err());
        assert!(ExchangeRate::new(Currency::EUR, Currency::USD, d("-1")).is_err());
        assert!(ExchangeRate::new(Currency::EUR, Currency::EUR, d("2")).is_err());
        let mut table = ExchangeRates::new(Currency::USD);
        assert!(table.insert(r.inverse().unwrap()).is_err());
        table.insert(r).unwrap();
        table.insert(ExchangeRate::new(Currency::EUR, Currency::USD, d("2")).unwrap()).unwrap();
        assert_eq!(table.to_base(Money::new(d("1"), Currency::EUR)).unwrap().amount(), d("2"));
        let e = table.to_base(Money::new(d("1"), Currency::GBP)).unwrap_err();
        assert_eq!(e.to_string(), "no exchange rate from GBP to USD");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_round_trip() {
        let m = Money::new(d("19.990"), Currency::KWD);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amount":"19.990","currency":{"code":"KWD","minor_units":3}}"#);
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.amount().scale(), 3);
        let bad = r#"{"amount":"1","currency":{"code":"U1D","minor_units":2}}"#;
        assert!(serde_json::from_str::<Money>(bad).is_err());
        let rate = ExchangeRate::new(Currency::EUR, Currency::USD, d("1.1")).unwrap();
        let back: ExchangeRate =
            serde_json::from_str(&serde_json::to_string(&rate).unwrap()).unwrap();
        assert_eq!(back, rate);
        let bad = r#"{"from":{"code":"EUR","minor_units":2},"to":{"code":"USD","minor_units":2},"rate":"-1"}"#;
        assert!(serde_json::from_str::<ExchangeRate>(bad).is_err());
    }

    proptest! {
        #[test]
        fn arithmetic_never_panics(a: Decimal, b: Decimal, c in "[A-Za-z]{3}", u in 0u8..40) {
            let cur = Currency::new(&c, u.min(28)).unwrap();
            let x = Money::new(a, cur);
            let y = Money::new(b, Currency::USD);
            let _ = x.checked_add(y);
            let _ = x.checked_sub(y);
            let _ = x.checked_mul(b);
            let _ = x.checked_div(b);
            let _ = x.ratio(y);
            let _ = x.round(Rounding::HalfUp);
            let _ = x.round(Rounding::Ceiling);
            let _ = Rounding::Floor.round_to_i64(a);
            let _ = Currency::new(&c, u);
            if let Ok(r) = ExchangeRate::new(cur, Currency::USD, b) {
                let _ = r.convert(x);
                let _ = r.inverse();
            }
        }

        #[test]
        fn add_then_sub_is_identity(a in -1_000_000_000i64..1_000_000_000, b in -1_000_000_000i64..1_000_000_000, s in 0u32..6) {
            let x = Money::new(Decimal::new(a, s), Currency::USD);
            let y = Money::new(Decimal::new(b, s), Currency::USD);
            prop_assert_eq!(x.checked_add(y).unwrap().checked_sub(y).unwrap(), x);
        }

        #[test]
        fn rounding_stays_within_one_minor_unit(a in -1_000_000_000_000i64..1_000_000_000_000, s in 0u32..10) {
            let x = Money::new(Decimal::new(a, s), Currency::USD);
            for mode in [Rounding::HalfEven, Rounding::HalfUp, Rounding::HalfDown, Rounding::Floor,
                         Rounding::Ceiling, Rounding::TowardZero, Rounding::AwayFromZero] {
                let r = x.round(mode);
                prop_assert!(r.amount().scale() <= 2);
                prop_assert!((r.amount() - x.amount()).abs() < d("0.01"));
            }
        }
    }
}
