//! The `tiers` module (work in progress).
