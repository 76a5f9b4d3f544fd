//! `loyalty sql`: SQL over transaction files on Apache DataFusion, with the loyalty functions
//! (`rfm_summary`, the model fits, `p_alive`, `clv`, ...) registered, the result written like
//! the other subcommands' output (CSV on stdout; CSV, JSON lines or Parquet to a file that
//! appears whole or not at all).
//!
//! Built with the cargo feature `sql` only: DataFusion is a large build, and the command's
//! default build leaves it out. Without the feature the subcommand is still listed, and says
//! in one line that it was built without `sql` (exit status 2).
//!
//! QUERY may hold several statements separated by `;` (`CREATE VIEW ...; SELECT ...`); they
//! run in order and the last one's result is written.

use crate::cli::SqlArgs;
use crate::error::{Failure, Result};

/// The reason given when the command was built without the `sql` feature; `main` exits 2 on
/// it, as for a usage error.
pub const NOT_BUILT: &str = "loyalty sql: this loyalty was built without the `sql` feature \
     (rebuild with `cargo install --path cli --features sql`)";

/// `loyalty sql` without the `sql` feature.
///
/// # Errors
///
/// Always: [`NOT_BUILT`].
#[cfg(not(feature = "sql"))]
pub fn command(args: &SqlArgs) -> Result<()> {
    // The arguments are parsed (and usage errors reported) the same with or without the
    // feature; nothing reads them here.
    let _ = (&args.query, &args.tables, args.threads, &args.output);
    Err(Failure::new(NOT_BUILT))
}

/// Parses `--table NAME=PATH`.
///
/// # Errors
///
/// A value without `=`, or with an empty name or path.
pub fn parse_table(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.trim().is_empty() && !path.is_empty() => {
            Ok((name.trim().to_string(), path.to_string()))
        }
        _ => Err(format!("`{s}` is not NAME=PATH")),
    }
}

#[cfg(feature = "sql")]
pub use engine::command;

#[cfg(feature = "sql")]
mod engine {
    use std::io::{BufWriter, Write};
    use std::path::Path;
    use std::sync::Arc;

