//! Inputs the host supplies: customers, orders, promotions and past contacts.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::error::{Error, ErrorKind, Result};
use crate::money::Money;

/// A customer's identifier. Hosts with string or UUID keys map them to a dense `u64` first;
/// ties between actions are broken on this value, so outputs are ordered by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct CustomerId(pub u64);

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a message is sent: to serve an order the customer placed, or to sell.
///
/// Consent, caps and quiet hours can differ by purpose ([`Customer::consents`],
/// [`Pressure::caps`](super::Pressure::caps), [`Pressure::quiet`](super::Pressure::quiet)): a
/// customer who withdrew marketing consent still gets the check-in about the order they
/// placed on a channel they gave for service messages. Each [`ActionKind`](super::ActionKind)
/// has one purpose ([`ActionKind::purpose`](super::ActionKind::purpose)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Purpose {
    /// About an order the customer placed: check-ins and upkeep tips.
    Service,
    /// Greetings, reminders, offers, win-backs and review requests.
    Marketing,
}

impl Purpose {
    /// A stable lowercase name (`"service"`, `"marketing"`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Service => "service",
            Purpose::Marketing => "marketing",
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A contact channel. Every action goes out on one channel the customer consented to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Channel {
    /// E-mail.
    Email,
    /// SMS text message.
    Sms,
    /// App push notification.
    Push,
    /// A chat messenger (WhatsApp, LINE, WeChat, ...).
    Messenger,
    /// A phone call.
    Phone,
    /// Postal mail.
    Post,
}

impl Channel {
    /// A stable lowercase name (`"email"`, `"sms"`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
            Channel::Messenger => "messenger",
            Channel::Phone => "phone",
            Channel::Post => "post",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Parses an IANA time zone name (`"Europe/Berlin"`, `"Pacific/Kiritimati"`).
///
/// # Errors
///
/// [`ErrorKind::UnknownTimeZone`] when the name is not in the IANA database bundled with
/// `chrono-tz`.
///
/// # Example
///
/// ```
/// use loyalty::care::parse_time_zone;
/// use loyalty::ErrorKind;
///
/// assert_eq!(parse_time_zone("Asia/Tokyo")?.name(), "Asia/Tokyo");
/// let err = parse_time_zone("Mars/Olympus_Mons").unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::UnknownTimeZone { .. }));
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn parse_time_zone(name: &str) -> Result<Tz> {
    Tz::from_str(name).map_err(|_| ErrorKind::UnknownTimeZone { name: name.to_string() }.into())
}

/// What to do with a 29 February birthday in a non-leap year.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum LeapDayPolicy {
    /// Greet on 28 February, the last day of the birth month (the default: the greeting stays
    /// in the customer's birth month).
    #[default]
    February28,
    /// Greet on 1 March, the day after 28 February (the legal convention in several countries
    /// for coming of age).
    March1,
}

/// A birthday: a month and day, with the year when the host knows it.
///
/// Written as `"MM-DD"` or `"YYYY-MM-DD"` (that is also its serde form). `"02-29"` is valid;
/// see [`LeapDayPolicy`] for the years without that day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "String", into = "String"))]
pub struct Birthday {
    month: u32,
    day: u32,
    year: Option<i32>,
}

impl Birthday {
    /// A birthday from a month (1–12) and day.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when the day does not exist in that month in any year
    /// (29 February is accepted).
    pub fn month_day(month: u32, day: u32) -> Result<Birthday> {
        // 2000 is a leap year, so 29 February is accepted here.
        if NaiveDate::from_ymd_opt(2000, month, day).is_none() {
            return Err(Error::invalid("birthday", format!("{month:02}-{day:02}"), "no such day"));
        }
        Ok(Birthday { month, day, year: None })
    }

    /// A birthday from a full date of birth.
    #[must_use]
    pub fn from_date(date: NaiveDate) -> Birthday {
        Birthday { month: date.month(), day: date.day(), year: Some(date.year()) }
    }

