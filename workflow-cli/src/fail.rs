//! [`Fail`]: why a command failed, as one line and an exit code.

use std::fmt;
use std::process::ExitCode;

use workflow_runtime::Error;

/// Why a command failed: one line for people, and the exit code for scripts.
#[derive(Debug)]
pub(crate) struct Fail {
    code: u8,
    message: String,
}

impl Fail {
    /// The store failed, or a stored record does not read back.
    pub(crate) const FAILED: u8 = 1;
    /// Bad arguments: a bad id, store address or option (clap exits with 2 too).
    pub(crate) const USAGE: u8 = 2;
    /// No such run or checkpoint.
    pub(crate) const NOT_FOUND: u8 = 3;
    /// Refused: the run does not wait at that pause, has ended, or receives no such signal.
    pub(crate) const REFUSED: u8 = 4;

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Fail {
            code: Self::USAGE,
            message: message.into(),
        }
    }

    pub(crate) fn refused(message: impl Into<String>) -> Self {
        Fail {
            code: Self::REFUSED,
            message: message.into(),
        }
    }

    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Fail {
            code: Self::FAILED,
            message: message.into(),
        }
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }

    /// The kind of failure: [`FAILED`](Self::FAILED), [`USAGE`](Self::USAGE),
    /// [`NOT_FOUND`](Self::NOT_FOUND) or [`REFUSED`](Self::REFUSED).
    pub(crate) fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for Fail {
    fn from(error: Error) -> Self {
        let code = match error {
            Error::RunNotFound { .. } | Error::CheckpointNotFound { .. } => Self::NOT_FOUND,
            Error::RunNotSuspended { .. }
            | Error::AlreadyAnswered { .. }
            | Error::ChildRun { .. } => Self::REFUSED,
            _ => Self::FAILED,
        };
        Fail {
            code,
            message: one_line(&error),
        }
    }
}

/// `error` and its causes on one line.
pub(crate) fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
