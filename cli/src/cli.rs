//! The command line: subcommands and their flags.

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::analysis::{ModelArg, PeriodArg};
use crate::input::{Columns, InputFormat, ReadOptions};
use crate::output::{Destination, OutputFormat};

/// Customer retention from a transaction log: RFM summaries and scores, predictive CLV
/// (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma, as Python lifetimes 0.11.3) and a seller's
/// HTML report.
///
/// INPUT is one row per purchase with a customer id, a date and an amount: CSV/TSV with a
/// header, Parquet, Arrow IPC, JSON lines, or CDNOW's whitespace text (--input-format
/// cdnow). Errors are one line, `file:line: column: value: reason`, exit status 1 (2 for
/// usage); nothing is left at an output path on failure.
#[derive(Debug, Parser)]
#[command(name = "loyalty", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Per-customer summary with lifetimes' columns: frequency (repeat purchase periods),
    /// recency, T (in --period units) and monetary_value (mean repeat spend).
    Summary {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Fits a model and prints its parameters, standard errors, log-likelihood and
    /// convergence as JSON.
    Fit {
        /// The model to fit.
        #[arg(long, value_enum)]
        model: FitModel,
        /// INPUT is already a per-customer summary (columns frequency, recency, T and, for
        /// gamma-gamma, monetary_value; or CDNOW's x, t_x, T, zbar), not a transaction log.
        #[arg(long)]
        summary_input: bool,
        /// Fit this many times on the rows in memory and report the fastest fit in `seconds`
        /// (for timing a warm fit, as a peer timed in a running interpreter is); the result is
        /// the same every time.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        repeat: u32,
        #[command(flatten)]
        input: InputArgs,
    },
    /// Summary + R/F/M scores + segment + P(alive) + expected purchases + expected spend +
    /// CLV per customer. Defaults are lifetimes' daily ones: BG/NBD, 12 months, 1 % monthly
    /// discount, 30 days a month.
    Score {
        /// INPUT is already a per-customer summary (frequency, recency, T, monetary_value
        /// and an optional customer_id or ID column): only the model columns are added.
        #[arg(long)]
        summary_input: bool,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        clv: ClvArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Fits on the purchases up to --calibration-end and checks the model on the rest:
    /// holdout accuracy, tracking of cumulative repeat purchases, period transactions (JSON).
    Validate {
        /// The last day of the calibration window.
        #[arg(long, value_parser = parse_day)]
        calibration_end: NaiveDate,
        /// The purchase model.
        #[arg(long, value_enum, default_value_t)]
        model: ModelArg,
        #[command(flatten)]
        input: InputArgs,
    },
    /// The seller's report: headline numbers on stdout and, with --html, one self-contained
    /// HTML page with charts.
    Report {
        /// Where to write the HTML page.
        #[arg(long, value_name = "PATH")]
        html: Option<String>,
        /// The last day of the calibration window of the model check (default: two thirds
        /// of the way through the data).
        #[arg(long, value_parser = parse_day)]
        calibration_end: Option<NaiveDate>,
        /// Gross margin on revenue, for the acquisition economics.
        #[arg(long, default_value = "0.30")]
        margin: rust_decimal::Decimal,
        /// Acquisition cost of one new customer (the blended CAC), in the data's currency;
        /// without it the economics section shows the break-even cost instead.
        #[arg(long)]
        cac: Option<rust_decimal::Decimal>,
        /// The points program, as the library's `points::Program` in JSON: adds the points
        /// every purchase earned and their liability.
        #[arg(long, value_name = "FILE")]
        points_program: Option<String>,
        /// The share of outstanding points expected never to be redeemed, in [0, 1], for the
        /// points liability.
        #[arg(long, default_value = "0", requires = "points_program")]
        breakage: rust_decimal::Decimal,
        /// The tier program, as the library's `tiers::Program` in JSON: adds members per tier.
        #[arg(long, value_name = "FILE")]
        tiers: Option<String>,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        clv: ClvArgs,
    },
    /// SQL over CSV or Parquet files on Apache DataFusion, with the loyalty functions
    /// (rfm_summary, bgnbd_fit, p_alive, clv, ...) registered; the last statement's result is
    /// written. Needs the build feature `sql`.
    Sql(SqlArgs),
}

/// The arguments of `loyalty sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Statements separated by `;`, run in order; the last one's result is written.
    #[arg(value_name = "QUERY")]
    pub query: String,
    /// A table: NAME=PATH, where PATH is a .csv or .parquet file or a directory of them
    /// (Hive-style partition directories such as `day=2024-01-01/` included). Repeatable.
    #[arg(long = "table", value_name = "NAME=PATH", value_parser = crate::sql::parse_table)]
    pub tables: Vec<(String, String)>,
    /// Threads and target partitions (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The model choice of `fit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FitModel {
    /// BG/NBD.
    Bgnbd,
    /// MBG/NBD.
    Mbgnbd,
    /// Pareto/NBD.
    ParetoNbd,
    /// Gamma-Gamma spend model (repeat buyers).
    GammaGamma,
}

