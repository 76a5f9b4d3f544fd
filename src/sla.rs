//! The `sla` module (work in progress).
