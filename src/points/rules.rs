//! Earning rules and the earn quote.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::expiry::MonthDay;
use super::Points;
use crate::error::{Error, ErrorKind, Result};
use crate::money::{Currency, ExchangeRates, Money, Rounding};
use crate::units::Multiplier;

/// Whether a part of an order counts toward the points base.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Inclusion {
    /// The part earns points.
    Counted,
    /// The part earns nothing.
    #[default]
    Excluded,
}

/// Whether order-level discounts reduce the points base.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DiscountBasis {
    /// Points are earned on what was paid: discounts reduce the base.
    #[default]
    AfterDiscounts,
    /// Points are earned on list prices: discounts are ignored.
    BeforeDiscounts,
}

/// What happens when an earn exceeds a cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CapMode {
    /// Award up to the cap (Voucherify's wallet and period caps).
    Reduce,
    /// Award nothing (Voucherify's per-transaction maximum: "not partially awarded").
    Reject,
}

/// A cap: a limit and what to do above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Cap {
    /// The most points allowed.
    pub limit: Points,
    /// Reduce or reject above it.
    pub mode: CapMode,
}

/// The calendar period a period cap counts over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum CapPeriod {
    /// One calendar day.
    Day,
    /// An ISO week (Monday to Sunday).
    IsoWeek,
    /// A calendar month.
    Month,
    /// A calendar year.
    Year,
}

impl CapPeriod {
    /// The first day of the period containing `date` (pass it to
    /// [`Account::earned_since`](super::Account::earned_since) to fill
    /// [`EarnContext::earned_in_period`]).
    #[must_use]
    pub fn start(self, date: NaiveDate) -> NaiveDate {
        match self {
            CapPeriod::Day => date,
            CapPeriod::IsoWeek => {
                let back = u64::from(date.weekday().num_days_from_monday());
                date.checked_sub_days(chrono::Days::new(back)).unwrap_or(date)
            }
            CapPeriod::Month => date.with_day(1).unwrap_or(date),
            CapPeriod::Year => date.with_ordinal(1).unwrap_or(date),
        }
    }
}

/// A cap on the points earned in one calendar period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PeriodCap {
    /// The limit and mode.
    pub cap: Cap,
    /// The period.
    pub period: CapPeriod,
}

/// Whether a cap trimmed the award.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CapOutcome {
    /// No cap applied.
    Uncapped,
    /// A cap reduced the award.
    Reduced,
    /// A cap rejected the award: nothing is awarded.
    Rejected,
}

/// One item of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OrderLine {
    sku: String,
    category: Option<String>,
    amount: Money,
}

impl OrderLine {
    /// A line: its SKU and its amount (quantity × price, after line discounts).
    #[must_use]
    pub fn new(sku: impl Into<String>, amount: Money) -> OrderLine {
        OrderLine { sku: sku.into(), category: None, amount }
    }

    /// The line's category.
    #[must_use]
    pub fn category(mut self, category: impl Into<String>) -> OrderLine {
        self.category = Some(category.into());
        self
    }

    /// The line's amount.
    #[must_use]
    pub fn amount(&self) -> Money {
        self.amount
    }
}

/// An order as the earning rules see it. Amounts may be in any currency; they are
/// normalised to the program currency with the context's rates.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Order {
    lines: Vec<OrderLine>,
    shipping: Option<Money>,
    tax: Option<Money>,
    discount: Option<Money>,
    paid_with_points: Option<Money>,
}

impl Order {
    /// An order of these lines, without shipping, tax or order discounts.
    #[must_use]
    pub fn new(lines: Vec<OrderLine>) -> Order {
        Order { lines, shipping: None, tax: None, discount: None, paid_with_points: None }
    }

    /// Shipping charged.
    #[must_use]
    pub fn shipping(mut self, amount: Money) -> Order {
        self.shipping = Some(amount);
        self
    }

    /// Tax charged.
    #[must_use]
    pub fn tax(mut self, amount: Money) -> Order {
        self.tax = Some(amount);
        self
    }

    /// Order-level discount (coupons), spread over the lines in proportion to their amounts.
    #[must_use]
    pub fn discount(mut self, amount: Money) -> Order {
        self.discount = Some(amount);
        self
    }

