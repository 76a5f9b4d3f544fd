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
use crate::ids::{Id, IdBook};
use crate::input::os_reason;

mod csv_cells;
#[cfg(test)]
mod tests;

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

/// A column's values of one type: stored, or worked out from the row's index as they are
/// written. A column drawn from a large table (the summary's rows) is then never stored, and
/// its arithmetic (a `Decimal` division per monetary value) runs on every core in the CSV
/// writer's pass rather than in a pass of its own.
pub enum Cells<'a, T> {
    /// The values, one per row.
    Stored(Vec<T>),
    /// Computed values.
    Computed {
        /// Rows.
        len: usize,
        /// Row `i`'s value.
        at: Box<dyn Fn(usize) -> T + Sync + 'a>,
    },
}

impl<'a, T: Copy> Cells<'a, T> {
    /// `len` values, row `i`'s being `at(i)`.
    pub fn computed(len: usize, at: impl Fn(usize) -> T + Sync + 'a) -> Self {
        Cells::Computed { len, at: Box::new(at) }
    }

    fn len(&self) -> usize {
        match self {
            Cells::Stored(v) => v.len(),
            Cells::Computed { len, .. } => *len,
        }
    }

    /// Row `i`'s value.
    fn at(&self, i: usize) -> T {
        match self {
            Cells::Stored(v) => v[i],
            Cells::Computed { at, .. } => at(i),
        }
    }

    /// The values in row order.
    fn iter(&self) -> impl Iterator<Item = T> + '_ {
        (0..self.len()).map(|i| self.at(i))
    }
}

impl<T> From<Vec<T>> for Cells<'_, T> {
    fn from(v: Vec<T>) -> Self {
        Cells::Stored(v)
    }
}

impl<T> FromIterator<T> for Cells<'_, T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Cells::Stored(iter.into_iter().collect())
    }
}

/// One column's values.
pub enum Values<'a> {
    /// Text.
    Text(Vec<String>),
    /// Customer ids: keys written as `book` gives them, without a `String` per row (the CSV
    /// writes them straight into its text; JSON lines and Parquet ask the book for each).
    Ids {
        /// One key per row.
        keys: Cells<'a, Id>,
        /// How the keys are written.
        book: &'a IdBook,
    },
    /// Counts.
    Count(Cells<'a, u32>),
    /// Model outputs; `None` is an empty cell (a model that could not be fitted).
    Real(Cells<'a, Option<f64>>),
    /// Money and other exact amounts.
    Exact(Cells<'a, Decimal>),
}

/// A named column.
pub struct Column<'a> {
    /// Header.
    pub name: &'static str,
    /// Values, one per row.
    pub values: Values<'a>,
}

/// Columns of equal length.
#[derive(Default)]
pub struct Table<'a> {
    /// The columns in output order.
    pub columns: Vec<Column<'a>>,
}

impl<'a> Table<'a> {
    /// Adds a column.
    pub fn push(&mut self, name: &'static str, values: Values<'a>) {
        self.columns.push(Column { name, values });
    }

    fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| match &c.values {
            Values::Text(v) => v.len(),
            Values::Ids { keys, .. } => keys.len(),
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
        // a few at a time, and written in order. Each wave is written by this thread while
        // the pool formats the next one (the writer, stdout's lock, cannot move to the pool).
        let blocks: Vec<std::ops::Range<usize>> =
            (0..self.rows()).step_by(ROWS).map(|i| i..(i + ROWS).min(self.rows())).collect();
        let format = |wave: &[std::ops::Range<usize>]| -> Vec<io::Result<Vec<u8>>> {
            wave.par_iter().map(|rows| self.csv_rows(rows.clone())).collect()
        };
        let mut waves = blocks.chunks(2 * rayon::current_num_threads().max(1));
        let mut texts = waves.next().map(format).unwrap_or_default();
        loop {
            let wave = waves.next();
            let mut next = Vec::new();
            let written = rayon::in_place_scope(|s| {
                if let Some(wave) = wave {
                    s.spawn(|_| next = format(wave));
                }
                texts.drain(..).try_for_each(|text| w.write_all(&text?))
            });
            written?;
            if wave.is_none() {
                return w.flush();
            }
            texts = next;
        }
    }

    /// The CSV text of `rows`, as the `csv` crate's writer writes the cells' `Display`
    /// (see [`csv_cells`]): each cell goes straight into the block's bytes.
    fn csv_rows(&self, rows: std::ops::Range<usize>) -> io::Result<Vec<u8>> {
        /// Bytes guessed per cell, so that a block's text is seldom copied as it grows.
        const CELL: usize = 16;
        let mut out = Vec::with_capacity(rows.len() * self.columns.len() * CELL);
        for i in rows {
            let start = out.len();
            for (k, c) in self.columns.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                match &c.values {
                    Values::Text(v) => csv_cells::text(&mut out, &v[i])?,
                    Values::Ids { keys, book } => csv_cells::id(&mut out, book, keys.at(i))?,
                    Values::Count(v) => csv_cells::count(&mut out, v.at(i)),
                    Values::Real(v) => {
                        if let Some(x) = v.at(i) {
                            csv_cells::real(&mut out, x);
                        }
                    }
                    Values::Exact(v) => csv_cells::exact(&mut out, v.at(i)),
                }
            }
            // A record of one empty field is written `""`, as the `csv` crate does: an empty
            // line would be no record at all to a reader.
            if out.len() == start {
                out.extend_from_slice(b"\"\"");
            }
            out.push(b'\n');
        }
        Ok(out)
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
                    Values::Ids { keys, book } => {
                        serde_json::to_writer(&mut line, &book.text(keys.at(i)))?
                    }
                    Values::Count(v) => write!(line, "{}", v.at(i))?,
                    // A non-finite value (none is expected) is null, as serde_json writes it.
                    Values::Real(v) => {
                        serde_json::to_writer(&mut line, &v.at(i).map_or(Value::Null, Value::from))?
                    }
                    Values::Exact(v) => write!(line, "{}", v.at(i).normalize())?,
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
                Values::Ids { keys, book } => (
                    DataType::Utf8,
                    Arc::new(StringArray::from_iter_values(keys.iter().map(|k| book.text(k)))),
                ),
                Values::Count(v) => {
                    (DataType::UInt32, Arc::new(UInt32Array::from_iter_values(v.iter())))
                }
                Values::Real(v) => (DataType::Float64, Arc::new(Float64Array::from_iter(v.iter()))),
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
    v: &Cells<'_, Decimal>,
) -> std::result::Result<(DataType, ArrayRef), arrow_schema::ArrowError> {
    let v: Vec<Decimal> = v.iter().map(|d| d.normalize()).collect();
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
pub fn write(table: &Table<'_>, dest: &Destination) -> Result<()> {
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
