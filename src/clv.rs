//! The `clv` module (work in progress).
