//! Criterion benchmarks for `loyalty::clv`.

fn main() {}
