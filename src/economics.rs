//! Acquisition economics: what a new customer costs and what a customer is worth.
//!
//! A seller checks these first. A high acquisition cost with a low lifetime value is not a
//! business; the ratio of the two, and how many periods of margin it takes to earn the
//! acquisition cost back, say whether growth pays for itself.
//!
//! | quantity | formula | units |
//! |---|---|---|
//! | CAC ([`cac`], [`cac_by_channel`]) | total marketing cost / new customers | money per customer |
//! | historic CLV ([`clv_historic`]) | Σ revenue × margin | money |
//! | simple CLV ([`clv_simple`]) | AOV × purchases per period × lifetime periods × margin | money |
//! | retention CLV ([`clv_retention`]) | m · r / (1 + d − r) | money |
//! | finite retention CLV ([`clv_retention_finite`]) | Σ_{t=1..N} m · r^t / (1 + d)^t | money |
//! | CLV:CAC ([`ClvToCac`]) | CLV / CAC | ratio |
//! | payback ([`payback_periods`]) | CAC / margin per period | periods |
//!
//! `m` is the margin a retained customer yields per period, `r` the per-period retention rate
//! and `d` the per-period discount rate. The retention formulas count margin from the end of
//! the first period on: a customer acquired today is first retained (probability `r`) and
//! paid for one period later. The infinite form is the limit of the finite sum, a geometric
//! series with ratio `q = r / (1 + d)` (Gupta & Lehmann 2003, "Customers as assets", Journal of
//! Interactive Marketing 17(1); Berger & Nasr 1998, "Customer lifetime value: marketing models
//! and applications", Journal of Interactive Marketing 12(1)). The series converges only when
//! `r < 1 + d`, which holds for every `d >= 0`.
//!
//! All amounts are [`Money`]: exact decimals, never rounded here. Round the results with an
//! explicit [`Rounding`](crate::Rounding) when presenting them.
//!
//! # Example
//!
//! ```
//! use loyalty::economics::{
//!     cac_by_channel, clv_retention, ChannelSpend, ClvToCac, DiscountRate, Retention, Verdict,
//!     VerdictThresholds,
//! };
//! use loyalty::{Currency, Money, Rounding};
//! use rust_decimal::dec;
//!
//! let usd = |x| Money::new(x, Currency::USD);
//! let report = cac_by_channel(&[
//!     ChannelSpend::new("search", usd(dec!(6000)), 150)?,
//!     ChannelSpend::new("social", usd(dec!(3000)), 50)?,
//! ])?;
//! assert_eq!(report.blended().amount(), dec!(45));                 // 9000 / 200
//! assert_eq!(report.channels()[1].cac().unwrap().amount(), dec!(60)); // 3000 / 50
//!
//! // 50 USD margin a year, 75 % of customers stay each year, 10 % discount rate.
//! let clv = clv_retention(usd(dec!(50)), Retention::new(dec!(0.75))?, DiscountRate::new(dec!(0.10))?)?;
//! assert_eq!(clv.round(Rounding::HalfUp).amount(), dec!(107.14));  // 50 × 0.75 / 0.35
//!
//! let ratio = ClvToCac::new(clv, report.blended())?;
//! assert_eq!(ratio.verdict(VerdictThresholds::default()), Verdict::Marginal); // 2.38
//! # Ok::<(), loyalty::Error>(())
//! ```

use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::money::{Currency, Money};
use crate::units::Share;

/// CAC: total marketing cost divided by the number of new customers it brought.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `new_customers` is zero or
/// the cost is negative.
///
/// # Example
///
/// ```
/// use loyalty::{economics::cac, Currency, Money};
/// use rust_decimal::dec;
///
/// let cost = Money::new(dec!(1000), Currency::EUR);
/// assert_eq!(cac(cost, 40)?.amount(), dec!(25));
/// assert!(cac(cost, 0).is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn cac(total_cost: Money, new_customers: u64) -> Result<Money> {
    ensure_not_negative("marketing cost", total_cost)?;
    if new_customers == 0 {
        return Err(Error::invalid("new_customers", 0, "must be positive"));
    }
    total_cost.checked_div(Decimal::from(new_customers))
}

/// Marketing spend and the new customers it brought, for one acquisition channel.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "ChannelSpendRepr", into = "ChannelSpendRepr")
)]
pub struct ChannelSpend {
    channel: String,
    cost: Money,
    new_customers: u64,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct ChannelSpendRepr {
    channel: String,
    cost: Money,
    new_customers: u64,
}

#[cfg(feature = "serde")]
impl TryFrom<ChannelSpendRepr> for ChannelSpend {
    type Error = Error;

    fn try_from(r: ChannelSpendRepr) -> Result<ChannelSpend> {
        ChannelSpend::new(r.channel, r.cost, r.new_customers)
    }
}

#[cfg(feature = "serde")]
impl From<ChannelSpend> for ChannelSpendRepr {
    fn from(c: ChannelSpend) -> ChannelSpendRepr {
        ChannelSpendRepr { channel: c.channel, cost: c.cost, new_customers: c.new_customers }
    }
}

impl ChannelSpend {
    /// Spend on a channel and the new customers attributed to it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the cost is negative.
    pub fn new(
        channel: impl Into<String>,
        cost: Money,
        new_customers: u64,
    ) -> Result<ChannelSpend> {
        ensure_not_negative("marketing cost", cost)?;
        Ok(ChannelSpend { channel: channel.into(), cost, new_customers })
    }

