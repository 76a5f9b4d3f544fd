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

    fn from_str(s: &str) -> Result<Birthday> {
        let t = s.trim();
        let bad = || Error::invalid("birthday", s, "expected MM-DD or YYYY-MM-DD");
        match t.len() {
            5 => {
                let (m, d) = t.split_once('-').ok_or_else(bad)?;
                let month = m.parse().map_err(|_| bad())?;
                let day = d.parse().map_err(|_| bad())?;
                Birthday::month_day(month, day)
            }
            10 => NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map(Birthday::from_date)
                .map_err(|_| Error::invalid("birthday", s, "no such date")),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Birthday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.year {
            Some(y) => write!(f, "{y:04}-{:02}-{:02}", self.month, self.day),
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
/// A passive record: [`due`](super::due) checks it (time zone typed at construction, no
/// duplicate ids). Build it with [`Customer::new`] and fill in the optional facts.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// Channels the customer consented to be contacted on. Empty: no action is ever sent.
    pub consent: BTreeSet<Channel>,
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

    /// Records consent for a channel.
    #[must_use]
    pub fn consent(mut self, channel: Channel) -> Customer {
        self.consent.insert(channel);
        self
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

/// One order: when it was placed, when it arrived, what it contained.
///
/// Dates are calendar dates on the customer's local clock.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
        let id = id.into();
        if let Some(d) = delivered {
            if d < ordered {
                return Err(Error::invalid(
                    "delivered",
                    d,
                    format!("order `{id}` delivered before it was ordered on {ordered}"),
                ));
            }
        }
        Ok(Order { id, customer, ordered, delivered, categories: BTreeSet::new() })
    }

    /// Adds a product category.
    #[must_use]
    pub fn category(mut self, category: impl Into<String>) -> Order {
        self.categories.insert(category.into());
        self
    }
}

/// A promotion carrying tags, valid on a range of the customer's local dates.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
        if valid_until < valid_from {
            return Err(Error::invalid("valid_until", valid_until, "before valid_from"));
        }
        Ok(Promotion {
            id: id.into(),
            tags: BTreeSet::new(),
            valid_from,
            valid_until,
            markets: BTreeSet::new(),
        })
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

/// A past contact: who was contacted, with what kind of action, when.
///
/// The host may pass only the last contact of each kind per customer, or its whole contact
/// log; the per-period cap counts every contact given inside the period, so a full log makes
/// it exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Contact {
    /// The customer.
    pub customer: CustomerId,
    /// The kind of action.
    pub kind: super::ActionKind,
    /// When it was sent.
    pub at: DateTime<Utc>,
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
