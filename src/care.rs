//! The `care` module (work in progress).
