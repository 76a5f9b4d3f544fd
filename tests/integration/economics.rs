//! Integration tests for `loyalty::economics`.