    /// The month, 1–12.
    #[must_use]
    pub fn month(&self) -> u32 {
        self.month
    }

    /// The day of the month.
    #[must_use]
    pub fn day(&self) -> u32 {
        self.day
    }

    /// The birth year, when known.
    #[must_use]
    pub fn year(&self) -> Option<i32> {
        self.year
    }

    /// The date on which this birthday is observed in `year`.
    ///
    /// Returns `None` only for years outside chrono's range.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use loyalty::care::{Birthday, LeapDayPolicy};
    ///
    /// let b: Birthday = "2000-02-29".parse()?;
    /// let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    /// assert_eq!(b.observed_in(2028, LeapDayPolicy::February28), d(2028, 2, 29));
    /// assert_eq!(b.observed_in(2027, LeapDayPolicy::February28), d(2027, 2, 28));
    /// assert_eq!(b.observed_in(2027, LeapDayPolicy::March1), d(2027, 3, 1));
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    #[must_use]
    pub fn observed_in(&self, year: i32, policy: LeapDayPolicy) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(year, self.month, self.day).or_else(|| {
            // Only 29 February can be missing: `month_day` rejected every other bad day.
            match policy {
                LeapDayPolicy::February28 => NaiveDate::from_ymd_opt(year, 2, 28),
                LeapDayPolicy::March1 => NaiveDate::from_ymd_opt(year, 3, 1),
            }
        })
    }
}

impl FromStr for Birthday {
    type Err = Error;

    /// Parses `"MM-DD"` or a date of birth in chrono's `NaiveDate` text form (`"YYYY-MM-DD"`,
    /// with a sign for years outside 0–9999), the form [`Display`](fmt::Display) writes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when the text is neither form or names no real day.
    fn from_str(s: &str) -> Result<Birthday> {
        let t = s.trim();
        let bad = || Error::invalid("birthday", s, "expected MM-DD or YYYY-MM-DD");
        let two_digits = |x: &str| x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit());
        if t.len() == 5 {
            let (m, d) = t.split_once('-').ok_or_else(bad)?;
            if !two_digits(m) || !two_digits(d) {
                return Err(bad());
            }
            let month = m.parse().map_err(|_| bad())?;
            let day = d.parse().map_err(|_| bad())?;
            return Birthday::month_day(month, day);
        }
        // Two-digit month and day after a year of at least four digits, as chrono writes it.
        let (rest, d) = t.rsplit_once('-').ok_or_else(bad)?;
        let (y, m) = rest.rsplit_once('-').ok_or_else(bad)?;
        let digits = y.strip_prefix(['+', '-']).unwrap_or(y);
        if !two_digits(m)
            || !two_digits(d)
            || digits.len() < 4
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        t.parse::<NaiveDate>()
            .map(Birthday::from_date)
            .map_err(|_| Error::invalid("birthday", s, "no such date"))
    }
}

impl fmt::Display for Birthday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A birthday with a year was built from a real date, so the date exists; chrono's
        // form keeps years beyond 9999 or before 0 readable by `from_str`.
        match self.year.and_then(|y| NaiveDate::from_ymd_opt(y, self.month, self.day)) {
            Some(date) => write!(f, "{date}"),
            None => write!(f, "{:02}-{:02}", self.month, self.day),
        }
    }
}

impl TryFrom<String> for Birthday {
    type Error = Error;
    fn try_from(s: String) -> Result<Birthday> {
        s.parse()
    }
}

impl From<Birthday> for String {
    fn from(b: Birthday) -> String {
        b.to_string()
    }
}

