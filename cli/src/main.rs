//! The `loyalty` command: the `loyalty` library's summaries, scores, model fits and a
//! seller's report on transaction files (CSV, Parquet, Arrow IPC, JSON lines, CDNOW text).
//!
//! Everything that touches files and terminals lives here; the numbers come from the pure
//! library. Errors are one line on stderr (`file:line: column: value: reason`), exit status
//! 1 (2 for usage errors), and nothing is left at an output path on failure.

#![forbid(unsafe_code)]

mod analysis;
mod cli;
mod commands;
mod error;
mod ids;
mod input;
mod output;
mod progress;
mod report;
mod sql;
mod validation;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Summary { input, output } => commands::summary(input, output),
        Command::Fit { model, summary_input, input } => {
            commands::fit(*model, *summary_input, input)
        }
        Command::Score { summary_input: false, input, clv, output } => {
            commands::score(input, clv, output)
        }
        Command::Score { summary_input: true, input, clv, output } => {
            commands::score_summary(input, clv, output)
        }
        Command::Validate { calibration_end, model, input } => {
            validation::command(*calibration_end, *model, input)
        }
        Command::Report { html, calibration_end, margin, cac, input, clv } => {
            report::command(&report::ReportArgs {
                html: html.clone(),
                calibration_end: *calibration_end,
                margin: *margin,
                cac: *cac,
                input,
                clv,
            })
        }
        Command::Sql(args) => sql::command(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout went away (`| head`): stop quietly, as other Unix tools do.
        Err(e) if e.reason() == output::BROKEN_PIPE => ExitCode::SUCCESS,
        // Built without the feature `sql`: a usage error.
        Err(e) if e.reason() == sql::NOT_BUILT => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
