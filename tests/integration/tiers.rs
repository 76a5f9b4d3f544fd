//! Integration tests for `loyalty::tiers`.