/// What the host knows about one customer.
///
/// A passive record: the time zone is typed at construction (and when deserialized: an
/// unknown zone name is [`ErrorKind::UnknownTimeZone`]); [`due`](super::due) checks that ids
/// are unique. Build it with [`Customer::new`] and fill in the optional facts.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "CustomerRepr"))]
pub struct Customer {
    /// The customer's id.
    pub id: CustomerId,
    /// The customer's IANA time zone: dates (birthdays, festivals, delivery days) and quiet
    /// hours are evaluated on the customer's local clock.
    pub time_zone: Tz,
    /// The market (country or region code the host uses in its festival calendar, e.g. `"JP"`).
    pub market: String,
    /// The preferred language (a BCP 47 tag such as `"ja"`), passed through to actions for
    /// template selection.
    pub language: String,
    /// The birthday, when known.
    pub birthday: Option<Birthday>,
    /// Preference tags (`"matcha"`, `"vinyl"`, ...), matched against promotion tags.
    pub tags: BTreeSet<String>,
    /// Channels the customer consented to be contacted on for every purpose, marketing
    /// included.
    pub consent: BTreeSet<Channel>,
    /// Further channels the customer may be contacted on for [`Purpose::Service`] only (an
    /// address given for order updates without marketing consent). With both sets empty no
    /// action is ever sent.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "BTreeSet::is_empty"))]
    pub service_consent: BTreeSet<Channel>,
    /// The RFM segment name from the host's RFM run (the 11-segment map's names, e.g.
    /// `"At Risk"`, `"Cannot Lose Them"`), when known.
    pub segment: Option<String>,
    /// The customer's value (predicted CLV, or historic spend as a stand-in) in the host's
    /// reporting currency, when known. Compared with the win-back threshold.
    pub value: Option<Money>,
}

impl Customer {
    /// A customer with an id and an IANA time zone name; every other fact is empty.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownTimeZone`] when the time zone name is unknown.
    pub fn new(id: CustomerId, time_zone: &str) -> Result<Customer> {
        Ok(Customer {
            id,
            time_zone: parse_time_zone(time_zone)?,
            market: String::new(),
            language: String::new(),
            birthday: None,
            tags: BTreeSet::new(),
            consent: BTreeSet::new(),
            service_consent: BTreeSet::new(),
            segment: None,
            value: None,
        })
    }

    /// Sets the market.
    #[must_use]
    pub fn market(mut self, market: impl Into<String>) -> Customer {
        self.market = market.into();
        self
    }

    /// Sets the language.
    #[must_use]
    pub fn language(mut self, language: impl Into<String>) -> Customer {
        self.language = language.into();
        self
    }

    /// Sets the birthday.
    #[must_use]
    pub fn birthday(mut self, birthday: Birthday) -> Customer {
        self.birthday = Some(birthday);
        self
    }

    /// Adds a preference tag.
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Customer {
        self.tags.insert(tag.into());
        self
    }

    /// Records consent for a channel, for every purpose.
    #[must_use]
    pub fn consent(mut self, channel: Channel) -> Customer {
        self.consent.insert(channel);
        self
    }

    /// Records consent for a channel and one purpose: [`Purpose::Marketing`] is consent for
    /// every purpose (as [`Customer::consent`]); [`Purpose::Service`] for service messages
    /// only.
    #[must_use]
    pub fn consent_for(mut self, channel: Channel, purpose: Purpose) -> Customer {
        match purpose {
            Purpose::Marketing => self.consent.insert(channel),
            Purpose::Service => self.service_consent.insert(channel),
        };
        self
    }

    /// Whether the customer may be contacted on `channel` for `purpose`: marketing needs
    /// [`Customer::consent`]; service messages need either set, so withdrawn marketing
    /// consent never blocks them on a channel given for service.
    #[must_use]
    pub fn consents(&self, channel: Channel, purpose: Purpose) -> bool {
        self.consent.contains(&channel)
            || (purpose == Purpose::Service && self.service_consent.contains(&channel))
    }

    /// Sets the RFM segment name.
    #[must_use]
    pub fn segment(mut self, segment: impl Into<String>) -> Customer {
        self.segment = Some(segment.into());
        self
    }

    /// Sets the customer's value (CLV or a stand-in).
    #[must_use]
    pub fn value(mut self, value: Money) -> Customer {
        self.value = Some(value);
        self
    }
}

