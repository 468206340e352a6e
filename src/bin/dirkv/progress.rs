//! The progress bar on stderr of the commands that walk a whole store or read a long
//! input.

use std::io::{self, IsTerminal};
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::shard_of;

/// A progress bar on stderr, drawn only when stderr is a terminal (and, for commands
/// whose output is on stdout, when stdout is not: the output is the progress then).
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// Progress over the 256 shard folders.
    pub(crate) fn shards(what: &'static str, output_on_stdout: bool) -> Progress {
        Self::new(
            what,
            Some(256),
            Self::target(output_on_stdout),
            "{msg} [{bar:40}] {pos}/{len} shards, {elapsed}",
        )
    }

    /// Progress over `len` bytes of input, or a counter when the length is unknown.
    pub(crate) fn bytes(what: &'static str, len: Option<u64>) -> Progress {
        let template = if len.is_some() {
            "{msg} [{bar:40}] {bytes}/{total_bytes}, {elapsed}"
        } else {
            "{msg} {spinner} {bytes}, {elapsed}"
        };
        Self::new(what, len, Self::target(false), template)
    }

    fn new(
        what: &'static str,
        len: Option<u64>,
        target: ProgressDrawTarget,
        template: &str,
    ) -> Progress {
        let bar = ProgressBar::with_draw_target(len, target);
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(what);
        Progress { bar }
    }

    fn target(output_on_stdout: bool) -> ProgressDrawTarget {
        let shown = io::stderr().is_terminal() && !(output_on_stdout && io::stdout().is_terminal());
        if shown {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    /// Moves the bar to the shard of the item at `path` (`<store>/<shard>/<name>`).
    pub(crate) fn at(&self, path: &Path) {
        if let Some(shard) = shard_of(path) {
            self.bar.set_position(u64::from(shard));
        }
    }

    pub(crate) fn add(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Runs `f` (which prints) with the bar cleared.
    pub(crate) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
