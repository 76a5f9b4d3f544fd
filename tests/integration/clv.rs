//! Integration tests for `loyalty::clv`.