/// The wire form of [`Customer`]: the time zone as text, parsed into a typed error.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct CustomerRepr {
    id: CustomerId,
    time_zone: String,
    market: String,
    language: String,
    birthday: Option<Birthday>,
    tags: BTreeSet<String>,
    consent: BTreeSet<Channel>,
    // Absent from records written before per-purpose consent.
    #[serde(default)]
    service_consent: BTreeSet<Channel>,
    segment: Option<String>,
    value: Option<Money>,
}

#[cfg(feature = "serde")]
impl TryFrom<CustomerRepr> for Customer {
    type Error = Error;
    fn try_from(r: CustomerRepr) -> Result<Customer> {
        Ok(Customer {
            id: r.id,
            time_zone: parse_time_zone(&r.time_zone)?,
            market: r.market,
            language: r.language,
            birthday: r.birthday,
            tags: r.tags,
            consent: r.consent,
            service_consent: r.service_consent,
            segment: r.segment,
            value: r.value,
        })
    }
}

/// One order: when it was placed, when it arrived, what it contained.
///
/// Dates are calendar dates on the customer's local clock. The fields are public for hosts
/// that fill records in place; [`Order::new`], deserialization and [`due`](super::due) all
/// reject a delivery before the order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "OrderRepr"))]
pub struct Order {
    /// The host's order id (reported in the facts of actions).
    pub id: String,
    /// The customer who placed it.
    pub customer: CustomerId,
    /// The order date.
    pub ordered: NaiveDate,
    /// The delivery date, once delivered. Never before `ordered`.
    pub delivered: Option<NaiveDate>,
    /// Product categories in the order (`"cast-iron"`, `"coffee-beans"`).
    pub categories: BTreeSet<String>,
}

impl Order {
    /// An order.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when the delivery date is before the order date.
    pub fn new(
        id: impl Into<String>,
        customer: CustomerId,
        ordered: NaiveDate,
        delivered: Option<NaiveDate>,
    ) -> Result<Order> {
        let order =
            Order { id: id.into(), customer, ordered, delivered, categories: BTreeSet::new() };
        order.check()?;
        Ok(order)
    }

    /// Checks the invariant: not delivered before it was ordered.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for field `delivered` when the delivery date is before
    /// the order date.
    pub fn check(&self) -> Result<()> {
        match self.delivered {
            Some(d) if d < self.ordered => Err(Error::invalid(
                "delivered",
                d,
                format!("order `{}` delivered before it was ordered on {}", self.id, self.ordered),
            )),
            _ => Ok(()),
        }
    }

    /// Adds a product category.
    #[must_use]
    pub fn category(mut self, category: impl Into<String>) -> Order {
        self.categories.insert(category.into());
        self
    }
}

/// The unvalidated wire form of [`Order`].
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct OrderRepr {
    id: String,
    customer: CustomerId,
    ordered: NaiveDate,
    delivered: Option<NaiveDate>,
    categories: BTreeSet<String>,
}

#[cfg(feature = "serde")]
impl TryFrom<OrderRepr> for Order {
    type Error = Error;
    fn try_from(r: OrderRepr) -> Result<Order> {
        let order = Order {
            id: r.id,
            customer: r.customer,
            ordered: r.ordered,
            delivered: r.delivered,
            categories: r.categories,
        };
        order.check()?;
        Ok(order)
    }
}

/// A promotion carrying tags, valid on a range of the customer's local dates.
///
/// [`Promotion::new`], deserialization and [`due`](super::due) all reject a window that ends
/// before it starts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "PromotionRepr"))]
pub struct Promotion {
    /// The host's promotion id.
    pub id: String,
    /// Tags matched against customers' preference tags.
    pub tags: BTreeSet<String>,
    /// First local date on which the promotion runs.
    pub valid_from: NaiveDate,
    /// Last local date on which the promotion runs (inclusive); not before `valid_from`.
    pub valid_until: NaiveDate,
    /// Markets where it runs; empty means every market.
    pub markets: BTreeSet<String>,
}

