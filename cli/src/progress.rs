//! A progress bar on stderr for long inputs, shown only when stderr is a terminal (and not
//! `--quiet`): redirected or piped runs stay silent.
//!
//! The decision ([`shows`]) and the drawing ([`Progress::to`]) are apart so that tests can
//! check each without a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Inputs below this size read in well under a second: no bar.
pub const MIN_BYTES: u64 = 32 << 20;

/// Progress through an input of known size, in bytes.
pub struct Progress {
    bar: Option<ProgressBar>,
}

/// Whether an input of `total` bytes gets a bar: not when `quiet`, not when stderr is not
/// a terminal, not for small inputs.
pub fn shows(total: u64, quiet: bool, stderr_is_terminal: bool) -> bool {
    !quiet && stderr_is_terminal && total >= MIN_BYTES
}

impl Progress {
    /// A bar over `total` bytes on stderr, or none when [`shows`] says so.
    pub fn new(total: u64, quiet: bool) -> Progress {
        if shows(total, quiet, std::io::stderr().is_terminal()) {
            Progress::to(total, ProgressDrawTarget::stderr())
        } else {
            Progress { bar: None }
        }
    }

    /// A bar over `total` bytes drawn on `target`.
    pub fn to(total: u64, target: ProgressDrawTarget) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), target);
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta} left)")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("reading");
        Progress { bar: Some(bar) }
    }

    /// `done` bytes read.
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use indicatif::{ProgressDrawTarget, TermLike};

    use super::*;

    #[test]
    fn a_bar_only_for_a_long_input_on_a_terminal_without_quiet() {
        assert!(shows(MIN_BYTES, false, true));
        assert!(shows(u64::MAX, false, true));
        assert!(!shows(MIN_BYTES - 1, false, true));
        assert!(!shows(MIN_BYTES, true, true));
        assert!(!shows(MIN_BYTES, false, false));
        assert!(!shows(0, false, false));
    }

    #[test]
    fn small_or_redirected_inputs_draw_nothing() {
        // Under `cargo test` stderr is captured or a pipe, as in a redirected run; a small
        // input never gets a bar either way.
        assert!(Progress::new(MIN_BYTES - 1, false).bar.is_none());
        assert!(Progress::new(MIN_BYTES, true).bar.is_none());
    }

    /// A terminal that keeps what is written to it.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<Vec<String>>>);

    impl Screen {
        fn push(&self, s: &str) -> io::Result<()> {
            self.0.lock().map_err(|_| io::Error::other("poisoned"))?.push(s.to_string());
            Ok(())
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.push(s)
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.push(s)
        }
        fn clear_line(&self) -> io::Result<()> {
            self.push("<clear>")
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_bar_draws_bytes_read_and_clears_at_the_end() {
        let screen = Screen::default();
        let p = Progress::to(4 << 20, ProgressDrawTarget::term_like(Box::new(screen.clone())));
        // indicatif draws a position change at most about once a millisecond.
        std::thread::sleep(std::time::Duration::from_millis(50));
        p.set(1 << 20);
        drop(p);
        let written = screen.0.lock().unwrap().clone();
        let bar = written.iter().rfind(|s| s.starts_with("reading")).expect("a bar was drawn");
        assert!(bar.contains("1.00 MiB/4.00 MiB"), "{bar}");
        // 40 cells, a quarter done: 10 filled, then the head ">".
        assert!(bar.contains("[==========> "), "{bar}");
        assert_eq!(written.last().map(String::as_str), Some("<clear>"), "{written:?}");
    }
}