    /// The channel's name.
    #[must_use]
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The marketing cost.
    #[must_use]
    pub fn cost(&self) -> Money {
        self.cost
    }

    /// The new customers attributed to the channel.
    #[must_use]
    pub fn new_customers(&self) -> u64 {
        self.new_customers
    }
}

/// CAC of one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ChannelCac {
    spend: ChannelSpend,
    cac: Option<Money>,
}

impl ChannelCac {
    /// The channel's spend and customers.
    #[must_use]
    pub fn spend(&self) -> &ChannelSpend {
        &self.spend
    }

    /// The channel's CAC; `None` when it brought no new customer (the cost still counts in
    /// the blended CAC).
    #[must_use]
    pub fn cac(&self) -> Option<Money> {
        self.cac
    }
}

/// CAC per channel and blended over all channels. Read back through serde, its figures
/// must be the ones [`cac_by_channel`] computes from its channels' spend.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "CacReportRepr", into = "CacReportRepr")
)]
pub struct CacReport {
    channels: Vec<ChannelCac>,
    total_cost: Money,
    new_customers: u64,
    blended: Money,
}

/// Wire form of [`CacReport`], recomputed and compared on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct CacReportRepr {
    channels: Vec<ChannelCac>,
    total_cost: Money,
    new_customers: u64,
    blended: Money,
}

#[cfg(feature = "serde")]
impl TryFrom<CacReportRepr> for CacReport {
    type Error = Error;
    fn try_from(r: CacReportRepr) -> Result<CacReport> {
        let spend: Vec<ChannelSpend> = r.channels.iter().map(|c| c.spend.clone()).collect();
        let report = cac_by_channel(&spend)?;
        let stored = CacReport {
            channels: r.channels,
            total_cost: r.total_cost,
            new_customers: r.new_customers,
            blended: r.blended,
        };
        if stored != report {
            return Err(crate::ErrorKind::InvalidState {
                reason: "cac report: its figures are not those of its channels' spend".into(),
            }
            .into());
        }
        Ok(report)
    }
}

#[cfg(feature = "serde")]
impl From<CacReport> for CacReportRepr {
    fn from(r: CacReport) -> CacReportRepr {
        CacReportRepr {
            channels: r.channels,
            total_cost: r.total_cost,
            new_customers: r.new_customers,
            blended: r.blended,
        }
    }
}

impl CacReport {
    /// Per-channel results, in input order.
    #[must_use]
    pub fn channels(&self) -> &[ChannelCac] {
        &self.channels
    }

    /// Total marketing cost over all channels.
    #[must_use]
    pub fn total_cost(&self) -> Money {
        self.total_cost
    }

    /// Total new customers over all channels.
    #[must_use]
    pub fn new_customers(&self) -> u64 {
        self.new_customers
    }

    /// Blended CAC: total cost / total new customers.
    #[must_use]
    pub fn blended(&self) -> Money {
        self.blended
    }
}

/// CAC per channel and blended.
///
/// # Errors
///
/// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) for no channels;
/// [`ErrorKind::CurrencyMismatch`](crate::ErrorKind::CurrencyMismatch) when channels use
/// different currencies (convert them first with an [`ExchangeRate`](crate::ExchangeRate));
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the channels together
/// brought no new customer; [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
pub fn cac_by_channel(spend: &[ChannelSpend]) -> Result<CacReport> {
    let first = spend.first().ok_or_else(|| Error::empty("channel list"))?;
    let currency: Currency = first.cost.currency();
    let mut total_cost = Money::zero(currency);
    let mut new_customers: u64 = 0;
    let mut channels = Vec::with_capacity(spend.len());
    for s in spend {
        total_cost = total_cost.checked_add(s.cost)?;
        new_customers = new_customers
            .checked_add(s.new_customers)
            .ok_or_else(|| Error::overflow("new customer count"))?;
        let cac = if s.new_customers == 0 { None } else { Some(cac(s.cost, s.new_customers)?) };
        channels.push(ChannelCac { spend: s.clone(), cac });
    }
    let blended = cac(total_cost, new_customers)?;
    Ok(CacReport { channels, total_cost, new_customers, blended })
}

/// Historic CLV: the margin a customer has earned to date, Σ revenue × margin.
///
/// Refunds may be passed as negative amounts.
///
/// # Errors
///
/// [`ErrorKind::CurrencyMismatch`](crate::ErrorKind::CurrencyMismatch) when the amounts are
/// not all in `currency`; [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
///
/// # Example
///
/// ```
/// use loyalty::{economics::clv_historic, Currency, Money, Share};
/// use rust_decimal::dec;
///
/// let orders = [dec!(40), dec!(25.50), dec!(-5.50)].map(|a| Money::new(a, Currency::USD));
/// let clv = clv_historic(Currency::USD, &orders, Share::new(dec!(0.4))?)?;
/// assert_eq!(clv.amount(), dec!(24)); // 60 × 0.4
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn clv_historic(currency: Currency, revenue: &[Money], margin: Share) -> Result<Money> {
    Money::sum(currency, revenue.iter().copied())?.checked_mul(margin.value())
}

