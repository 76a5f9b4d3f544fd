//! Integration tests for `loyalty::rfm`.
