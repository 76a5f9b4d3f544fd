//! Hand-computed evaluation scenarios.
