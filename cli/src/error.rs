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
}

impl Failure {
    /// A failure with no place in an input (an option, the output, the models).
    pub fn new(reason: impl Into<String>) -> Failure {
        Failure { place: None, reason: reason.into() }
    }

    /// A failure of the file `file` as a whole (missing, empty, wrong type of column).
    pub fn in_file(file: &str, reason: impl Into<String>) -> Failure {
        let place = Place { file: file.to_string(), line: None, column: None, value: None };
        Failure { place: Some(place), reason: reason.into() }
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
        Failure { place: Some(place), reason: reason.into() }
    }

    /// A problem at a line of `file` that is not one value's (a short row).
    pub fn at_line(file: &str, line: u64, reason: impl Into<String>) -> Failure {
        let place = Place { file: file.to_string(), line: Some(line), column: None, value: None };
        Failure { place: Some(place), reason: reason.into() }
    }

    /// The reason alone, without the place.
    pub fn reason(&self) -> &str {
        &self.reason
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
        Failure::new(e.to_string())
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
