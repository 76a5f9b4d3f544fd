//! Festival calendars per market.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::error::{Error, Result};

/// When a festival falls.
///
/// Written as `"MM-DD"` for a fixed date every year (Christmas: `"12-25"`), or as a
/// comma-separated list of `"YYYY-MM-DD"` dates for festivals that move (Lunar New Year:
/// `"2026-02-17,2027-02-06"`). That text is also the serde form, so a malformed date in a
/// stored calendar is rejected when it is read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "String", into = "String"))]
pub enum FestivalDate {
    /// The same month and day every year. A fixed 29 February only falls in leap years.
    Fixed {
        /// Month, 1–12.
        month: u32,
        /// Day of the month.
        day: u32,
    },
    /// Explicit dates, sorted and without duplicates.
    Dates(Vec<NaiveDate>),
}

impl FestivalDate {
    /// A fixed month and day.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the day does not exist
    /// in that month in any year.
    pub fn fixed(month: u32, day: u32) -> Result<FestivalDate> {
        if NaiveDate::from_ymd_opt(2000, month, day).is_none() {
            return Err(Error::invalid(
                "festival date",
                format!("{month:02}-{day:02}"),
                "no such day",
            ));
        }
        Ok(FestivalDate::Fixed { month, day })
    }

    /// Explicit dates (any order; duplicates are merged).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) when `dates` is empty.
    pub fn dates(mut dates: Vec<NaiveDate>) -> Result<FestivalDate> {
        if dates.is_empty() {
            return Err(Error::empty("festival dates"));
        }
        dates.sort_unstable();
        dates.dedup();
        Ok(FestivalDate::Dates(dates))
    }

    /// Checks a value built by hand (the variants are public): a fixed day that exists in
    /// some year, a non-empty list of dates. Lists are normalised (sorted, deduplicated)
    /// where the calendar stores them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a day that exists in
    /// no year, [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) for an empty list.
    pub fn check(&self) -> Result<()> {
        match self {
            FestivalDate::Fixed { month, day } => FestivalDate::fixed(*month, *day).map(drop),
            FestivalDate::Dates(d) if d.is_empty() => Err(Error::empty("festival dates")),
            FestivalDate::Dates(_) => Ok(()),
        }
    }

    /// Whether the festival falls on `date`.
    #[must_use]
    pub fn falls_on(&self, date: NaiveDate) -> bool {
        use chrono::Datelike;
        match self {
            FestivalDate::Fixed { month, day } => date.month() == *month && date.day() == *day,
            // A linear scan: a hand-built list need not be sorted, and lists are a few years.
            FestivalDate::Dates(d) => d.contains(&date),
        }
    }
}

impl FromStr for FestivalDate {
    type Err = Error;

    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the malformed date.
    fn from_str(s: &str) -> Result<FestivalDate> {
        let t = s.trim();
        if t.len() == 5 {
            let bad = || Error::invalid("festival date", s, "expected MM-DD");
            let (m, d) = t.split_once('-').ok_or_else(bad)?;
            return FestivalDate::fixed(
                m.parse().map_err(|_| bad())?,
                d.parse().map_err(|_| bad())?,
            );
        }
        let mut dates = Vec::new();
        for part in t.split(',') {
            let part = part.trim();
            // chrono's own text form, which writes years beyond 9999 with a sign.
            let date = part.parse::<NaiveDate>().map_err(|_| {
                Error::invalid(
                    "festival date",
                    part,
                    "expected MM-DD or YYYY-MM-DD[,YYYY-MM-DD...]",
                )
            })?;
            dates.push(date);
        }
        FestivalDate::dates(dates)
    }
}

impl fmt::Display for FestivalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FestivalDate::Fixed { month, day } => write!(f, "{month:02}-{day:02}"),
            FestivalDate::Dates(d) => {
                for (i, date) in d.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{date}")?;
                }
                Ok(())
            }
        }
    }
}

impl TryFrom<String> for FestivalDate {
    type Error = Error;
    fn try_from(s: String) -> Result<FestivalDate> {
        s.parse()
    }
}

impl From<FestivalDate> for String {
    fn from(d: FestivalDate) -> String {
        d.to_string()
    }
}

/// A named festival.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Festival {
    /// Its name (`"Christmas"`, `"Tết"`), reported in the action's facts.
    pub name: String,
    /// When it falls.
    pub date: FestivalDate,
}

/// Festivals by market. A customer is greeted for the festivals of their own market, on
/// their local date.
///
/// # Example
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::care::FestivalCalendar;
///
/// let mut cal = FestivalCalendar::new();
/// cal.add("DE", "Weihnachten", "12-25")?;
/// cal.add("VN", "Tết", "2026-02-17,2027-02-06")?;
/// assert!(cal.add("VN", "Tết", "2026-02-30").is_err());
/// let d = NaiveDate::from_ymd_opt(2027, 2, 6).unwrap();
/// assert_eq!(cal.festival_on("VN", d).map(|f| f.name.as_str()), Some("Tết"));
/// assert!(cal.festival_on("DE", d).is_none());
/// # Ok::<(), loyalty::Error>(())
/// ```
///
/// Its serde form is a map from market to festivals; reading it validates every festival
/// and sorts each market's list, as [`FestivalCalendar::insert`] does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "BTreeMap<String, Vec<Festival>>", into = "BTreeMap<String, Vec<Festival>>")
)]
pub struct FestivalCalendar {
    markets: BTreeMap<String, Vec<Festival>>,
}