/// The inputs of the simple CLV formula.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SimpleClv {
    /// Average order value.
    pub average_order_value: Money,
    /// Purchases per period (e.g. per year).
    pub purchases_per_period: Decimal,
    /// Expected customer lifetime, in the same periods.
    pub lifetime_periods: Decimal,
    /// Gross margin on revenue.
    pub margin: Share,
}

/// Simple CLV: average order value × purchases per period × lifetime in periods × margin.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the order value, the
/// purchase rate or the lifetime is negative; [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
///
/// # Example
///
/// ```
/// use loyalty::economics::{clv_simple, SimpleClv};
/// use loyalty::{Currency, Money, Share};
/// use rust_decimal::dec;
///
/// let clv = clv_simple(SimpleClv {
///     average_order_value: Money::new(dec!(60), Currency::USD),
///     purchases_per_period: dec!(4),   // a year
///     lifetime_periods: dec!(3),       // years
///     margin: Share::new(dec!(0.25))?,
/// })?;
/// assert_eq!(clv.amount(), dec!(180));
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn clv_simple(inputs: SimpleClv) -> Result<Money> {
    ensure_not_negative("average_order_value", inputs.average_order_value)?;
    if inputs.purchases_per_period < Decimal::ZERO {
        return Err(Error::invalid(
            "purchases_per_period",
            inputs.purchases_per_period,
            "must not be negative",
        ));
    }
    if inputs.lifetime_periods < Decimal::ZERO {
        return Err(Error::invalid(
            "lifetime_periods",
            inputs.lifetime_periods,
            "must not be negative",
        ));
    }
    inputs
        .average_order_value
        .checked_mul(inputs.purchases_per_period)?
        .checked_mul(inputs.lifetime_periods)?
        .checked_mul(inputs.margin.value())
}

/// A per-period retention rate in `[0, 1)`: the share of customers active in one period who
/// are still active in the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "Decimal", into = "Decimal")
)]
pub struct Retention(Decimal);

impl Retention {
    /// A retention rate.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) outside `[0, 1)`: a rate of
    /// 1 means customers never leave, and every retention CLV would be unbounded.
    pub fn new(rate: Decimal) -> Result<Retention> {
        if rate < Decimal::ZERO || rate >= Decimal::ONE {
            return Err(Error::invalid("retention", rate, "must be in [0, 1)"));
        }
        Ok(Retention(rate))
    }

    /// The rate.
    #[must_use]
    pub fn value(self) -> Decimal {
        self.0
    }
}

impl TryFrom<Decimal> for Retention {
    type Error = Error;

    fn try_from(d: Decimal) -> Result<Retention> {
        Retention::new(d)
    }
}

impl From<Retention> for Decimal {
    fn from(r: Retention) -> Decimal {
        r.0
    }
}

/// A per-period discount rate, above −1 (`0.1` is 10 % per period).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "Decimal", into = "Decimal")
)]
pub struct DiscountRate(Decimal);

impl DiscountRate {
    /// No discounting.
    pub const ZERO: DiscountRate = DiscountRate(Decimal::ZERO);

    /// A discount rate.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) at or below −1, where the
    /// discount factor `1 / (1 + d)` is undefined or negative.
    pub fn new(rate: Decimal) -> Result<DiscountRate> {
        if rate <= Decimal::NEGATIVE_ONE {
            return Err(Error::invalid("discount rate", rate, "must be above -1"));
        }
        Ok(DiscountRate(rate))
    }

    /// The rate.
    #[must_use]
    pub fn value(self) -> Decimal {
        self.0
    }
}

impl TryFrom<Decimal> for DiscountRate {
    type Error = Error;

    fn try_from(d: Decimal) -> Result<DiscountRate> {
        DiscountRate::new(d)
    }
}

impl From<DiscountRate> for Decimal {
    fn from(r: DiscountRate) -> Decimal {
        r.0
    }
}

/// The ratio `q = r / (1 + d)` of the retention series.
fn series_ratio(retention: Retention, discount: DiscountRate) -> Result<Decimal> {
    let denom =
        Decimal::ONE.checked_add(discount.0).ok_or_else(|| Error::overflow("discount factor"))?;
    retention.0.checked_div(denom).ok_or_else(|| Error::overflow("discount factor"))
}

/// Retention-based CLV over an infinite horizon: `m · r / (1 + d − r)`.
///
/// `margin_per_period` is the margin a retained customer yields each period. The first
/// payment is counted one period from now (see the [module docs](self)).
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the margin is negative, or
/// when `r >= 1 + d` (a negative discount rate larger in size than the churn rate: the series
/// diverges); [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
///
/// # Example
///
/// ```
/// use loyalty::economics::{clv_retention, DiscountRate, Retention};
/// use loyalty::{Currency, Money};
/// use rust_decimal::dec;
///
/// let m = Money::new(dec!(100), Currency::USD);
/// let clv = clv_retention(m, Retention::new(dec!(0.8))?, DiscountRate::new(dec!(0.12))?)?;
/// assert_eq!(clv.amount().round_dp(4), dec!(250.0000)); // 100 × 0.8 / 0.32
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn clv_retention(
    margin_per_period: Money,
    retention: Retention,
    discount: DiscountRate,
) -> Result<Money> {
    ensure_not_negative("margin_per_period", margin_per_period)?;
    let denom = Decimal::ONE
        .checked_add(discount.0)
        .and_then(|x| x.checked_sub(retention.0))
        .ok_or_else(|| Error::overflow("retention clv"))?;
    if denom <= Decimal::ZERO {
        return Err(Error::invalid(
            "discount rate",
            discount.0,
            format!("retention {} must be below 1 + discount rate for a finite value", retention.0),
        ));
    }
    let factor = retention.0.checked_div(denom).ok_or_else(|| Error::overflow("retention clv"))?;
    margin_per_period.checked_mul(factor)
}

