//! Integration tests for `loyalty::care`.
