//! The main job: a retention report on the bundled CDNOW master log.
//!
//! `cargo run --release --example cdnow [PATH]` (default: `examples/data/CDNOW_master.txt`).
//!
//! The report opens with the retention basics and acquisition economics, then adds one
//! section per capability of the crate.

mod care;
mod clv;
mod data;
mod points;
mod retention;
mod rfm;
mod tiers;

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let started = Instant::now();
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/CDNOW_master.txt").to_string()
    });
    let log = match data::load(&path) {
        Ok(log) if !log.is_empty() => log,
        Ok(_) => {
            eprintln!("error: {path}: no purchases");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = retention::report(&path, &log) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    println!();
    rfm::report(&log);
    println!();
    clv::report(&log);
    println!();
    points::report(&log);
    println!();
    tiers::report(&log);
    println!();
    care::report(&log);
    println!();
    println!("(report computed in {:.3} s)", started.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}
