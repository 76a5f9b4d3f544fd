//! Writing a table of per-customer results as CSV, JSON lines or Parquet, to stdout or to a
//! file that appears whole or not at all (written beside its destination, then renamed), or
//! straight into a FIFO or a device.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::{
    ArrayRef, Decimal128Array, Decimal256Array, Float64Array, StringArray, UInt32Array,
};
use arrow_buffer::i256;
use arrow_schema::{DataType, Field, Schema};
use clap::ValueEnum;
use rust_decimal::Decimal;

use crate::error::{Failure, Result};
use crate::input::os_reason;

/// An output layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet (to a file only).
    Parquet,
}

impl OutputFormat {
    /// The format of `path` by its extension (CSV when unknown).
    pub fn from_path(path: &str) -> OutputFormat {
        match Path::new(path)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("parquet" | "pq") => OutputFormat::Parquet,
            Some("jsonl" | "ndjson" | "json") => OutputFormat::Jsonl,
            _ => OutputFormat::Csv,
        }
    }
}

/// One column's values.
pub enum Values {
    /// Text.
    Text(Vec<String>),
    /// Counts.
    Count(Vec<u32>),
    /// Model outputs; `None` is an empty cell (a model that could not be fitted).
    Real(Vec<Option<f64>>),
    /// Money and other exact amounts.
    Exact(Vec<Decimal>),
}

/// A named column.
pub struct Column {
    /// Header.
    pub name: &'static str,
    /// Values, one per row.
    pub values: Values,
}

/// Columns of equal length.
#[derive(Default)]
pub struct Table {
    /// The columns in output order.
    pub columns: Vec<Column>,
}

impl Table {
    /// Adds a column.
    pub fn push(&mut self, name: &'static str, values: Values) {
        self.columns.push(Column { name, values });
    }

    fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| match &c.values {
            Values::Text(v) => v.len(),
            Values::Count(v) => v.len(),
            Values::Real(v) => v.len(),
            Values::Exact(v) => v.len(),
        })
    }

    fn csv(&self, w: &mut dyn Write) -> io::Result<()> {
        use rayon::prelude::*;
        /// Rows formatted at a time by one thread.
        const ROWS: usize = 16 * 1024;
        let header = self.csv_text(|out| out.write_record(self.columns.iter().map(|c| c.name)))?;
        w.write_all(&header)?;
        // Formatting numbers is most of the work: blocks of rows are formatted on every core,
        // a few at a time, and written in order.
        let blocks: Vec<std::ops::Range<usize>> =
            (0..self.rows()).step_by(ROWS).map(|i| i..(i + ROWS).min(self.rows())).collect();
        for wave in blocks.chunks(2 * rayon::current_num_threads().max(1)) {
            let texts: Vec<io::Result<Vec<u8>>> =
                wave.par_iter().map(|rows| self.csv_rows(rows.clone())).collect();
            for text in texts {
                w.write_all(&text?)?;
            }
        }
        w.flush()
    }

    /// The CSV text of `rows`.
    fn csv_rows(&self, rows: std::ops::Range<usize>) -> io::Result<Vec<u8>> {
        self.csv_text(|out| {
            let mut cells: Vec<String> = vec![String::new(); self.columns.len()];
            for i in rows {
                for (cell, c) in cells.iter_mut().zip(&self.columns) {
                    cell.clear();
                    use std::fmt::Write as _;
                    let _ = match &c.values {
                        Values::Text(v) => write!(cell, "{}", v[i]),
                        Values::Count(v) => write!(cell, "{}", v[i]),
                        Values::Real(v) => match v[i] {
                            Some(x) => write!(cell, "{x}"),
                            None => Ok(()),
                        },
                        Values::Exact(v) => write!(cell, "{}", v[i].normalize()),
                    };
                }
                out.write_record(&cells)?;
            }
            Ok(())
        })
    }

    /// The text `fill` writes through a CSV writer (quoting as RFC 4180 asks).
    fn csv_text(
        &self,
        fill: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> csv::Result<()>,
    ) -> io::Result<Vec<u8>> {
        let mut out = csv::WriterBuilder::new().from_writer(Vec::new());
        fill(&mut out).map_err(|e| io::Error::other(e.to_string()))?;
        out.into_inner().map_err(|e| io::Error::other(e.to_string()))
    }

    /// One object per row, keys in column order. Each object is written here rather than
    /// built as a `serde_json::Value`: a `Map` orders its keys by name (without the
    /// `preserve_order` feature, which would reorder every other JSON the workspace writes),
    /// and a `Number` holds an exact amount only as an `f64`. Keys, text and model outputs
    /// still go through serde_json's serializer; an exact amount is its decimal digits, as
    /// the CSV writes it (`Decimal`'s `Display` never uses an exponent, so it is a JSON
    /// number).
    fn jsonl(&self, w: &mut dyn Write) -> io::Result<()> {
        use serde_json::Value;
        let keys = self
            .columns
            .iter()
            .map(|c| serde_json::to_string(c.name))
            .collect::<std::result::Result<Vec<String>, _>>()?;
        let mut line: Vec<u8> = Vec::new();
        for i in 0..self.rows() {
            line.clear();
            line.push(b'{');
            for (k, (key, c)) in keys.iter().zip(&self.columns).enumerate() {
                if k > 0 {
                    line.push(b',');
                }
                line.extend_from_slice(key.as_bytes());
                line.push(b':');
                match &c.values {
                    Values::Text(v) => serde_json::to_writer(&mut line, &v[i])?,
                    Values::Count(v) => write!(line, "{}", v[i])?,
                    // A non-finite value (none is expected) is null, as serde_json writes it.
                    Values::Real(v) => {
                        serde_json::to_writer(&mut line, &v[i].map_or(Value::Null, Value::from))?
                    }
                    Values::Exact(v) => write!(line, "{}", v[i].normalize())?,
                }
            }
            line.extend_from_slice(b"}\n");
            w.write_all(&line)?;
        }
        w.flush()
    }

    fn batch(&self) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
        let mut fields = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for c in &self.columns {
            let (ty, a): (DataType, ArrayRef) = match &c.values {
                Values::Text(v) => (DataType::Utf8, Arc::new(StringArray::from_iter_values(v))),
                Values::Count(v) => (DataType::UInt32, Arc::new(UInt32Array::from(v.clone()))),
                Values::Real(v) => (DataType::Float64, Arc::new(Float64Array::from(v.clone()))),
                Values::Exact(v) => exact_column(v)?,
            };
            fields.push(Field::new(c.name, ty, matches!(c.values, Values::Real(_))));
            arrays.push(a);
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
    }

    fn parquet(&self, w: std::fs::File) -> std::result::Result<(), String> {
        let batch = self.batch().map_err(|e| e.to_string())?;
        let mut writer = parquet::arrow::ArrowWriter::try_new(w, batch.schema(), None)
            .map_err(|e| e.to_string())?;
        writer.write(&batch).map_err(|e| e.to_string())?;
        writer.close().map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// A column of exact amounts as one Arrow decimal type that holds every value exactly.
///
/// Arrow gives a column one scale, so every value is written as its digits at the finest
/// scale among them (after dropping trailing zeros, as the CSV writes them). `Decimal128(38, s)`
/// holds that when the longest integer part plus `s` is at most 38 digits: always, unless
/// the column mixes amounts beyond ten digits before the point with means of 27 or more
/// decimals. Otherwise the column is `Decimal256(76, s)`: a `Decimal` has at most 29 digits
/// before the point and 28 after, 57 in all, so every value is still exact; rounding the
/// fine values to fit 38 digits would silently change them. (`Decimal::rescale` is no way to
/// get there: beyond 96 bits of mantissa it keeps a smaller scale without saying so, and the
/// digits written under the column's scale were then off by powers of ten.)
fn exact_column(
    v: &[Decimal],
) -> std::result::Result<(DataType, ArrayRef), arrow_schema::ArrowError> {
    let v: Vec<Decimal> = v.iter().map(Decimal::normalize).collect();
    let scale = v.iter().map(Decimal::scale).max().unwrap_or(0);
    let whole_digits = |d: &Decimal| -> u32 {
        let whole = d.mantissa().unsigned_abs() / 10u128.pow(d.scale());
        whole.checked_ilog10().map_or(0, |l| l + 1)
    };
    let widest = v.iter().map(whole_digits).max().unwrap_or(0);
    // The digits of each value at the column's scale: `mantissa * 10^(scale - its scale)`.
    if widest + scale <= 38 {
        // Fewer than 39 digits: below 10^38 < i128::MAX, so the products cannot overflow.
        let m = v.iter().map(|d| d.mantissa() * 10i128.pow(scale - d.scale()));
        let a = Decimal128Array::from_iter_values(m).with_precision_and_scale(38, scale as i8)?;
        Ok((DataType::Decimal128(38, scale as i8), Arc::new(a)))
    } else {
        let ten = i256::from_i128(10);
        let m =
            v.iter().map(|d| i256::from_i128(d.mantissa()) * ten.wrapping_pow(scale - d.scale()));
        let a = Decimal256Array::from_iter_values(m).with_precision_and_scale(76, scale as i8)?;
        Ok((DataType::Decimal256(76, scale as i8), Arc::new(a)))
    }
}

/// Where results go.
#[derive(Debug, Clone)]
pub struct Destination {
    /// A file, or stdout when `None`.
    pub path: Option<String>,
    /// The layout; `None` takes it from the path's extension (CSV on stdout).
    pub format: Option<OutputFormat>,
}

/// Writes `table` to `dest`.
///
/// # Errors
///
/// An output that cannot be written (nothing is left at its path), or Parquet to stdout.
pub fn write(table: &Table, dest: &Destination) -> Result<()> {
    match &dest.path {
        None => {
            let format = dest.format.unwrap_or(OutputFormat::Csv);
            if format != OutputFormat::Parquet {
                stdout_open()?;
            }
            let stdout = io::stdout();
            let mut w = BufWriter::with_capacity(1 << 16, stdout.lock());
            let r = match format {
                OutputFormat::Csv => table.csv(&mut w),
                OutputFormat::Jsonl => table.jsonl(&mut w),
                OutputFormat::Parquet => {
                    return Err(Failure::new("parquet output needs a file: give -o PATH.parquet"))
                }
            };
            stdout_result(r)
        }
        Some(path) => {
            let format = dest.format.unwrap_or_else(|| OutputFormat::from_path(path));
            atomic_write(path, |file| match format {
                OutputFormat::Csv => {
                    table.csv(&mut BufWriter::new(file)).map_err(|e| os_reason(&e))
                }
                OutputFormat::Jsonl => {
                    table.jsonl(&mut BufWriter::new(file)).map_err(|e| os_reason(&e))
                }
                OutputFormat::Parquet => table.parquet(file),
            })
        }
    }
}

/// Fails when stdout was closed when the command started (`loyalty summary x.csv >&-`): the
/// output would be lost while the command reports success.
///
/// Rust's runtime puts `/dev/null`, opened read-write, on a standard descriptor it finds
/// closed at start, so every write to it "succeeds". That descriptor is recognised by its
/// target and mode (Linux's /proc): a shell's `> /dev/null`, a request to discard the
/// output, opens `/dev/null` write-only and passes. Elsewhere nothing is checked.
///
/// # Errors
///
/// `writing to stdout: stdout is closed`.
pub fn stdout_open() -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        let on_null =
            std::fs::read_link("/proc/self/fd/1").is_ok_and(|p| p == Path::new("/dev/null"));
        let read_write = || {
            let info = std::fs::read_to_string("/proc/self/fdinfo/1").ok()?;
            let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
            // O_ACCMODE is 0o3; O_RDWR is 0o2.
            Some(u32::from_str_radix(flags.trim(), 8).ok()? & 0o3 == 0o2)
        };
        if on_null && read_write() == Some(true) {
            return Err(Failure::new("writing to stdout: stdout is closed"));
        }
    }
    Ok(())
}