/// Retention-based CLV over `periods` periods: `Σ_{t=1..N} m · r^t / (1 + d)^t`.
///
/// Evaluated in closed form, `m · q · (1 − q^N) / (1 − q)` with `q = r / (1 + d)`, so the cost
/// grows with `log N`, not `N`. As `N` grows it approaches [`clv_retention`].
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the margin is negative;
/// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) when `q > 1` and the sum leaves the
/// decimal range.
///
/// # Example
///
/// ```
/// use loyalty::economics::{clv_retention_finite, DiscountRate, Retention};
/// use loyalty::{Currency, Money};
/// use rust_decimal::dec;
///
/// let m = Money::new(dec!(100), Currency::USD);
/// let r = Retention::new(dec!(0.5))?;
/// // Two periods, no discounting: 100 × 0.5 + 100 × 0.25.
/// assert_eq!(clv_retention_finite(m, r, DiscountRate::ZERO, 2)?.amount(), dec!(75));
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn clv_retention_finite(
    margin_per_period: Money,
    retention: Retention,
    discount: DiscountRate,
    periods: u32,
) -> Result<Money> {
    ensure_not_negative("margin_per_period", margin_per_period)?;
    let q = series_ratio(retention, discount)?;
    let n = Decimal::from(periods);
    let factor = if q == Decimal::ONE {
        n
    } else {
        let q_n = checked_pow(q, periods)?;
        let num = q
            .checked_mul(Decimal::ONE - q_n)
            .ok_or_else(|| Error::overflow("finite retention clv"))?;
        num.checked_div(Decimal::ONE - q).ok_or_else(|| Error::overflow("finite retention clv"))?
    };
    margin_per_period.checked_mul(factor)
}

/// `base^exp` by repeated squaring with checked multiplication. Values below the decimal
/// resolution become zero, which is what a vanishing geometric term is.
fn checked_pow(base: Decimal, mut exp: u32) -> Result<Decimal> {
    let mut result = Decimal::ONE;
    let mut b = base;
    while exp > 0 {
        if exp & 1 == 1 {
            result = result.checked_mul(b).ok_or_else(|| Error::overflow("power"))?;
        }
        exp >>= 1;
        if exp > 0 {
            b = b.checked_mul(b).ok_or_else(|| Error::overflow("power"))?;
        }
    }
    Ok(result)
}

/// Where a CLV:CAC ratio stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Verdict {
    /// Below the lower threshold: customers are worth less than they cost.
    Unsustainable,
    /// Between the thresholds: paying back, with little room.
    Marginal,
    /// At or above the upper threshold.
    Healthy,
}

/// The thresholds that turn a CLV:CAC ratio into a [`Verdict`] (default 1 and 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "VerdictThresholdsRepr", into = "VerdictThresholdsRepr")
)]
pub struct VerdictThresholds {
    unsustainable_below: Decimal,
    healthy_from: Decimal,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct VerdictThresholdsRepr {
    unsustainable_below: Decimal,
    healthy_from: Decimal,
}

#[cfg(feature = "serde")]
impl TryFrom<VerdictThresholdsRepr> for VerdictThresholds {
    type Error = Error;

    fn try_from(r: VerdictThresholdsRepr) -> Result<VerdictThresholds> {
        VerdictThresholds::new(r.unsustainable_below, r.healthy_from)
    }
}

#[cfg(feature = "serde")]
impl From<VerdictThresholds> for VerdictThresholdsRepr {
    fn from(t: VerdictThresholds) -> VerdictThresholdsRepr {
        VerdictThresholdsRepr {
            unsustainable_below: t.unsustainable_below,
            healthy_from: t.healthy_from,
        }
    }
}

impl Default for VerdictThresholds {
    fn default() -> VerdictThresholds {
        VerdictThresholds { unsustainable_below: Decimal::ONE, healthy_from: Decimal::from(3) }
    }
}

impl VerdictThresholds {
    /// Ratios below `unsustainable_below` are unsustainable; ratios at or above `healthy_from`
    /// are healthy; the rest are marginal.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) unless
    /// `0 < unsustainable_below <= healthy_from`.
    pub fn new(unsustainable_below: Decimal, healthy_from: Decimal) -> Result<VerdictThresholds> {
        if unsustainable_below <= Decimal::ZERO {
            return Err(Error::invalid(
                "unsustainable_below",
                unsustainable_below,
                "must be positive",
            ));
        }
        if healthy_from < unsustainable_below {
            return Err(Error::invalid(
                "healthy_from",
                healthy_from,
                format!("must be at least unsustainable_below {unsustainable_below}"),
            ));
        }
        Ok(VerdictThresholds { unsustainable_below, healthy_from })
    }

    /// The lower threshold.
    #[must_use]
    pub fn unsustainable_below(&self) -> Decimal {
        self.unsustainable_below
    }