    /// The part of the items paid with points.
    #[must_use]
    pub fn paid_with_points(mut self, amount: Money) -> Order {
        self.paid_with_points = Some(amount);
        self
    }

    /// The lines.
    #[must_use]
    pub fn lines(&self) -> &[OrderLine] {
        &self.lines
    }
}

/// Facts about the member and the moment, supplied by the host.
#[derive(Clone, Copy, Debug)]
pub struct EarnContext<'a> {
    date: NaiveDate,
    rates: Option<&'a ExchangeRates>,
    tier: Multiplier,
    campaign: Multiplier,
    birthday: Option<MonthDay>,
    prior_orders: u32,
    earned_in_period: Points,
}

impl<'a> EarnContext<'a> {
    /// The order's date; no rates, 1× tier and campaign multipliers, no birthday, a repeat
    /// customer (one prior order), nothing earned yet in the cap period.
    #[must_use]
    pub fn new(date: NaiveDate) -> EarnContext<'a> {
        EarnContext {
            date,
            rates: None,
            tier: Multiplier::ONE,
            campaign: Multiplier::ONE,
            birthday: None,
            prior_orders: 1,
            earned_in_period: Points::ZERO,
        }
    }

    /// Rates into the program currency for amounts in other currencies.
    #[must_use]
    pub fn rates(mut self, rates: &'a ExchangeRates) -> EarnContext<'a> {
        self.rates = Some(rates);
        self
    }

    /// The member's tier multiplier (from the tiers module).
    #[must_use]
    pub fn tier(mut self, m: Multiplier) -> EarnContext<'a> {
        self.tier = m;
        self
    }

    /// The running campaign's multiplier.
    #[must_use]
    pub fn campaign(mut self, m: Multiplier) -> EarnContext<'a> {
        self.campaign = m;
        self
    }

    /// The member's birthday.
    #[must_use]
    pub fn birthday(mut self, day: MonthDay) -> EarnContext<'a> {
        self.birthday = Some(day);
        self
    }

    /// How many orders the member placed before this one (0: first order).
    #[must_use]
    pub fn prior_orders(mut self, n: u32) -> EarnContext<'a> {
        self.prior_orders = n;
        self
    }

    /// Points already earned in the current cap period.
    #[must_use]
    pub fn earned_in_period(mut self, p: Points) -> EarnContext<'a> {
        self.earned_in_period = p;
        self
    }
}

/// One line of an earn quote: what was added (or removed) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct QuoteLine {
    /// What the line is.
    pub label: String,
    /// The unrounded change in points (negative for deductions).
    pub points: Decimal,
    /// The unrounded running total after this line.
    pub running: Decimal,
}

/// The result of [`EarnRules::quote`]: every step of the calculation, the unrounded total,
/// the rounded points requested and the points awarded after caps.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct EarnQuote {
    /// The calculation, line by line.
    pub lines: Vec<QuoteLine>,
    /// The eligible amount in the program currency.
    pub base: Money,
    /// The unrounded points.
    pub raw: Decimal,
    /// The points after the single rounding, before caps.
    pub requested: Points,
    /// The points awarded.
    pub awarded: Points,
    /// Whether a cap trimmed or rejected the award.
    pub cap: CapOutcome,
}

impl fmt::Display for EarnQuote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.lines {
            writeln!(
                f,
                "{:<52} {:>+12} = {:>12}",
                l.label,
                l.points.normalize(),
                l.running.normalize()
            )?;
        }
        write!(f, "requested {}, awarded {} ({:?})", self.requested, self.awarded, self.cap)
    }
}

