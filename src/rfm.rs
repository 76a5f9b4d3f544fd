//! The `rfm` module (work in progress).