    /// The upper threshold.
    #[must_use]
    pub fn healthy_from(&self) -> Decimal {
        self.healthy_from
    }
}

/// The CLV:CAC ratio. Read back through serde, it is checked as [`ClvToCac::new`] checks
/// its inputs, and its ratio must be theirs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "ClvToCacRepr", into = "ClvToCacRepr")
)]
pub struct ClvToCac {
    clv: Money,
    cac: Money,
    ratio: Decimal,
}

/// Wire form of [`ClvToCac`], validated on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct ClvToCacRepr {
    clv: Money,
    cac: Money,
    ratio: Decimal,
}

#[cfg(feature = "serde")]
impl TryFrom<ClvToCacRepr> for ClvToCac {
    type Error = Error;
    fn try_from(r: ClvToCacRepr) -> Result<ClvToCac> {
        let c = ClvToCac::new(r.clv, r.cac)?;
        if c.ratio != r.ratio {
            return Err(Error::invalid("clv to cac ratio", r.ratio, "must be clv / cac"));
        }
        Ok(c)
    }
}

#[cfg(feature = "serde")]
impl From<ClvToCac> for ClvToCacRepr {
    fn from(c: ClvToCac) -> ClvToCacRepr {
        ClvToCacRepr { clv: c.clv, cac: c.cac, ratio: c.ratio }
    }
}

impl ClvToCac {
    /// The ratio of a customer's lifetime value to its acquisition cost.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CurrencyMismatch`](crate::ErrorKind::CurrencyMismatch);
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the CAC is not positive
    /// or the CLV is negative; [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
    pub fn new(clv: Money, cac: Money) -> Result<ClvToCac> {
        clv.ensure_same_currency(cac.currency())?;
        if !cac.is_positive() {
            return Err(Error::invalid("cac", cac, "must be positive"));
        }
        ensure_not_negative("clv", clv)?;
        let ratio = clv.ratio(cac)?;
        Ok(ClvToCac { clv, cac, ratio })
    }

    /// CLV / CAC.
    #[must_use]
    pub fn ratio(&self) -> Decimal {
        self.ratio
    }

    /// The CLV.
    #[must_use]
    pub fn clv(&self) -> Money {
        self.clv
    }

    /// The CAC.
    #[must_use]
    pub fn cac(&self) -> Money {
        self.cac
    }

    /// The verdict under `thresholds`.
    #[must_use]
    pub fn verdict(&self, thresholds: VerdictThresholds) -> Verdict {
        if self.ratio < thresholds.unsustainable_below {
            Verdict::Unsustainable
        } else if self.ratio < thresholds.healthy_from {
            Verdict::Marginal
        } else {
            Verdict::Healthy
        }
    }
}

/// CAC payback: the periods of margin needed to earn the acquisition cost back,
/// `CAC / margin per period` (fractional; round up for whole periods).
///
/// # Errors
///
/// [`ErrorKind::CurrencyMismatch`](crate::ErrorKind::CurrencyMismatch);
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the CAC is negative or the
/// margin per period is not positive (the cost is never recovered).
///
/// # Example
///
/// ```
/// use loyalty::{economics::payback_periods, Currency, Money};
/// use rust_decimal::dec;
///
/// let cac = Money::new(dec!(90), Currency::USD);
/// let monthly_margin = Money::new(dec!(12), Currency::USD);
/// assert_eq!(payback_periods(cac, monthly_margin)?, dec!(7.5));
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn payback_periods(cac: Money, margin_per_period: Money) -> Result<Decimal> {
    ensure_not_negative("cac", cac)?;
    if !margin_per_period.is_positive() {
        return Err(Error::invalid(
            "margin_per_period",
            margin_per_period,
            "must be positive for the cost to be recovered",
        ));
    }
    cac.ratio(margin_per_period)
}

/// When retained, discounted margin earns the acquisition cost back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Payback {
    /// Recovered at the end of this period (1-based).
    InPeriod(u32),
    /// Not recovered within the periods searched.
    NotWithin(u32),
}

/// CAC payback with retention and discounting: the first period `N` at which
/// `Σ_{t=1..N} m · r^t / (1 + d)^t >= CAC`, searched up to `max_periods`.
///
/// # Errors
///
/// As [`payback_periods`], and [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
///
/// # Example
///
/// ```
/// use loyalty::economics::{payback_with_retention, DiscountRate, Payback, Retention};
/// use loyalty::{Currency, Money};
/// use rust_decimal::dec;
///
/// let usd = |x| Money::new(x, Currency::USD);
/// let r = Retention::new(dec!(0.5))?;
/// // 100 × (0.5 + 0.25) = 75 after two periods, 87.5 after three.
/// assert_eq!(payback_with_retention(usd(dec!(80)), usd(dec!(100)), r, DiscountRate::ZERO, 10)?, Payback::InPeriod(3));
/// // The whole series is worth 100: a CAC of 120 is never recovered.
/// assert_eq!(payback_with_retention(usd(dec!(120)), usd(dec!(100)), r, DiscountRate::ZERO, 10)?, Payback::NotWithin(10));
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn payback_with_retention(
    cac: Money,
    margin_per_period: Money,
    retention: Retention,
    discount: DiscountRate,
    max_periods: u32,
) -> Result<Payback> {
    cac.ensure_same_currency(margin_per_period.currency())?;
    ensure_not_negative("cac", cac)?;
    if !margin_per_period.is_positive() {
        return Err(Error::invalid(
            "margin_per_period",
            margin_per_period,
            "must be positive for the cost to be recovered",
        ));
    }
    let q = series_ratio(retention, discount)?;
    let mut term = margin_per_period.amount();
    let mut total = Decimal::ZERO;
    for period in 1..=max_periods {
        term = term.checked_mul(q).ok_or_else(|| Error::overflow("payback"))?;
        total = total.checked_add(term).ok_or_else(|| Error::overflow("payback"))?;
        if total >= cac.amount() {
            return Ok(Payback::InPeriod(period));
        }
        if term.is_zero() {
            break;
        }
    }
    Ok(Payback::NotWithin(max_periods))
}