/// The input and how to read it.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// The transaction log.
    #[arg(value_name = "INPUT")]
    pub input: String,
    /// The end of observation (YYYY-MM-DD); default: the last purchase's day.
    #[arg(long, value_parser = parse_day)]
    pub as_of: Option<NaiveDate>,
    /// The time unit of recency, T and the models.
    #[arg(long, value_enum, default_value_t)]
    pub period: PeriodArg,
    /// The customer id column.
    #[arg(long, default_value = "customer_id")]
    pub customer_col: String,
    /// The date (or timestamp) column.
    #[arg(long, default_value = "date")]
    pub date_col: String,
    /// The amount column.
    #[arg(long, default_value = "amount")]
    pub amount_col: String,
    /// A chrono format for the dates, e.g. %d/%m/%Y (default: YYYY-MM-DD, YYYY-MM-DD
    /// HH:MM:SS, RFC 3339 or YYYYMMDD).
    #[arg(long)]
    pub date_format: Option<String>,
    /// The input's layout (default: from the extension; CSV otherwise).
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormat>,
    /// No progress bar and no notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl InputArgs {
    /// The reader's options.
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            columns: Columns {
                customer: self.customer_col.clone(),
                date: self.date_col.clone(),
                amount: self.amount_col.clone(),
            },
            format: self.input_format,
            date_format: self.date_format.clone(),
            quiet: self.quiet,
        }
    }
}

/// Where results go.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Write to this file (format from the extension: .csv, .jsonl, .parquet) instead of
    /// stdout.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<String>,
    /// The output's layout, whatever the extension.
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
}

impl OutputArgs {
    /// The destination.
    pub fn destination(&self) -> Destination {
        Destination { path: self.output.clone(), format: self.format }
    }
}

/// The CLV horizon and model.
#[derive(Debug, Args)]
pub struct ClvArgs {
    /// The purchase model.
    #[arg(long, value_enum, default_value_t)]
    pub model: ModelArg,
    /// Months of value counted in CLV and expected purchases.
    #[arg(long, default_value_t = 12, value_parser = parse_horizon)]
    pub horizon_months: u32,
    /// Monthly discount rate of CLV.
    #[arg(long, default_value_t = 0.01, value_parser = parse_rate)]
    pub discount_rate: f64,
}

/// A `YYYY-MM-DD` day.
fn parse_day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| format!("`{s}` is not a YYYY-MM-DD date: {e}"))
}

/// A CLV horizon in months, checked by the library: a bad one is a usage error at once,
/// not model columns left empty after the whole log was read.
fn parse_horizon(s: &str) -> Result<u32, String> {
    let months: u32 =
        s.trim().parse().map_err(|e| format!("`{s}` is not a whole number of months: {e}"))?;
    loyalty::clv::Horizon::months(months).map_err(|e| e.to_string())?;
    Ok(months)
}

/// A monthly discount rate, checked by the library (finite, above -1).
fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.trim().parse().map_err(|e| format!("`{s}` is not a number: {e}"))?;
    loyalty::clv::ClvOptions::default()
        .with_monthly_discount_rate(rate)
        .map_err(|e| e.to_string())?;
    Ok(rate)
}
