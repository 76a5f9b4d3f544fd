//! The command's one error type: a one-line message that names the file, line (or row),
//! column and value where there is one, in the form `file:line: column: value: reason`.

use std::fmt;

/// Where in an input a bad value sits. Lines count from 1 and include the header (a CSV
/// line, a JSON line); for Parquet and Arrow files, whose rows have no line, the row number
/// counting data rows from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file as named on the command line.
    pub file: String,
    /// Line (text formats) or data row (columnar formats), from 1; `None` for the file as a
    /// whole.
    pub line: Option<u64>,
    /// The column's name.
    pub column: Option<String>,
    /// The offending value as read (cut to 60 characters).
    pub value: Option<String>,
}

/// A failure of the command, printed as one line on stderr; the exit status is 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    place: Option<Place>,
    reason: String,
    /// The library's bad record (a customer the models refused), by its index in the slice
    /// the library was given: [`Failure::at_rows`] turns it into a line of the input.
    record: Option<Box<Record>>,
}

/// A record the library refused: its index in the slice given, field, value and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    index: usize,
    field: &'static str,
    value: String,
    reason: String,
}

impl Failure {
    /// A failure with no place in an input (an option, the output, the models).
    pub fn new(reason: impl Into<String>) -> Failure {
        Failure { place: None, reason: reason.into(), record: None }
    }

    /// A failure of the file `file` as a whole (missing, empty, wrong type of column).
    pub fn in_file(file: &str, reason: impl Into<String>) -> Failure {
        let place = Place { file: file.to_string(), line: None, column: None, value: None };
        Failure { place: Some(place), reason: reason.into(), record: None }
    }

    /// A bad value at a line and column of `file`.
    pub fn at(
        file: &str,
        line: u64,
        column: &str,
        value: &str,
        reason: impl Into<String>,
    ) -> Failure {
        let mut value: String = value.chars().take(60).collect();
        if value.len() < 60 && value.is_empty() {
            value = "(empty)".to_string();
        }
        let place = Place {
            file: file.to_string(),
            line: Some(line),
            column: Some(column.to_string()),
            value: Some(value),
        };
        Failure { place: Some(place), reason: reason.into(), record: None }
    }

    /// A problem at a line of `file` that is not one value's (a short row).
    pub fn at_line(file: &str, line: u64, reason: impl Into<String>) -> Failure {
        let place = Place { file: file.to_string(), line: Some(line), column: None, value: None };
        Failure { place: Some(place), reason: reason.into(), record: None }
    }

    /// The reason alone, without the place.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The same failure with `context: ` before its reason (the record it came from kept).
    pub fn context(mut self, context: &str) -> Failure {
        self.reason = format!("{context}: {}", self.reason);
        self
    }

    /// A failure about the library's record `i` as one about record `index(i)` of the
    /// same input (the records it was given were a selection of those).
    pub fn reindex(mut self, index: impl Fn(usize) -> Option<usize>) -> Failure {
        self.record =
            self.record.and_then(|r| Some(Box::new(Record { index: index(r.index)?, ..*r })));
        self
    }

    /// A failure about the library's record `i` as one at line `lines[i]` of `file`, in the
    /// form of the reader's own errors (`file:line: column: value: reason`); any other
    /// failure as it is.
    pub fn at_rows(self, file: &str, lines: &[u64]) -> Failure {
        match &self.record {
            Some(r) if self.place.is_none() && r.index < lines.len() => {
                Failure::at(file, lines[r.index], r.field, &r.value, r.reason.clone())
            }
            _ => self,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.place {
            write!(f, "{}", p.file)?;
            if let Some(line) = p.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": ")?;
            if let Some(c) = &p.column {
                write!(f, "{c}: ")?;
            }
            if let Some(v) = &p.value {
                write!(f, "{v}: ")?;
            }
        }
        // One line, whatever a library or OS message carried.
        write!(f, "{}", self.reason.replace(['\n', '\r'], " "))
    }
}

impl From<loyalty::Error> for Failure {
    fn from(e: loyalty::Error) -> Failure {
        let record = match e.kind() {
            loyalty::ErrorKind::InvalidRecord { index, field, value, reason } => {
                Some(Box::new(Record {
                    index: *index,
                    field,
                    value: value.clone(),
                    reason: reason.clone(),
                }))
            }
            _ => None,
        };
        Failure { record, ..Failure::new(e.to_string()) }
    }
}

/// `Result` with a [`Failure`].
pub type Result<T> = std::result::Result<T, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_value_prints_file_line_column_value_reason() {
        let f = Failure::at("in.csv", 3, "date", "2015-13-01", "not a date");
        assert_eq!(f.to_string(), "in.csv:3: date: 2015-13-01: not a date");
        let f = Failure::at("in.csv", 2, "customer_id", "", "empty customer id");
        assert_eq!(f.to_string(), "in.csv:2: customer_id: (empty): empty customer id");
        assert_eq!(Failure::in_file("x.csv", "no such file").to_string(), "x.csv: no such file");
        assert_eq!(Failure::new("a\nb").to_string(), "a b");
    }
}
