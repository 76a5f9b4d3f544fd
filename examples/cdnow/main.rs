//! The main job: a retention report on the bundled CDNOW master log.
//!
//! `cargo run --release --example cdnow [PATH]` (default: `examples/data/CDNOW_master.txt`).

mod data;
mod rfm;

use std::process::ExitCode;

fn main() -> ExitCode {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/CDNOW_master.txt").to_string()
    });
    let log = match data::load(&path) {
        Ok(log) => log,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("CDNOW: {} purchases", log.len());
    rfm::report(&log);
    ExitCode::SUCCESS
}
