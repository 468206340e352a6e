//! Exit statuses, and [`Fail`]: why a command stopped, with the status to exit with and
//! the message for stderr, made from the library's and I/O errors.

use std::io;

use dirkv::ErrorKind;

/// Exit status: the key was not found.
pub(crate) const MISSING: u8 = 1;
/// Exit status: bad arguments, or a key, value or import line that does not fit the store.
pub(crate) const USAGE: u8 = 2;
/// Exit status: `verify` found problems (with `--repair`: problems it could not repair).
pub(crate) const PROBLEMS: u8 = 3;
/// Exit status: any other error (I/O, not a store, a damaged entry, …).
pub(crate) const ERROR: u8 = 4;

/// Why a command stopped: an exit status and what to say on stderr.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) code: u8,
    pub(crate) message: Option<String>,
}

impl Fail {
    pub(crate) fn missing(message: String) -> Fail {
        Fail {
            code: MISSING,
            message: Some(message),
        }
    }

    pub(crate) fn usage(message: String) -> Fail {
        Fail {
            code: USAGE,
            message: Some(message),
        }
    }

    pub(crate) fn error(message: String) -> Fail {
        Fail {
            code: ERROR,
            message: Some(message),
        }
    }

    /// Exit with `code`; whatever there was to say was said.
    pub(crate) fn quiet(code: u8) -> Fail {
        Fail {
            code,
            message: None,
        }
    }

    pub(crate) fn problems() -> Fail {
        Fail::quiet(PROBLEMS)
    }
}

/// An error and its causes on one line.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl From<dirkv::Error> for Fail {
    fn from(err: dirkv::Error) -> Fail {
        let text = chain(&err);
        if err.kind() == ErrorKind::InvalidInput {
            Fail::usage(text)
        } else {
            Fail::error(text)
        }
    }
}

impl From<io::Error> for Fail {
    /// For writes to standard output: a closed pipe ends the command quietly.
    fn from(err: io::Error) -> Fail {
        if err.kind() == io::ErrorKind::BrokenPipe {
            Fail::quiet(0)
        } else {
            Fail::error(format!("cannot write the output: {err}"))
        }
    }
}

pub(crate) type CmdResult = Result<(), Fail>;
