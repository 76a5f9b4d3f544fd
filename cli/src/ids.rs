//! Customer ids as read from a file, kept as one 64-bit key.
//!
//! The library's summary takes its fastest passes (a table addressed by id) when the key's
//! `Hash` writes one integer and the ids fill a range. Ids that are all plain numbers (no
//! leading zero, as auto-increment ids) or all numbers zero-padded to one width (as CDNOW's
//! `00001`) are kept as their numbers and written back as read. Any other id makes every id
//! text: the ids are interned as they are read and, at the end, numbered in text order, so the
//! keys are again dense integers and the summary's rows (in key order) are in the ids' text
//! order.

use std::collections::HashMap;

use loyalty::rfm::Transaction;

/// A customer key: a number, or the rank of a text id (see [`Ids`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(pub u64);

/// Numbers of at most 15 digits (below 2^50), so every id of a file fits a `u64` with room.
const MAX_DIGITS: usize = 15;

/// How the ids of a file are written back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdBook {
    /// Plain numbers.
    Plain,
    /// Numbers zero-padded to this width.
    Padded(usize),
    /// Text, by rank.
    Text(Vec<String>),
}

impl IdBook {
    /// The id of key `id` as it was read.
    pub fn text(&self, id: Id) -> String {
        match self {
            IdBook::Plain => id.0.to_string(),
            IdBook::Padded(w) => format!("{:0w$}", id.0, w = *w),
            IdBook::Text(names) => names[id.0 as usize].clone(),
        }
    }
}

/// The ids of a file while it is read.
#[derive(Debug, Default)]
pub struct Ids {
    mode: Mode,
}

#[derive(Debug, Default)]
enum Mode {
    #[default]
    Unknown,
    Plain,
    Padded(usize),
    Text {
        index: HashMap<Box<[u8]>, u32>,
        names: Vec<String>,
    },
}

/// The number of 1 to 15 ASCII digits `s`.
fn number(s: &[u8]) -> Option<u64> {
    if !(1..=MAX_DIGITS).contains(&s.len()) {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0')))
}

impl Ids {
    /// The key of the id `raw`; `log` holds the transactions read so far, whose keys are
    /// rewritten when the file turns out to have text ids. `None` for an empty id or one that
    /// is not UTF-8.
    pub fn key(&mut self, raw: &[u8], log: &mut [Transaction<Id>]) -> Option<Id> {
        if raw.is_empty() {
            return None;
        }
        match self.mode {
            Mode::Plain if raw[0] != b'0' || raw.len() == 1 => {
                if let Some(n) = number(raw) {
                    return Some(Id(n));
                }
            }
            Mode::Padded(w) if raw.len() == w => {
                if let Some(n) = number(raw) {
                    return Some(Id(n));
                }
            }
            Mode::Unknown => {
                if let Some(n) = number(raw) {
                    self.mode = if raw[0] == b'0' && raw.len() > 1 {
                        Mode::Padded(raw.len())
                    } else {
                        Mode::Plain
                    };
                    return Some(Id(n));
                }
            }
            _ => {}
        }
        self.become_text(log);
        let Mode::Text { index, names } = &mut self.mode else { return None };
        if let Some(&i) = index.get(raw) {
            return Some(Id(u64::from(i)));
        }
        let name = std::str::from_utf8(raw).ok()?.to_string();
        let i = u32::try_from(names.len()).ok()?;
        index.insert(raw.into(), i);
        names.push(name);
        Some(Id(u64::from(i)))
    }

    /// The key of `raw` when it is a number in the style the ids have taken (plain or
    /// zero-padded to one width), without changing that style: `None` for any id that
    /// [`Ids::key`] would turn into text, or before the first id. Shared across threads.
    pub fn numeric(&self, raw: &[u8]) -> Option<Id> {
        let ok = match self.mode {
            Mode::Plain => !raw.is_empty() && (raw[0] != b'0' || raw.len() == 1),
            Mode::Padded(w) => raw.len() == w,
            Mode::Unknown | Mode::Text { .. } => false,
        };
        if ok {
            number(raw).map(Id)
        } else {
            None
        }
    }

    /// Turns numeric keys into interned text (no-op once text).
    fn become_text(&mut self, log: &mut [Transaction<Id>]) {
        let book = match self.mode {
            Mode::Text { .. } => return,
            Mode::Unknown | Mode::Plain => IdBook::Plain,
            Mode::Padded(w) => IdBook::Padded(w),
        };
        let mut index: HashMap<Box<[u8]>, u32> = HashMap::new();
        let mut names = Vec::new();
        for t in log.iter_mut() {
            let name = book.text(t.customer);
            let next = names.len() as u32;
            let i = *index.entry(name.as_bytes().into()).or_insert_with(|| {
                names.push(name.clone());
                next
            });
            t.customer = Id(u64::from(i));
        }
        self.mode = Mode::Text { index, names };
    }

    /// The book for writing the keys back; text ids are renumbered in text order, and the
    /// keys of `log` with them.
    pub fn finish(self, log: &mut [Transaction<Id>]) -> IdBook {
        match self.mode {
            Mode::Unknown | Mode::Plain => IdBook::Plain,
            Mode::Padded(w) => IdBook::Padded(w),
            Mode::Text { names, .. } => {
                let mut order: Vec<u32> = (0..names.len() as u32).collect();
                order.sort_unstable_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
                let mut rank = vec![0u64; names.len()];
                for (r, &i) in order.iter().enumerate() {
                    rank[i as usize] = r as u64;
                }
                for t in log.iter_mut() {
                    t.customer = Id(rank[t.customer.0 as usize]);
                }
                let mut names: Vec<Option<String>> = names.into_iter().map(Some).collect();
                IdBook::Text(
                    order.iter().map(|&i| names[i as usize].take().unwrap_or_default()).collect(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    fn read(ids: &[&str]) -> (Vec<String>, IdBook) {
        let mut keys = Ids::default();
        let mut log = Vec::new();
        let d = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        for s in ids {
            let k = keys.key(s.as_bytes(), &mut log).unwrap();
            log.push(Transaction::on(k, d, Decimal::ONE));
        }
        let book = keys.finish(&mut log);
        (log.iter().map(|t| book.text(t.customer)).collect(), book)
    }

    #[test]
    fn numbers_stay_numbers_and_are_written_back_as_read() {
        let (back, book) = read(&["10", "9", "123456789012345"]);
        assert_eq!(back, ["10", "9", "123456789012345"]);
        assert_eq!(book, IdBook::Plain);
        let (back, book) = read(&["00010", "00009"]);
        assert_eq!(back, ["00010", "00009"]);
        assert_eq!(book, IdBook::Padded(5));
    }

    #[test]
    fn one_text_id_turns_every_id_to_text_in_text_order() {
        let (back, book) = read(&["10", "9", "09", "b", "a", "10"]);
        assert_eq!(back, ["10", "9", "09", "b", "a", "10"]);
        assert_eq!(
            book,
            IdBook::Text(vec!["09".into(), "10".into(), "9".into(), "a".into(), "b".into()])
        );
        // A 16-digit number is text too.
        let (_, book) = read(&["1", "1234567890123456"]);
        assert!(matches!(book, IdBook::Text(_)));
    }

    #[test]
    fn an_empty_id_has_no_key() {
        assert!(Ids::default().key(b"", &mut []).is_none());
    }
}
