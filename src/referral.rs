//! The `referral` module (work in progress).
