//! The `economics` module (work in progress).
