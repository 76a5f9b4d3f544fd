//! The `points` module (work in progress).
