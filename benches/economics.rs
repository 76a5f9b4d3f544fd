//! Criterion benchmarks for `loyalty::economics`.

fn main() {}
