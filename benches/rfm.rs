//! Criterion benchmarks for `loyalty::rfm`.

fn main() {}