/// A program's earning rules.
///
/// Evaluation order (each step is a [`QuoteLine`]):
///
/// 1. each line: amount in the program currency × points per unit × its SKU multiplier ×
///    its category multiplier;
/// 2. order discount (when [`DiscountBasis::AfterDiscounts`]) and the part paid with points
///    (when excluded) are deducted in proportion to the lines' points;
/// 3. shipping and tax, when counted, at the plain rate;
/// 4. tier multiplier, then campaign multiplier;
/// 5. per-order, first-order and birthday bonuses (not multiplied);
/// 6. **one** rounding of the total with the program's [`Rounding`] (default floor);
/// 7. the per-order cap, then the period cap ([`CapMode::Reduce`] or [`CapMode::Reject`]).
///
/// # Example
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::points::{EarnContext, EarnRules, Inclusion, Order, OrderLine, Points};
/// use loyalty::{Currency, Money, Multiplier, Rounding};
/// use rust_decimal::Decimal;
///
/// let usd = |cents: i64| Money::new(Decimal::new(cents, 2), Currency::USD);
/// let rules = EarnRules::new(Currency::USD, Decimal::ONE)?
///     .sku_multiplier("vinyl", Multiplier::new(Decimal::from(2))?)
///     .shipping(Inclusion::Excluded)
///     .rounding(Rounding::HalfUp);
/// let order = Order::new(vec![
///     OrderLine::new("vinyl", usd(2050)), // 20.50 × 2 = 41
///     OrderLine::new("cd", usd(999)),     // 9.99
/// ])
/// .shipping(usd(500));
/// let day = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
/// let gold = Multiplier::new(Decimal::new(15, 1))?;
/// let quote = rules.quote(&order, &EarnContext::new(day).tier(gold))?;
/// // (41 + 9.99) × 1.5 = 76.485 -> 76 (half-up, once)
/// assert_eq!(quote.awarded, Points::new(76));
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "EarnRulesRepr", into = "EarnRulesRepr")
)]
pub struct EarnRules(EarnRulesRepr);

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct EarnRulesRepr {
    currency: Currency,
    per_unit: Decimal,
    shipping: Inclusion,
    tax: Inclusion,
    discounts: DiscountBasis,
    paid_with_points: Inclusion,
    order_bonus: Points,
    first_order_bonus: Points,
    birthday_bonus: Points,
    sku_multipliers: Vec<(String, Multiplier)>,
    category_multipliers: Vec<(String, Multiplier)>,
    order_cap: Option<Cap>,
    period_cap: Option<PeriodCap>,
    rounding: Rounding,
}

impl TryFrom<EarnRulesRepr> for EarnRules {
    type Error = Error;

    fn try_from(r: EarnRulesRepr) -> Result<EarnRules> {
        EarnRules::new(r.currency, r.per_unit)?;
        Ok(EarnRules(r))
    }
}

impl From<EarnRules> for EarnRulesRepr {
    fn from(r: EarnRules) -> EarnRulesRepr {
        r.0
    }
}

impl EarnRules {
    /// `per_unit` points per unit of `currency`; everything else off, floor rounding.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when `per_unit` is not positive.
    pub fn new(currency: Currency, per_unit: Decimal) -> Result<EarnRules> {
        if per_unit <= Decimal::ZERO {
            return Err(Error::invalid("points per unit", per_unit, "must be positive"));
        }
        Ok(EarnRules(EarnRulesRepr {
            currency,
            per_unit,
            shipping: Inclusion::Excluded,
            tax: Inclusion::Excluded,
            discounts: DiscountBasis::AfterDiscounts,
            paid_with_points: Inclusion::Excluded,
            order_bonus: Points::ZERO,
            first_order_bonus: Points::ZERO,
            birthday_bonus: Points::ZERO,
            sku_multipliers: Vec::new(),
            category_multipliers: Vec::new(),
            order_cap: None,
            period_cap: None,
            rounding: Rounding::Floor,
        }))
    }

    /// The program currency.
    #[must_use]
    pub fn currency(&self) -> Currency {
        self.0.currency
    }

    /// The rounding applied once to the total.
    #[must_use]
    pub fn rounding_mode(&self) -> Rounding {
        self.0.rounding
    }

    /// Whether shipping earns points.
    #[must_use]
    pub fn shipping(mut self, i: Inclusion) -> EarnRules {
        self.0.shipping = i;
        self
    }

    /// Whether tax earns points.
    #[must_use]
    pub fn tax(mut self, i: Inclusion) -> EarnRules {
        self.0.tax = i;
        self
    }

    /// Whether order discounts reduce the base.
    #[must_use]
    pub fn discounts(mut self, d: DiscountBasis) -> EarnRules {
        self.0.discounts = d;
        self
    }

    /// Whether the part paid with points earns points.
    #[must_use]
    pub fn paid_with_points(mut self, i: Inclusion) -> EarnRules {
        self.0.paid_with_points = i;
        self
    }

    /// A fixed bonus on every order.
    #[must_use]
    pub fn order_bonus(mut self, p: Points) -> EarnRules {
        self.0.order_bonus = p;
        self
    }

