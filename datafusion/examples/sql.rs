//! Runs SQL with the loyalty functions registered, as one process (what the peer script
//! times).
//!
//! ```text
//! cargo run -p loyalty-datafusion --example sql -- [--threads N] [--remote df://HOST:PORT] \
//!     [--table NAME=PATH]... 'STATEMENT; STATEMENT; ...'
//! ```
//!
//! PATH is a CSV or Parquet file or a directory of them. The statements run in order; the last
//! one's result is printed (a `COPY ... TO` prints its row count). `--threads` sets DataFusion's
//! target partitions (and the Tokio worker threads); `--remote` (feature `ballista`) runs on a
//! Ballista scheduler instead. DataFusion's other settings are read from the environment
//! (`DATAFUSION_EXECUTION_BATCH_SIZE=65536`, say).

use std::path::Path;
use std::process::ExitCode;

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::{SessionConfig, SessionContext};

struct Args {
    threads: usize,
    remote: Option<String>,
    tables: Vec<(String, String)>,
    sql: String,
}

fn parse() -> Result<Args, String> {
    let mut a = Args { threads: 0, remote: None, tables: Vec::new(), sql: String::new() };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--threads" => {
                a.threads = value("--threads")?.parse().map_err(|_| "--threads: not a number")?;
            }
            "--remote" => a.remote = Some(value("--remote")?),
            "--table" => {
                let t = value("--table")?;
                let (name, path) = t.split_once('=').ok_or("--table takes NAME=PATH")?;
                a.tables.push((name.to_string(), path.to_string()));
            }
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}")),
            _ => a.sql = arg,
        }
    }
    if a.sql.trim().is_empty() {
        return Err("usage: sql [--threads N] [--remote URL] [--table NAME=PATH]... SQL".into());
    }
    Ok(a)
}

async fn context(a: &Args) -> datafusion::error::Result<SessionContext> {
    let mut config = SessionConfig::from_env()?;
    if a.threads > 0 {
        config = config.with_target_partitions(a.threads);
    }
    match &a.remote {
        None => {
            let ctx = SessionContext::new_with_config(config);
            loyalty_datafusion::register(&ctx);
            Ok(ctx)
        }
        #[cfg(feature = "ballista")]
        Some(url) => {
            use ballista::prelude::{SessionConfigExt, SessionContextExt};
            let mut config = SessionConfig::new_with_ballista();
            if a.threads > 0 {
                config = config.with_target_partitions(a.threads);
            }
            let state = loyalty_datafusion::ballista::session_state(config)?;
            let ctx = SessionContext::remote_with_state(url, state).await?;
            // `remote_with_state` resets the functions to Ballista's: register ours again.
            loyalty_datafusion::register(&ctx);
            Ok(ctx)
        }
        #[cfg(not(feature = "ballista"))]
        Some(_) => Err(datafusion::error::DataFusionError::Plan(
            "--remote needs the feature ballista".into(),
        )),
    }
}

async fn run(a: Args) -> datafusion::error::Result<()> {
    let ctx = context(&a).await?;
    for (name, path) in &a.tables {
        loyalty_datafusion::register_table(&ctx, name, Path::new(path)).await?;
    }
    let statements: Vec<&str> = a.sql.split(';').map(str::trim).filter(|s| !s.is_empty()).collect();
    for (i, statement) in statements.iter().enumerate() {
        let batches = ctx.sql(statement).await?.collect().await?;
        if i + 1 == statements.len() {
            println!("{}", pretty_format_batches(&batches)?);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sql: {e}");
            return ExitCode::from(2);
        }
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if args.threads > 0 {
        runtime.worker_threads(args.threads);
    }
    let runtime = match runtime.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sql: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sql: {e}");
            ExitCode::FAILURE
        }
    }
}