/// The calendar without festivals, for inputs that do not set one.
pub(crate) static NO_FESTIVALS: FestivalCalendar = FestivalCalendar { markets: BTreeMap::new() };

impl TryFrom<BTreeMap<String, Vec<Festival>>> for FestivalCalendar {
    type Error = Error;
    fn try_from(markets: BTreeMap<String, Vec<Festival>>) -> Result<FestivalCalendar> {
        let mut cal = FestivalCalendar::new();
        for (market, festivals) in markets {
            for f in festivals {
                cal.insert(&market, f)?;
            }
        }
        Ok(cal)
    }
}

impl From<FestivalCalendar> for BTreeMap<String, Vec<Festival>> {
    fn from(cal: FestivalCalendar) -> BTreeMap<String, Vec<Festival>> {
        cal.markets
    }
}

impl FestivalCalendar {
    /// An empty calendar.
    #[must_use]
    pub fn new() -> FestivalCalendar {
        FestivalCalendar::default()
    }

    /// Adds a festival to a market, parsing its date (see [`FestivalDate`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a malformed date; the
    /// calendar is then unchanged.
    pub fn add(&mut self, market: &str, name: &str, date: &str) -> Result<()> {
        let date: FestivalDate = date.parse()?;
        self.insert(market, Festival { name: name.to_string(), date })
    }

    /// Adds an already built festival to a market, normalising a list of dates (sorted,
    /// without duplicates).
    ///
    /// # Errors
    ///
    /// As [`FestivalDate::check`]: a hand-built date that exists in no year or an empty list
    /// of dates. The calendar is then unchanged.
    pub fn insert(&mut self, market: &str, mut festival: Festival) -> Result<()> {
        festival.date.check()?;
        if let FestivalDate::Dates(d) = &mut festival.date {
            d.sort_unstable();
            d.dedup();
        }
        let list = self.markets.entry(market.to_string()).or_default();
        list.push(festival);
        // Sorted so that the festival chosen on a day with two is independent of insertion order.
        list.sort();
        Ok(())
    }

    /// The first festival (by name) of `market` that falls on `date`.
    #[must_use]
    pub fn festival_on(&self, market: &str, date: NaiveDate) -> Option<&Festival> {
        self.markets.get(market)?.iter().filter(|f| f.date.falls_on(date)).min()
    }

    /// The festivals of a market.
    #[must_use]
    pub fn festivals(&self, market: &str) -> &[Festival] {
        self.markets.get(market).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_normalises() {
        for (text, shown) in [
            ("12-25", "12-25"),
            (" 02-29 ", "02-29"),
            ("2027-02-06, 2026-02-17,2026-02-17", "2026-02-17,2027-02-06"),
        ] {
            let d: FestivalDate = text.parse().unwrap();
            assert_eq!(d.to_string(), shown, "{text}");
            assert_eq!(shown.parse::<FestivalDate>().unwrap(), d, "{text}");
        }
    }

    #[test]
    fn fixed_leap_day_falls_only_in_leap_years() {
        let d = FestivalDate::fixed(2, 29).unwrap();
        assert!(d.falls_on(NaiveDate::from_ymd_opt(2028, 2, 29).unwrap()));
        assert!(!d.falls_on(NaiveDate::from_ymd_opt(2027, 2, 28).unwrap()));
        assert!(!d.falls_on(NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()));
    }

    #[test]
    fn festival_on_is_independent_of_insertion_order() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let mut a = FestivalCalendar::new();
        a.add("X", "b", "01-01").unwrap();
        a.add("X", "a", "2026-01-01").unwrap();
        let mut b = FestivalCalendar::new();
        b.add("X", "a", "2026-01-01").unwrap();
        b.add("X", "b", "01-01").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.festival_on("X", day).map(|f| f.name.as_str()), Some("a"));
        assert!(a.festival_on("Y", day).is_none());
        assert!(a.festivals("Y").is_empty());
    }

    #[test]
    fn hand_built_dates_are_checked_and_normalised() {
        let mut cal = FestivalCalendar::new();
        let bad = Festival { name: "x".into(), date: FestivalDate::Fixed { month: 2, day: 30 } };
        assert!(cal.insert("X", bad).is_err());
        let empty = Festival { name: "x".into(), date: FestivalDate::Dates(vec![]) };
        assert!(cal.insert("X", empty).is_err());
        assert_eq!(cal, FestivalCalendar::new());
        let day = |y| NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
        let unsorted = FestivalDate::Dates(vec![day(2028), day(2026), day(2028)]);
        // Unsorted lists still answer correctly.
        assert!(unsorted.falls_on(day(2026)));
        cal.insert("X", Festival { name: "x".into(), date: unsorted }).unwrap();
        assert_eq!(cal.festivals("X")[0].date, FestivalDate::Dates(vec![day(2026), day(2028)]));
    }

    #[test]
    fn far_years_keep_their_text_form() {
        let far = FestivalDate::dates(vec![NaiveDate::from_ymd_opt(12026, 2, 1).unwrap()]).unwrap();
        assert_eq!(far.to_string(), "+12026-02-01");
        assert_eq!(far.to_string().parse::<FestivalDate>().unwrap(), far);
    }
}