    /// A bonus on the member's first order.
    #[must_use]
    pub fn first_order_bonus(mut self, p: Points) -> EarnRules {
        self.0.first_order_bonus = p;
        self
    }

    /// A bonus on an order placed on the member's birthday.
    #[must_use]
    pub fn birthday_bonus(mut self, p: Points) -> EarnRules {
        self.0.birthday_bonus = p;
        self
    }

    /// A multiplier for one SKU (replaces an earlier one for the same SKU).
    #[must_use]
    pub fn sku_multiplier(mut self, sku: impl Into<String>, m: Multiplier) -> EarnRules {
        upsert(&mut self.0.sku_multipliers, sku.into(), m);
        self
    }

    /// A multiplier for one category (stacks with a SKU multiplier).
    #[must_use]
    pub fn category_multiplier(mut self, category: impl Into<String>, m: Multiplier) -> EarnRules {
        upsert(&mut self.0.category_multipliers, category.into(), m);
        self
    }

    /// A cap on one order's points.
    #[must_use]
    pub fn order_cap(mut self, cap: Cap) -> EarnRules {
        self.0.order_cap = Some(cap);
        self
    }

    /// A cap on the points earned per period.
    #[must_use]
    pub fn period_cap(mut self, cap: PeriodCap) -> EarnRules {
        self.0.period_cap = Some(cap);
        self
    }

    /// The period cap, if any.
    #[must_use]
    pub fn period_cap_rule(&self) -> Option<PeriodCap> {
        self.0.period_cap
    }

    /// The rounding applied once to the total (default [`Rounding::Floor`]).
    #[must_use]
    pub fn rounding(mut self, r: Rounding) -> EarnRules {
        self.0.rounding = r;
        self
    }

    fn to_program(&self, m: Money, ctx: &EarnContext<'_>) -> Result<Decimal> {
        if m.is_negative() {
            return Err(Error::invalid("amount", m, "must not be negative"));
        }
        if m.currency() == self.0.currency || m.is_zero() {
            return Ok(m.amount());
        }
        let Some(rates) = ctx.rates else {
            return Err(ErrorKind::MissingRate {
                from: m.currency().code().to_string(),
                to: self.0.currency.code().to_string(),
            }
            .into());
        };
        if rates.base() != self.0.currency {
            return Err(ErrorKind::CurrencyMismatch {
                left: self.0.currency.code().to_string(),
                right: rates.base().code().to_string(),
            }
            .into());
        }
        Ok(rates.to_base(m)?.amount())
    }

