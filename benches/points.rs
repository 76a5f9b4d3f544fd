//! Criterion benchmarks for `loyalty::points`.

fn main() {}