/// The result of a write to stdout as the command's: a reader that went away (`| head`)
/// is a failure like any other (the output is incomplete), reported as one line.
///
/// # Errors
///
/// `r`'s error, as `writing to stdout: broken pipe` and the like.
pub fn stdout_result(r: io::Result<()>) -> Result<()> {
    r.map_err(|e| Failure::new(format!("writing to stdout: {}", os_reason(&e))))
}

/// A note or warning on stderr, one line; a closed stderr is ignored (`eprintln!` would
/// panic).
pub fn note(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr(), "{line}");
}

/// Writes `text` to stdout in one write and flushes it.
///
/// # Errors
///
/// As [`stdout_result`].
pub fn print(text: &str) -> Result<()> {
    stdout_open()?;
    let mut out = io::stdout().lock();
    stdout_result(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// Writes the output `path` through `fill`.
///
/// A regular file (or a new one) is written into a temporary file beside it and renamed into
/// place, so a failure leaves nothing at `path` (and no temporary file). Symlinks are
/// followed: the temporary file goes beside the link's final target and replaces that, so
/// the link stays a link to the new output. A new file gets the mode a shell's `>` gives
/// (0666 less the umask); an existing file keeps its permissions.
///
/// Anything else that is not a directory — a FIFO, a character device such as `/dev/null`,
/// `/dev/stdout`, the `/dev/fd/N` of a process substitution `>(gzip > x.gz)` — is opened and
/// written in place: renaming a file over it would replace the node (as root, `/dev/null`
/// itself), and there is no file whose partial contents could be left behind.
///
/// # Errors
///
/// A directory, a path that cannot be written, or `fill`'s error.
pub fn atomic_write(
    path: &str,
    fill: impl FnOnce(std::fs::File) -> std::result::Result<(), String>,
) -> Result<()> {
    let cannot =
        |reason: String| Failure::in_file(path, format!("cannot write the output: {reason}"));
    let os = |e: io::Error| cannot(os_reason(&e));
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => return Err(cannot("is a directory".to_string())),
        Ok(m) if !m.is_file() => {
            let file = std::fs::OpenOptions::new().write(true).open(path).map_err(os)?;
            return fill(file).map_err(cannot);
        }
        _ => {}
    }
    let target = follow_links(Path::new(path)).map_err(os)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let existing = std::fs::metadata(&target).ok().map(|m| m.permissions());
    let mut builder = tempfile::Builder::new();
    builder.prefix(".loyalty-");
    // tempfile's own default is 0600; 0666 is what `open(2)` is given for a new file, which
    // the kernel narrows by the umask as it does for any program's output.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let tmp = builder.tempfile_in(dir).map_err(os)?;
    let file = tmp.reopen().map_err(os)?;
    fill(file).map_err(cannot)?;
    if let Some(permissions) = existing {
        std::fs::set_permissions(tmp.path(), permissions).map_err(os)?;
    }
    tmp.persist(&target).map_err(|e| os(e.error))?;
    Ok(())
}

/// The path that `path` leads to through symlinks, each target read relative to its link's
/// directory; the last one may not exist yet (a dangling link is written through, as a
/// shell's `>` does).
fn follow_links(path: &Path) -> io::Result<std::path::PathBuf> {
    // Linux's own limit (ELOOP after 40 links).
    const MAX_LINKS: usize = 40;
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let next = std::fs::read_link(&p)?;
                // `join` keeps an absolute target as it is.
                p = p.parent().map_or_else(|| next.clone(), |dir| dir.join(&next));
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}
