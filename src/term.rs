//! Terminal behaviour shared by all commands: colour only on a terminal and without
//! `NO_COLOR`, progress bars only on a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// An output stream of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Whether `stream` is a terminal.
pub fn is_terminal(stream: Stream) -> bool {
    match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    }
}

/// Whether `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether to colour output written to `stream`.
pub fn color_enabled(stream: Stream) -> bool {
    is_terminal(stream) && !no_color_requested()
}

/// Colours text for one stream, or leaves it plain when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Painter {
    enabled: bool,
}

impl Painter {
    /// A painter for `stream`, enabled when [`color_enabled`] says so.
    pub fn for_stream(stream: Stream) -> Self {
        Painter {
            enabled: color_enabled(stream),
        }
    }

    /// A painter that never colours.
    pub fn plain() -> Self {
        Painter { enabled: false }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Green: success.
    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Yellow: warning.
    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Red: failure.
    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Bold: headings.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Dim: secondary detail.
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// A progress bar of `len` steps on stderr, drawn only on a terminal and when not `quiet`.
pub fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || !is_terminal(Stream::Stderr) {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar
}