    /// Quotes the points an order earns, explaining every step.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::EmptyInput`] without lines; [`ErrorKind::InvalidInput`] for a negative
    /// amount, an order whose items total zero, or deductions larger than the items;
    /// [`ErrorKind::MissingRate`] / [`ErrorKind::CurrencyMismatch`] for an amount in another
    /// currency without a usable rate; [`ErrorKind::Overflow`].
    pub fn quote(&self, order: &Order, ctx: &EarnContext<'_>) -> Result<EarnQuote> {
        let r = &self.0;
        if order.lines.is_empty() {
            return Err(Error::empty("order lines"));
        }
        let ov = || Error::overflow("earn quote");
        let mut steps =
            Steps { lines: Vec::with_capacity(order.lines.len() + 8), running: Decimal::ZERO };
        let mut items = Decimal::ZERO;
        let mut item_points = Decimal::ZERO;
        for line in &order.lines {
            let amount = self.to_program(line.amount, ctx)?;
            items = items.checked_add(amount).ok_or_else(ov)?;
            let mut m = Multiplier::ONE;
            let mut why = String::new();
            if let Some((_, sm)) = r.sku_multipliers.iter().find(|(s, _)| *s == line.sku) {
                m = m.then(*sm)?;
                why.push_str(&format!(" x {sm} (sku)"));
            }
            if let Some(cat) = &line.category {
                if let Some((_, cm)) = r.category_multipliers.iter().find(|(c, _)| c == cat) {
                    m = m.then(*cm)?;
                    why.push_str(&format!(" x {cm} ({cat})"));
                }
            }
            let pts = m.apply(amount.checked_mul(r.per_unit).ok_or_else(ov)?)?;
            item_points = item_points.checked_add(pts).ok_or_else(ov)?;
            let label = format!(
                "item {}: {} {} x {}/unit{why}",
                line.sku,
                amount.normalize(),
                r.currency,
                r.per_unit.normalize()
            );
            steps.push(label, pts)?;
        }
        if items <= Decimal::ZERO {
            return Err(Error::invalid("order items total", items, "must be positive"));
        }
        let mut deducted = Decimal::ZERO;
        let deductions = [
            (r.discounts == DiscountBasis::AfterDiscounts, order.discount, "order discount"),
            (r.paid_with_points == Inclusion::Excluded, order.paid_with_points, "paid with points"),
        ];
        for (applies, amount, what) in deductions {
            let Some(amount) = amount else { continue };
            let amount = self.to_program(amount, ctx)?;
            if !applies || amount.is_zero() {
                continue;
            }
            deducted = deducted.checked_add(amount).ok_or_else(ov)?;
            if deducted > items {
                return Err(Error::invalid(what, amount, "deductions exceed the items total"));
            }
            // Spread over the lines in proportion, so line multipliers carry through.
            let pts = item_points
                .checked_mul(amount)
                .and_then(|x| x.checked_div(items))
                .ok_or_else(ov)?;
            steps
                .push(format!("{what}: -{} {} (pro rata)", amount.normalize(), r.currency), -pts)?;
        }
        let extras = [(r.shipping, order.shipping, "shipping"), (r.tax, order.tax, "tax")];
        for (inclusion, amount, what) in extras {
            let Some(amount) = amount else { continue };
            let amount = self.to_program(amount, ctx)?;
            if inclusion == Inclusion::Counted && !amount.is_zero() {
                let pts = amount.checked_mul(r.per_unit).ok_or_else(ov)?;
                steps.push(format!("{what}: {} {}", amount.normalize(), r.currency), pts)?;
            }
        }
        let base = items.checked_sub(deducted).ok_or_else(ov)?;
        for (m, what) in [(ctx.tier, "tier"), (ctx.campaign, "campaign")] {
            if m != Multiplier::ONE {
                let after = m.apply(steps.running)?;
                let delta = after.checked_sub(steps.running).ok_or_else(ov)?;
                steps.push(format!("{what} multiplier x {m}"), delta)?;
            }
        }
        let birthday = ctx.birthday.is_some_and(|b| b.matches(ctx.date));
        let bonuses = [
            (true, r.order_bonus, "order bonus"),
            (ctx.prior_orders == 0, r.first_order_bonus, "first-order bonus"),
            (birthday, r.birthday_bonus, "birthday bonus"),
        ];
        for (applies, bonus, what) in bonuses {
            if applies && !bonus.is_zero() {
                steps.push(what.to_string(), Decimal::from(bonus.value()))?;
            }
        }
        // Deductions never exceed the items total, so the exact running total is never
        // negative; a pro-rata division can leave a residue of -1e-28 or a negative zero
        // (a zero-point order with a coupon), which must round to zero points, not fail.
        let raw = if steps.running <= Decimal::ZERO { Decimal::ZERO } else { steps.running };
        let rounded = r.rounding.round(raw, 0);
        let requested = rust_decimal::prelude::ToPrimitive::to_u64(&rounded)
            .map(Points::new)
            .ok_or_else(|| Error::overflow("rounding points"))?;
        steps.push(format!("rounded once ({:?})", r.rounding), rounded - raw)?;
        let mut awarded = requested;
        let mut cap = CapOutcome::Uncapped;
        if let Some(c) = r.order_cap {
            apply_cap(c, c.limit, &mut awarded, &mut cap);
        }
        if let Some(pc) = r.period_cap {
            let room = pc.cap.limit.saturating_sub(ctx.earned_in_period);
            apply_cap(pc.cap, room, &mut awarded, &mut cap);
        }
        if awarded != requested {
            let delta = Decimal::from(awarded.value()) - Decimal::from(requested.value());
            steps.push(format!("cap ({cap:?})"), delta)?;
        }
        Ok(EarnQuote {
            lines: steps.lines,
            base: Money::new(base, r.currency),
            raw,
            requested,
            awarded,
            cap,
        })
    }
}

struct Steps {
    lines: Vec<QuoteLine>,
    running: Decimal,
}

