//! Criterion benchmarks for `loyalty::sla`.

fn main() {}
