//! Integration tests for `loyalty::sla`.
