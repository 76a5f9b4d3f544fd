//! Integration tests for `loyalty::points`.