impl Promotion {
    /// A promotion valid from `valid_from` to `valid_until` inclusive, in every market.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when `valid_until` is before `valid_from`.
    pub fn new(
        id: impl Into<String>,
        valid_from: NaiveDate,
        valid_until: NaiveDate,
    ) -> Result<Promotion> {
        let promotion = Promotion {
            id: id.into(),
            tags: BTreeSet::new(),
            valid_from,
            valid_until,
            markets: BTreeSet::new(),
        };
        promotion.check()?;
        Ok(promotion)
    }

    /// Checks the invariant: the window does not end before it starts.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for field `valid_until` when it is before `valid_from`.
    pub fn check(&self) -> Result<()> {
        if self.valid_until < self.valid_from {
            return Err(Error::invalid(
                "valid_until",
                self.valid_until,
                format!("promotion `{}` ends before it starts on {}", self.id, self.valid_from),
            ));
        }
        Ok(())
    }

    /// Adds a tag.
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Promotion {
        self.tags.insert(tag.into());
        self
    }

    /// Restricts the promotion to a market (call again for more).
    #[must_use]
    pub fn market(mut self, market: impl Into<String>) -> Promotion {
        self.markets.insert(market.into());
        self
    }
}

/// The unvalidated wire form of [`Promotion`].
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct PromotionRepr {
    id: String,
    tags: BTreeSet<String>,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    markets: BTreeSet<String>,
}

#[cfg(feature = "serde")]
impl TryFrom<PromotionRepr> for Promotion {
    type Error = Error;
    fn try_from(r: PromotionRepr) -> Result<Promotion> {
        let promotion = Promotion {
            id: r.id,
            tags: r.tags,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            markets: r.markets,
        };
        promotion.check()?;
        Ok(promotion)
    }
}

/// A past contact: who was contacted, with what kind of action, when, and on which channel
/// when known.
///
/// The host may pass only the last contact of each kind per customer, or its whole contact
/// log; the per-period cap counts every contact given inside the period, so a full log makes
/// it exact. The purpose is the kind's ([`ActionKind::purpose`](super::ActionKind::purpose));
/// a contact without a channel counts against the caps of every channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Contact {
    /// The customer.
    pub customer: CustomerId,
    /// The kind of action.
    pub kind: super::ActionKind,
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// The channel it went out on, if known (absent in records written before channels
    /// were recorded).
    #[cfg_attr(feature = "serde", serde(default))]
    pub channel: Option<Channel>,
}

impl Contact {
    /// A contact of `kind` at `at`, channel unknown.
    #[must_use]
    pub fn new(customer: CustomerId, kind: super::ActionKind, at: DateTime<Utc>) -> Contact {
        Contact { customer, kind, at, channel: None }
    }

    /// Sets the channel.
    #[must_use]
    pub fn on(mut self, channel: Channel) -> Contact {
        self.channel = Some(channel);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birthday_text_form_round_trips() {
        for text in ["02-29", "12-01", "1996-02-29", "0900-07-04"] {
            let b: Birthday = text.parse().unwrap();
            assert_eq!(b.to_string(), text);
        }
        let b: Birthday = "1990-03-14".parse().unwrap();
        assert_eq!((b.year(), b.month(), b.day()), (Some(1990), 3, 14));
        assert_eq!(Birthday::month_day(3, 14).unwrap().year(), None);
    }

    #[test]
    fn ordinary_birthdays_ignore_the_leap_policy() {
        let b = Birthday::month_day(3, 1).unwrap();
        for p in [LeapDayPolicy::February28, LeapDayPolicy::March1] {
            assert_eq!(b.observed_in(2027, p), NaiveDate::from_ymd_opt(2027, 3, 1));
        }
    }

    #[test]
    fn order_delivered_on_the_order_day_is_fine() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert!(Order::new("o", CustomerId(1), day, Some(day)).is_ok());
    }
}