    use datafusion::arrow::datatypes::{DataType, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::common::DataFusionError;
    use datafusion::execution::SendableRecordBatchStream;
    use datafusion::prelude::{SessionConfig, SessionContext};
    use datafusion::sql::parser::DFParser;
    use futures::StreamExt;
    use loyalty_datafusion::datafusion;

    use super::{Failure, Result, SqlArgs};
    use crate::output::{self, OutputFormat};

    /// A DataFusion error as one line: its message without the layers of context
    /// (`Error during planning: ...`) that DataFusion wraps around it.
    fn failure(e: DataFusionError) -> Failure {
        Failure::new(format!("sql: {}", e.find_root()))
    }

    /// `loyalty sql`.
    ///
    /// # Errors
    ///
    /// A table path that is missing or holds no CSV or Parquet file, a query that does not
    /// parse or plan or fails while running (a loyalty function's bad argument included), a
    /// result that the output format cannot hold, or an output that cannot be written.
    pub fn command(args: &SqlArgs) -> Result<()> {
        let mut runtime = tokio::runtime::Builder::new_multi_thread();
        if let Some(n) = args.threads {
            runtime.worker_threads(usize::from(n));
        }
        let runtime = runtime
            .enable_all()
            .build()
            .map_err(|e| Failure::new(format!("sql: cannot start the runtime: {e}")))?;
        let (schema, stream) = runtime.block_on(plan(args))?;
        let dest = args.output.destination();
        let format = match (&dest.path, dest.format) {
            (_, Some(f)) => f,
            (Some(p), None) => OutputFormat::from_path(p),
            (None, None) => OutputFormat::Csv,
        };
        if format == OutputFormat::Csv {
            if let Some(f) = schema.fields().iter().find(|f| nested(f.data_type())) {
                return Err(Failure::new(format!(
                    "sql: column `{}` is a {}, which CSV cannot hold: select its fields \
                     (s['frequency']) or write JSON lines or Parquet",
                    f.name(),
                    f.data_type()
                )));
            }
        }
        let mut stream = stream;
        match &dest.path {
            None => {
                if format == OutputFormat::Parquet {
                    return Err(Failure::new("parquet output needs a file: give -o PATH.parquet"));
                }
                output::stdout_open()?;
                // `Stdout`, not its lock: the writers want a `Send` sink.
                let w = BufWriter::with_capacity(1 << 16, std::io::stdout());
                match runtime.block_on(write(format, &schema, &mut stream, w)) {
                    Err(Written::Io(e)) => output::stdout_result(Err(e)),
                    Err(Written::Other(e)) => Err(Failure::new(e)),
                    Ok(()) => Ok(()),
                }
            }
            Some(path) => {
                // A query that fails while it runs is the query's error, not the output's:
                // kept aside and reported as such (the temporary file is removed either way).
                let mut query_error = None;
                let written = output::atomic_write(path, |file| {
                    match runtime.block_on(write(
                        format,
                        &schema,
                        &mut stream,
                        BufWriter::new(file),
                    )) {
                        Ok(()) => Ok(()),
                        Err(Written::Io(e)) => Err(crate::input::os_reason(&e)),
                        Err(Written::Other(e)) => {
                            query_error = Some(e);
                            Err("the query failed".to_string())
                        }
                    }
                });
                match query_error {
                    Some(e) => Err(Failure::new(e)),
                    None => written,
                }
            }
        }
    }

    /// Whether a column type has no CSV form.
    fn nested(t: &DataType) -> bool {
        matches!(
            t,
            DataType::Struct(_)
                | DataType::List(_)
                | DataType::LargeList(_)
                | DataType::FixedSizeList(..)
                | DataType::Map(..)
                | DataType::Union(..)
        )
    }

    /// Registers the tables, runs every statement but the last, and plans the last one.
    async fn plan(args: &SqlArgs) -> Result<(Arc<Schema>, SendableRecordBatchStream)> {
        let mut config = SessionConfig::new();
        if let Some(n) = args.threads {
            config = config.with_target_partitions(usize::from(n));
        }
        let ctx = SessionContext::new_with_config(config);
        loyalty_datafusion::register(&ctx);
        for (name, path) in &args.tables {
            loyalty_datafusion::register_table(&ctx, name, Path::new(path))
                .await
                .map_err(failure)?;
        }
        let mut statements = DFParser::parse_sql(&args.query).map_err(failure)?;
        let last = statements
            .pop_back()
            .ok_or_else(|| Failure::new("sql: the query holds no statement"))?;
        for statement in statements {
            // A fresh state each time: a `SET` before takes effect.
            let plan = ctx.state().statement_to_plan(statement).await.map_err(failure)?;
            // DDL (CREATE VIEW, SET) takes effect here; a query's rows are run and dropped.
            ctx.execute_logical_plan(plan)
                .await
                .map_err(failure)?
                .collect()
                .await
                .map_err(failure)?;
        }
        let plan = ctx.state().statement_to_plan(last).await.map_err(failure)?;
        let frame = ctx.execute_logical_plan(plan).await.map_err(failure)?;
        let schema = Arc::new(frame.schema().as_arrow().clone());
        let stream = frame.execute_stream().await.map_err(failure)?;
        Ok((schema, stream))
    }

    /// Why writing the result stopped.
    enum Written {
        /// The output (a closed pipe is told apart by the caller).
        Io(std::io::Error),
        /// The query failed while running, or the writer refused a value.
        Other(String),
    }

    /// Streams the result batches to `w` in `format`.
    async fn write<W: Write + Send>(
        format: OutputFormat,
        schema: &Arc<Schema>,
        stream: &mut SendableRecordBatchStream,
        w: W,
    ) -> std::result::Result<(), Written> {
        use datafusion::arrow::error::ArrowError;
        let arrow = |e: ArrowError| match e {
            ArrowError::IoError(_, e) => Written::Io(e),
            e => Written::Other(format!("sql: {e}")),
        };
        let next = |b: Option<std::result::Result<RecordBatch, DataFusionError>>| match b {
            Some(Ok(b)) => Ok(Some(b)),
            Some(Err(e)) => Err(Written::Other(format!("sql: {}", e.find_root()))),
            None => Ok(None),
        };
        match format {
            OutputFormat::Csv => {
                let mut out =
                    datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(w);
                // The header even when there are no rows.
                let mut wrote = false;
                while let Some(b) = next(stream.next().await)? {
                    out.write(&b).map_err(arrow)?;
                    wrote = true;
                }
                if !wrote {
                    out.write(&RecordBatch::new_empty(schema.clone())).map_err(arrow)?;
                }
                out.into_inner().flush().map_err(Written::Io)
            }
            OutputFormat::Jsonl => {
                let mut out = datafusion::arrow::json::LineDelimitedWriter::new(w);
                while let Some(b) = next(stream.next().await)? {
                    out.write(&b).map_err(arrow)?;
                }
                out.finish().map_err(arrow)?;
                out.into_inner().flush().map_err(Written::Io)
            }
            OutputFormat::Parquet => {
                let mut out =
                    datafusion::parquet::arrow::ArrowWriter::try_new(w, schema.clone(), None)
                        .map_err(|e| Written::Other(format!("sql: {e}")))?;
                while let Some(b) = next(stream.next().await)? {
                    out.write(&b).map_err(|e| Written::Other(format!("sql: {e}")))?;
                }
                let mut w = out.into_inner().map_err(|e| Written::Other(format!("sql: {e}")))?;
                w.flush().map_err(Written::Io)
            }
        }
    }
}