fn ensure_not_negative(field: &'static str, m: Money) -> Result<()> {
    if m.is_negative() {
        return Err(Error::invalid(field, m, "must not be negative"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use proptest::prelude::*;
    use rust_decimal::dec;

    fn usd(x: Decimal) -> Money {
        Money::new(x, Currency::USD)
    }

    #[test]
    fn cac_hand_values() {
        assert_eq!(cac(usd(dec!(12000)), 400).unwrap().amount(), dec!(30));
        assert_eq!(cac(usd(dec!(100)), 3).unwrap().amount().round_dp(4), dec!(33.3333));
        assert_eq!(cac(usd(dec!(0)), 3).unwrap().amount(), dec!(0));
        let e = cac(usd(dec!(100)), 0).unwrap_err();
        assert_eq!(e.to_string(), "invalid new_customers `0`: must be positive");
        assert!(matches!(
            cac(usd(dec!(-1)), 3).unwrap_err().kind(),
            ErrorKind::InvalidInput { .. }
        ));
    }

    #[test]
    fn cac_per_channel_and_blended() {
        let r = cac_by_channel(&[
            ChannelSpend::new("search", usd(dec!(5000)), 100).unwrap(),
            ChannelSpend::new("tv", usd(dec!(2000)), 0).unwrap(),
            ChannelSpend::new("social", usd(dec!(3000)), 150).unwrap(),
        ])
        .unwrap();
        assert_eq!(r.total_cost().amount(), dec!(10000));
        assert_eq!(r.new_customers(), 250);
        assert_eq!(r.blended().amount(), dec!(40));
        assert_eq!(r.channels()[0].cac().unwrap().amount(), dec!(50));
        assert_eq!(r.channels()[1].cac(), None);
        assert_eq!(r.channels()[2].cac().unwrap().amount(), dec!(20));
        assert_eq!(r.channels()[2].spend().channel(), "social");
    }

    #[test]
    fn cac_by_channel_bad_input() {
        assert!(matches!(cac_by_channel(&[]).unwrap_err().kind(), ErrorKind::EmptyInput { .. }));
        let mixed = [
            ChannelSpend::new("a", usd(dec!(1)), 1).unwrap(),
            ChannelSpend::new("b", Money::new(dec!(1), Currency::EUR), 1).unwrap(),
        ];
        assert!(matches!(
            cac_by_channel(&mixed).unwrap_err().kind(),
            ErrorKind::CurrencyMismatch { .. }
        ));
        let none = [ChannelSpend::new("a", usd(dec!(1)), 0).unwrap()];
        assert!(cac_by_channel(&none).is_err());
        assert!(ChannelSpend::new("a", usd(dec!(-1)), 1).is_err());
        let huge = [
            ChannelSpend::new("a", usd(Decimal::MAX), 1).unwrap(),
            ChannelSpend::new("b", usd(Decimal::MAX), 1).unwrap(),
        ];
        assert!(matches!(cac_by_channel(&huge).unwrap_err().kind(), ErrorKind::Overflow { .. }));
        let many = [
            ChannelSpend::new("a", usd(dec!(1)), u64::MAX).unwrap(),
            ChannelSpend::new("b", usd(dec!(1)), 1).unwrap(),
        ];
        assert!(matches!(cac_by_channel(&many).unwrap_err().kind(), ErrorKind::Overflow { .. }));
    }

    #[test]
    fn clv_hand_values() {
        let m = usd(dec!(100));
        let margin = Share::new(dec!(0.3)).unwrap();
        let orders = [usd(dec!(10)), usd(dec!(20)), usd(dec!(70))];
        assert_eq!(clv_historic(Currency::USD, &orders, margin).unwrap().amount(), dec!(30));
        assert_eq!(clv_historic(Currency::USD, &[], margin).unwrap().amount(), dec!(0));
        assert!(clv_historic(Currency::EUR, &orders, margin).is_err());

        let simple = SimpleClv {
            average_order_value: usd(dec!(50)),
            purchases_per_period: dec!(2.5),
            lifetime_periods: dec!(4),
            margin,
        };
        assert_eq!(clv_simple(simple).unwrap().amount(), dec!(150));
        for bad in [
            SimpleClv { average_order_value: usd(dec!(-1)), ..simple },
            SimpleClv { purchases_per_period: dec!(-1), ..simple },
            SimpleClv { lifetime_periods: dec!(-0.1), ..simple },
        ] {
            assert!(matches!(clv_simple(bad).unwrap_err().kind(), ErrorKind::InvalidInput { .. }));
        }

        // 100 × 0.9 / (1 + 0.1 − 0.9) = 450.
        let r = Retention::new(dec!(0.9)).unwrap();
        let d = DiscountRate::new(dec!(0.1)).unwrap();
        assert_eq!(clv_retention(m, r, d).unwrap().amount(), dec!(450));
        // Zero retention: nothing after today.
        let zero = Retention::new(dec!(0)).unwrap();
        assert_eq!(clv_retention(m, zero, d).unwrap().amount(), dec!(0));
        // One period at 0.9 / 1.1; three periods, no discount: 100 (0.5 + 0.25 + 0.125).
        assert_eq!(
            clv_retention_finite(m, r, d, 1).unwrap().amount().round_dp(10),
            (dec!(90) / dec!(1.1)).round_dp(10)
        );
        let half = Retention::new(dec!(0.5)).unwrap();
        assert_eq!(
            clv_retention_finite(m, half, DiscountRate::ZERO, 3).unwrap().amount(),
            dec!(87.5)
        );
        assert_eq!(clv_retention_finite(m, half, DiscountRate::ZERO, 0).unwrap().amount(), dec!(0));
    }

    #[test]
    fn retention_and_discount_domains() {
        assert!(Retention::new(dec!(1)).is_err());
        assert!(Retention::new(dec!(-0.01)).is_err());
        assert!(Retention::new(dec!(0.999999)).is_ok());
        assert!(DiscountRate::new(dec!(-1)).is_err());
        assert!(DiscountRate::new(dec!(-1.5)).is_err());
        assert!(DiscountRate::new(dec!(-0.99)).is_ok());
        let e = Retention::new(dec!(1.2)).unwrap_err();
        assert_eq!(e.to_string(), "invalid retention `1.2`: must be in [0, 1)");
    }

    #[test]
    fn divergent_series_is_an_error_and_finite_form_handles_q_at_least_one() {
        let m = usd(dec!(10));
        let r = Retention::new(dec!(0.6)).unwrap();
        let d = DiscountRate::new(dec!(-0.5)).unwrap(); // q = 1.2
        assert!(matches!(
            clv_retention(m, r, d).unwrap_err().kind(),
            ErrorKind::InvalidInput { .. }
        ));
        // Finite sum still defined: 10 (1.2 + 1.44) = 26.4.
        assert_eq!(clv_retention_finite(m, r, d, 2).unwrap().amount().round_dp(10), dec!(26.4));
        // q exactly 1: r = 0.5, d = -0.5 → N · m.
        let d1 = DiscountRate::new(dec!(-0.5)).unwrap();
        let r1 = Retention::new(dec!(0.5)).unwrap();
        assert_eq!(clv_retention_finite(m, r1, d1, 7).unwrap().amount(), dec!(70));
        // q > 1 over many periods overflows into an error, not a panic.
        assert!(matches!(
            clv_retention_finite(m, r, d, 1_000_000).unwrap_err().kind(),
            ErrorKind::Overflow { .. }
        ));
    }

    #[test]
    fn ratio_verdict_and_payback() {
        let v = ClvToCac::new(usd(dec!(300)), usd(dec!(100))).unwrap();
        assert_eq!(v.ratio(), dec!(3));
        assert_eq!(v.verdict(VerdictThresholds::default()), Verdict::Healthy);
        let v = ClvToCac::new(usd(dec!(99)), usd(dec!(100))).unwrap();
        assert_eq!(v.verdict(VerdictThresholds::default()), Verdict::Unsustainable);
        let v = ClvToCac::new(usd(dec!(100)), usd(dec!(100))).unwrap();
        assert_eq!(v.verdict(VerdictThresholds::default()), Verdict::Marginal);
        let strict = VerdictThresholds::new(dec!(1.5), dec!(4)).unwrap();
        assert_eq!(v.verdict(strict), Verdict::Unsustainable);
        assert!(VerdictThresholds::new(dec!(0), dec!(3)).is_err());
        assert!(VerdictThresholds::new(dec!(3), dec!(2)).is_err());
        assert!(ClvToCac::new(usd(dec!(1)), usd(dec!(0))).is_err());
        assert!(ClvToCac::new(usd(dec!(-1)), usd(dec!(1))).is_err());
        assert!(ClvToCac::new(usd(dec!(1)), Money::new(dec!(1), Currency::EUR)).is_err());

        assert_eq!(payback_periods(usd(dec!(100)), usd(dec!(40))).unwrap(), dec!(2.5));
        assert!(payback_periods(usd(dec!(100)), usd(dec!(0))).is_err());
        assert!(payback_periods(usd(dec!(-1)), usd(dec!(1))).is_err());
        assert!(payback_periods(usd(dec!(1)), Money::new(dec!(1), Currency::EUR)).is_err());
        let r = Retention::new(dec!(0.9)).unwrap();
        // 10 × (0.9 + 0.81 + 0.729) = 24.39 < 25 ≤ 24.39 + 6.561.
        assert_eq!(
            payback_with_retention(usd(dec!(25)), usd(dec!(10)), r, DiscountRate::ZERO, 100)
                .unwrap(),
            Payback::InPeriod(4)
        );
        assert_eq!(
            payback_with_retention(usd(dec!(0)), usd(dec!(10)), r, DiscountRate::ZERO, 100)
                .unwrap(),
            Payback::InPeriod(1)
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_round_trips_and_validates() {
        let s = ChannelSpend::new("search", usd(dec!(10.50)), 3).unwrap();
        let back: ChannelSpend = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        let bad = r#"{"channel":"x","cost":{"amount":"-1","currency":{"code":"USD","minor_units":2}},"new_customers":1}"#;
        assert!(serde_json::from_str::<ChannelSpend>(bad).is_err());
        assert!(serde_json::from_str::<Retention>("\"1\"").is_err());
        assert!(serde_json::from_str::<DiscountRate>("\"-1\"").is_err());
        let report = cac_by_channel(&[s]).unwrap();
        let back: CacReport =
            serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
        assert_eq!(back, report);
        let t = VerdictThresholds::default();
        let back: VerdictThresholds =
            serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        let bad = r#"{"unsustainable_below":"3","healthy_from":"1"}"#;
        assert!(serde_json::from_str::<VerdictThresholds>(bad).is_err());
    }

    fn rate(permille: u32) -> Decimal {
        Decimal::new(i64::from(permille), 3)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn clv_rises_with_retention(m in 1i64..1_000_000, r1 in 0u32..999, r2 in 0u32..999, d in 0u32..500) {
            let (lo, hi) = (r1.min(r2), r1.max(r2));
            let m = usd(Decimal::new(m, 2));
            let d = DiscountRate::new(rate(d)).unwrap();
            let a = clv_retention(m, Retention::new(rate(lo)).unwrap(), d).unwrap();
            let b = clv_retention(m, Retention::new(rate(hi)).unwrap(), d).unwrap();
            prop_assert!(a.amount() <= b.amount());
            let fa = clv_retention_finite(m, Retention::new(rate(lo)).unwrap(), d, 24).unwrap();
            let fb = clv_retention_finite(m, Retention::new(rate(hi)).unwrap(), d, 24).unwrap();
            prop_assert!(fa.amount() <= fb.amount());
        }

        #[test]
        fn clv_falls_with_discount_rate(m in 1i64..1_000_000, r in 0u32..999, d1 in 0u32..2000, d2 in 0u32..2000) {
            let (lo, hi) = (d1.min(d2), d1.max(d2));
            let m = usd(Decimal::new(m, 2));
            let r = Retention::new(rate(r)).unwrap();
            let a = clv_retention(m, r, DiscountRate::new(rate(lo)).unwrap()).unwrap();
            let b = clv_retention(m, r, DiscountRate::new(rate(hi)).unwrap()).unwrap();
            prop_assert!(a.amount() >= b.amount());
        }

        #[test]
        fn cac_scales_linearly_with_cost(cost in 0i64..1_000_000_000, k in 1i64..1000, n in 1u64..100_000) {
            let base = cac(usd(Decimal::new(cost, 2)), n).unwrap();
            let scaled = cac(usd(Decimal::new(cost, 2) * Decimal::from(k)), n).unwrap();
            let diff = (scaled.amount() - base.amount() * Decimal::from(k)).abs();
            prop_assert!(diff <= dec!(0.000000000001), "diff {}", diff);
        }

        #[test]
        fn finite_sum_approaches_infinite_form(m in 1i64..1_000_000, r in 0u32..950, d in 0u32..500) {
            let m = usd(Decimal::new(m, 2));
            let r = Retention::new(rate(r)).unwrap();
            let d = DiscountRate::new(rate(d)).unwrap();
            let inf = clv_retention(m, r, d).unwrap().amount();
            let mut prev = Decimal::ZERO;
            for n in [1u32, 10, 100, 1000] {
                let f = clv_retention_finite(m, r, d, n).unwrap().amount();
                prop_assert!(f >= prev - dec!(0.0000000001));
                prop_assert!(f <= inf + dec!(0.0000000001));
                prev = f;
            }
            // q <= 0.95: after 2000 periods the tail is below 1e-40 of m.
            let f = clv_retention_finite(m, r, d, 2000).unwrap().amount();
            prop_assert!((inf - f).abs() <= dec!(0.000001), "inf {} finite {}", inf, f);
        }

        #[test]
        fn nothing_panics_on_extreme_values(a: Decimal, b: Decimal, c: Decimal, n: u64, p: u32) {
            let _ = cac(usd(a), n);
            if let Ok(s) = ChannelSpend::new("x", usd(a), n) {
                let _ = cac_by_channel(&[s.clone(), s]);
            }
            if let Ok(share) = Share::new(c) {
                let _ = clv_historic(Currency::USD, &[usd(a), usd(b)], share);
                let _ = clv_simple(SimpleClv { average_order_value: usd(a), purchases_per_period: b, lifetime_periods: c, margin: share });
            }
            if let (Ok(r), Ok(d)) = (Retention::new(b), DiscountRate::new(c)) {
                let _ = clv_retention(usd(a), r, d);
                let _ = clv_retention_finite(usd(a), r, d, p);
                let _ = payback_with_retention(usd(a), usd(b), r, d, p % 10_000);
            }
            let _ = Retention::new(a);
            let _ = DiscountRate::new(a);
            let _ = VerdictThresholds::new(a, b);
            if let Ok(v) = ClvToCac::new(usd(a), usd(b)) {
                let _ = v.verdict(VerdictThresholds::default());
            }
            let _ = payback_periods(usd(a), usd(b));
        }
    }
}
