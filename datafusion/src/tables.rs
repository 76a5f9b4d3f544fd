//! Tables from paths: a CSV or Parquet file, or a directory of partitioned files, as the
//! `loyalty sql` command and the examples name them (`--table tx=orders/`).

use std::path::Path;

use datafusion::common::{DataFusionError, Result};
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};

/// The file formats a table can be read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Comma-separated values with a header row; column types are inferred.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// The format of a file name's extension (`.csv`, `.parquet`), if known.
    #[must_use]
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "parquet" | "parq" => Some(Format::Parquet),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => ".csv",
            Format::Parquet => ".parquet",
        }
    }
}

/// The format of the first data file found under `dir` (depth first, names in order).
fn format_in(dir: &Path) -> Result<Option<Format>> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let path = e.path();
        let found = if path.is_dir() { format_in(&path)? } else { Format::of(&path) };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Registers the file or directory `path` as table `name`: a `.csv` or `.parquet` file, or a
/// directory holding such files (Hive-style partition directories such as `day=2024-01-01/`
/// included; every file with the extension of the first one found is read).
///
/// # Errors
///
/// When the path does not exist, holds no CSV or Parquet file, or cannot be read as one.
pub async fn register_table(ctx: &SessionContext, name: &str, path: &Path) -> Result<()> {
    let not_found =
        |what: &str| DataFusionError::Plan(format!("table {name}: {}: {what}", path.display()));
    let format = if path.is_dir() {
        format_in(path)?.ok_or_else(|| not_found("no .csv or .parquet file in the directory"))?
    } else if path.is_file() {
        Format::of(path).ok_or_else(|| not_found("expected a .csv or .parquet file"))?
    } else {
        return Err(not_found("no such file or directory"));
    };
    let location = path.to_str().ok_or_else(|| not_found("the path is not valid UTF-8"))?;
    match format {
        Format::Csv => {
            let options = CsvReadOptions::new().file_extension(format.extension());
            ctx.register_csv(name, location, options).await
        }
        Format::Parquet => {
            let options = ParquetReadOptions::default().file_extension(format.extension());
            ctx.register_parquet(name, location, options).await
        }
    }
}
