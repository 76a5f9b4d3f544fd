//! Writes the golden files: `cargo run --example generate -- DIR VERSION_SUFFIX` with this
//! file and `samples.rs` copied into `examples/` (see README.md).

include!("samples.rs");

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, suffix) = (&args[1], &args[2]);
    for (name, json) in golden_samples() {
        std::fs::write(format!("{dir}/{name}.{suffix}.json"), json + "\n").unwrap();
    }
}
