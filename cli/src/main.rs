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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version: clap prints them and exits 0.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            output::note(format_args!("{}", usage_line(&e.render().to_string())));
            return ExitCode::from(2);
        }
    };
    let result = match &cli.command {
        Command::Summary { input, output } => commands::summary(input, output),
        Command::Fit { model, summary_input, repeat, input } => {
            commands::fit(*model, *summary_input, *repeat, input)
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
        Command::Report {
            html,
            calibration_end,
            margin,
            cac,
            points_program,
            breakage,
            tiers,
            input,
            clv,
        } => report::command(&report::ReportArgs {
            html: html.clone(),
            calibration_end: *calibration_end,
            margin: *margin,
            cac: *cac,
            points_program: points_program.clone(),
            breakage: *breakage,
            tiers: tiers.clone(),
            input,
            clv,
        }),
        Command::Sql(args) => sql::command(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Built without the feature `sql`: a usage error.
        Err(e) if e.reason() == sql::NOT_BUILT => {
            output::note(format_args!("{e}"));
            ExitCode::from(2)
        }
        Err(e) => {
            output::note(format_args!("{e}"));
            ExitCode::FAILURE
        }
    }
}

/// clap's usage error as one line: its message and tip without the usage block, and where
/// to read more.
fn usage_line(rendered: &str) -> String {
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:"))
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect();
    let message = message.join(" ");
    format!("{}: see --help", message.strip_prefix("error: ").unwrap_or(&message))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_usage_error_is_one_line() {
        let rendered = "error: the following required arguments were not provided:\n  --calibration-end <CALIBRATION_END>\n\nUsage: loyalty validate --calibration-end <CALIBRATION_END> <INPUT>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            super::usage_line(rendered),
            "the following required arguments were not provided: --calibration-end <CALIBRATION_END>: see --help"
        );
    }
}
