//! A progress bar on stderr for long inputs, shown only when stderr is a terminal (and not
//! `--quiet`): redirected or piped runs stay silent.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Inputs below this size read in well under a second: no bar.
const MIN_BYTES: u64 = 32 << 20;

/// Progress through an input of known size, in bytes.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `total` bytes, or none when `quiet`, stderr is not a terminal or the input
    /// is small.
    pub fn new(total: u64, quiet: bool) -> Progress {
        let show = !quiet && total >= MIN_BYTES && std::io::stderr().is_terminal();
        let bar = show.then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) =
                ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta} left)")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message("reading");
            bar
        });
        Progress { bar }
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