impl Steps {
    fn push(&mut self, label: String, points: Decimal) -> Result<()> {
        self.running =
            self.running.checked_add(points).ok_or_else(|| Error::overflow("earn quote"))?;
        self.lines.push(QuoteLine { label, points, running: self.running });
        Ok(())
    }
}

fn apply_cap(cap: Cap, room: Points, awarded: &mut Points, outcome: &mut CapOutcome) {
    if *awarded <= room {
        return;
    }
    match cap.mode {
        CapMode::Reduce => {
            *awarded = room;
            if *outcome != CapOutcome::Rejected {
                *outcome = CapOutcome::Reduced;
            }
        }
        CapMode::Reject => {
            *awarded = Points::ZERO;
            *outcome = CapOutcome::Rejected;
        }
    }
}

fn upsert(v: &mut Vec<(String, Multiplier)>, key: String, m: Multiplier) {
    match v.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = m,
        None => v.push((key, m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::ExchangeRate;

    fn usd(cents: i64) -> Money {
        Money::new(Decimal::new(cents, 2), Currency::USD)
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 4).unwrap()
    }

    fn rules() -> EarnRules {
        EarnRules::new(Currency::USD, Decimal::ONE).unwrap()
    }

    fn mult(x: i64, scale: u32) -> Multiplier {
        Multiplier::new(Decimal::new(x, scale)).unwrap()
    }

    fn awarded(r: &EarnRules, o: &Order, ctx: &EarnContext<'_>) -> u64 {
        r.quote(o, ctx).unwrap().awarded.value()
    }

    fn one(cents: i64) -> Order {
        Order::new(vec![OrderLine::new("a", usd(cents))])
    }

    #[test]
    fn rounding_modes_apply_once_at_the_end() {
        let ctx = EarnContext::new(day());
        let cases = [
            (12_599, Rounding::Floor, 125),
            (12_599, Rounding::HalfUp, 126),
            (12_549, Rounding::HalfUp, 125),
            (12_550, Rounding::HalfUp, 126),
            (12_501, Rounding::Ceiling, 126),
            (12_500, Rounding::Ceiling, 125),
        ];
        for (cents, mode, want) in cases {
            assert_eq!(
                awarded(&rules().rounding(mode), &one(cents), &ctx),
                want,
                "{cents} {mode:?}"
            );
        }
        // Three 40-cent lines: rounding each line would give 0; rounding once gives 1.
        let o = Order::new((0..3).map(|i| OrderLine::new(format!("s{i}"), usd(40))).collect());
        assert_eq!(awarded(&rules(), &o, &ctx), 1);
    }

    #[test]
    fn shipping_tax_discount_and_points_paid_switches() {
        let ctx = EarnContext::new(day());
        let o = one(10_000).shipping(usd(1000)).tax(usd(800));
        assert_eq!(awarded(&rules(), &o, &ctx), 100);
        assert_eq!(awarded(&rules().shipping(Inclusion::Counted), &o, &ctx), 110);
        let both = rules().shipping(Inclusion::Counted).tax(Inclusion::Counted);
        assert_eq!(awarded(&both, &o, &ctx), 118);
        let o = one(10_000).discount(usd(2000));
        assert_eq!(awarded(&rules(), &o, &ctx), 80);
        assert_eq!(awarded(&rules().discounts(DiscountBasis::BeforeDiscounts), &o, &ctx), 100);
        let o = one(10_000).paid_with_points(usd(3000));
        assert_eq!(awarded(&rules(), &o, &ctx), 70);
        assert_eq!(awarded(&rules().paid_with_points(Inclusion::Counted), &o, &ctx), 100);
    }

    #[test]
    fn a_zero_point_order_with_a_deduction_earns_zero_points() {
        // Issue 17 item 2: a gift card earning nothing, with a coupon or paid with points,
        // made the pro-rata deduction a negative zero that failed to round.
        let r = rules().sku_multiplier("gift-card", Multiplier::new(Decimal::ZERO).unwrap());
        let ctx = EarnContext::new(day());
        let card = Order::new(vec![OrderLine::new("gift-card", usd(5000))]);
        for o in [card.clone().discount(usd(500)), card.paid_with_points(usd(500))] {
            let q = r.quote(&o, &ctx).unwrap();
            assert_eq!(q.awarded, Points::ZERO);
            assert_eq!(q.requested, Points::ZERO);
        }
        // A residue of an inexact pro-rata share (a third off) also rounds to whole points.
        let o = Order::new(vec![OrderLine::new("a", usd(300))]).discount(usd(100));
        assert_eq!(awarded(&rules().rounding(Rounding::Floor), &o, &ctx), 2);
    }

    #[test]
    fn sku_and_category_multipliers_stack_and_carry_through_discounts() {
        let r = rules()
            .sku_multiplier("vinyl", mult(2, 0))
            .category_multiplier("books", mult(3, 0))
            .sku_multiplier("vinyl", mult(2, 0));
        let ctx = EarnContext::new(day());
        let o = Order::new(vec![
            OrderLine::new("vinyl", usd(5000)),                   // 100
            OrderLine::new("cd", usd(5000)),                      // 50
            OrderLine::new("vinyl", usd(1000)).category("books"), // 10 x 2 x 3 = 60
        ]);
        assert_eq!(awarded(&r, &o, &ctx), 210);
        // A $22 discount on $110 of items removes 20% of the item points: 210 - 42 = 168.
        assert_eq!(awarded(&r, &o.clone().discount(usd(2200)), &ctx), 168);
    }

    #[test]
    fn tier_campaign_and_bonuses() {
        let r = rules()
            .order_bonus(Points::new(10))
            .first_order_bonus(Points::new(50))
            .birthday_bonus(Points::new(25));
        let bday = MonthDay::new(5, 4).unwrap();
        let ctx = EarnContext::new(day()).tier(mult(15, 1)).campaign(mult(2, 0));
        // 10 x 1.5 x 2 = 30, + 10 order bonus (repeat customer, not their birthday).
        assert_eq!(awarded(&r, &one(1000), &ctx), 40);
        // First order on the birthday: 30 + 10 + 50 + 25 (bonuses are not multiplied).
        let q = r.quote(&one(1000), &ctx.prior_orders(0).birthday(bday)).unwrap();
        assert_eq!(q.awarded, Points::new(115));
        let labels: Vec<&str> = q.lines.iter().map(|l| l.label.as_str()).collect();
        assert!(labels.iter().any(|l| l.starts_with("tier multiplier")));
        assert!(labels.iter().any(|l| l.starts_with("campaign multiplier")));
        assert!(labels.contains(&"first-order bonus"));
        assert!(labels.contains(&"birthday bonus"));
        assert_eq!(q.lines.last().unwrap().running, Decimal::from(115));
        assert!(q.to_string().contains("awarded 115 pts"));
    }

    #[test]
    fn caps_reduce_or_reject_and_record_requested() {
        let ctx = EarnContext::new(day());
        let reduce = rules().order_cap(Cap { limit: Points::new(100), mode: CapMode::Reduce });
        let q = reduce.quote(&one(25_000), &ctx).unwrap();
        assert_eq!(
            (q.requested, q.awarded, q.cap),
            (Points::new(250), Points::new(100), CapOutcome::Reduced)
        );
        assert_eq!(q.lines.last().unwrap().running, Decimal::from(100));
        let reject = rules().order_cap(Cap { limit: Points::new(100), mode: CapMode::Reject });
        let q = reject.quote(&one(25_000), &ctx).unwrap();
        assert_eq!(
            (q.requested, q.awarded, q.cap),
            (Points::new(250), Points::ZERO, CapOutcome::Rejected)
        );
        assert_eq!(reject.quote(&one(10_000), &ctx).unwrap().cap, CapOutcome::Uncapped);
        let monthly = |mode| {
            rules().period_cap(PeriodCap {
                cap: Cap { limit: Points::new(300), mode },
                period: CapPeriod::Month,
            })
        };
        let ctx = ctx.earned_in_period(Points::new(250));
        assert_eq!(awarded(&monthly(CapMode::Reduce), &one(10_000), &ctx), 50);
        assert_eq!(awarded(&monthly(CapMode::Reject), &one(10_000), &ctx), 0);
        assert_eq!(awarded(&monthly(CapMode::Reject), &one(5000), &ctx), 50);
        let full = EarnContext::new(day()).earned_in_period(Points::new(400));
        assert_eq!(awarded(&monthly(CapMode::Reduce), &one(5000), &full), 0);
    }

    #[test]
    fn cap_period_starts() {
        let d = |m, dd| NaiveDate::from_ymd_opt(2026, m, dd).unwrap();
        // 2026-05-07 is a Thursday.
        assert_eq!(CapPeriod::Day.start(d(5, 7)), d(5, 7));
        assert_eq!(CapPeriod::IsoWeek.start(d(5, 7)), d(5, 4));
        assert_eq!(CapPeriod::Month.start(d(5, 7)), d(5, 1));
        assert_eq!(CapPeriod::Year.start(d(5, 7)), d(1, 1));
    }

    #[test]
    fn cross_border_orders_are_normalised_with_the_hosts_rate() {
        // WooPayments #2848: a ZAR cart must not earn ZAR-many points in a EUR program.
        let zar = Currency::from_code("ZAR").unwrap();
        let r = EarnRules::new(Currency::EUR, Decimal::ONE).unwrap();
        let mut rates = ExchangeRates::new(Currency::EUR);
        rates.insert(ExchangeRate::new(zar, Currency::EUR, Decimal::new(526, 4)).unwrap()).unwrap();
        let o = Order::new(vec![OrderLine::new("x", Money::new(Decimal::from(1900), zar))]);
        let q = r.quote(&o, &EarnContext::new(day()).rates(&rates)).unwrap();
        assert_eq!(q.base, Money::new(Decimal::new(9994, 2), Currency::EUR));
        assert_eq!(q.awarded, Points::new(99));
        // Without a rate: a typed error.
        let e = r.quote(&o, &EarnContext::new(day())).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::MissingRate { .. }));
        let gbp = Money::new(Decimal::ONE, Currency::GBP);
        let mixed = Order::new(vec![OrderLine::new("y", gbp)]);
        let e = r.quote(&mixed, &EarnContext::new(day()).rates(&rates)).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::MissingRate { .. }));
        let usd_rates = ExchangeRates::new(Currency::USD);
        let e = r.quote(&o, &EarnContext::new(day()).rates(&usd_rates)).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::CurrencyMismatch { .. }));
        // A zero amount needs no rate.
        let o = Order::new(vec![OrderLine::new("x", Money::new(Decimal::TEN, Currency::EUR))])
            .shipping(Money::zero(Currency::GBP));
        assert_eq!(r.quote(&o, &EarnContext::new(day())).unwrap().awarded, Points::new(10));
    }

    #[test]
    fn bad_input() {
        assert!(EarnRules::new(Currency::USD, Decimal::ZERO).is_err());
        assert!(EarnRules::new(Currency::USD, Decimal::NEGATIVE_ONE).is_err());
        let ctx = EarnContext::new(day());
        let r = rules();
        let kinds = [
            r.quote(&Order::new(vec![]), &ctx).unwrap_err(),
            r.quote(&one(-100), &ctx).unwrap_err(),
            r.quote(&one(0), &ctx).unwrap_err(),
            r.quote(&one(1000).discount(usd(1001)), &ctx).unwrap_err(),
            r.quote(&one(1000).discount(usd(600)).paid_with_points(usd(600)), &ctx).unwrap_err(),
            r.quote(&one(1000).shipping(usd(-1)), &ctx).unwrap_err(),
            r.quote(
                &Order::new(vec![OrderLine::new("x", Money::new(Decimal::MAX, Currency::USD))]),
                &ctx.tier(mult(2, 0)),
            )
            .unwrap_err(),
        ];
        assert!(matches!(kinds[0].kind(), ErrorKind::EmptyInput { .. }));
        for e in &kinds[1..6] {
            assert!(matches!(e.kind(), ErrorKind::InvalidInput { .. }), "{e}");
        }
        assert!(matches!(kinds[6].kind(), ErrorKind::Overflow { .. }));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn rules_round_trip_and_validate() {
        let r = rules()
            .sku_multiplier("vinyl", mult(2, 0))
            .order_cap(Cap { limit: Points::new(100), mode: CapMode::Reject });
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<EarnRules>(&json).unwrap(), r);
        let bad = json.replace("\"per_unit\":\"1\"", "\"per_unit\":\"-1\"");
        assert_ne!(bad, json);
        assert!(serde_json::from_str::<EarnRules>(&bad).is_err());
    }
}
