//! Writes the golden files: `cargo run --example generate -- DIR VERSION_SUFFIX` with this
//! file, `samples.rs` and `samples_stored.rs` copied into `examples/` (see README.md).

include!("samples.rs");
include!("samples_stored.rs");

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, suffix) = (&args[1], &args[2]);
    for (name, json) in golden_samples().into_iter().chain(stored_samples()) {
        std::fs::write(format!("{dir}/{name}.{suffix}.json"), json + "\n").unwrap();
    }
}
