//! How failures reach the user: one `Error: …` line on stderr per failure and
//! exit status 1. Daemon statuses show their message only, never debug output.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use tonic::{Code, Status};

/// Returned by a command that has already printed its own error lines (the
/// partial failures of `rm` and `inspect`); only the exit status is left to set.
#[derive(Debug)]
pub struct Reported;

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("one or more operations failed")
    }
}

impl std::error::Error for Reported {}

/// The failures of a command that carries on past them (`rm a b c`): each
/// is printed as it happens, and the command fails once all names are done.
#[derive(Debug, Default)]
pub struct Failures {
    any: bool,
}

impl Failures {
    /// Prints the error line of `status` and remembers that the command failed.
    pub fn print(&mut self, status: &Status) {
        print(&status_message(status));
        self.any = true;
    }

    /// The command's result: [`Reported`] after any failure, as its error
    /// line is already out.
    pub fn into_result(self) -> anyhow::Result<()> {
        if self.any {
            Err(Reported.into())
        } else {
            Ok(())
        }
    }
}

/// The user-facing text of a daemon status: cnmd writes the message for
/// humans, so the code name is left out.
pub fn status_message(status: &Status) -> String {
    if let Some(cause) = std::error::Error::source(status) {
        // Made by the client's transport, not by cnmd: the connection broke.
        return format!("the connection to cnmd failed: {}", root_cause(cause));
    }
    let message = status.message().trim();
    if !message.is_empty() {
        return message.to_string();
    }
    match status.code() {
        Code::Unimplemented => "this cnmd does not support the operation".to_string(),
        code => format!("cnmd failed: {}", code.description()),
    }
}

/// The innermost error: tonic and hyper wrap the useful text in generic
/// layers ("transport error", "connection error").
fn root_cause(cause: &(dyn std::error::Error + 'static)) -> String {
    let mut root = cause;
    while let Some(next) = root.source() {
        root = next;
    }
    root.to_string()
}

/// Converts a daemon status into the command's error.
pub fn from_status(status: Status) -> anyhow::Error {
    anyhow::Error::msg(status_message(&status))
}

/// Prints `Error: MESSAGE` on stderr.
pub fn print(message: &dyn fmt::Display) {
    // Nowhere left to report a failing stderr.
    let _ = writeln!(io::stderr().lock(), "Error: {message}");
}

/// Maps a command's result to the process exit status, printing the error.
pub fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    let Err(err) = result else {
        return ExitCode::SUCCESS;
    };
    if err.is::<Reported>() || is_broken_pipe(&err) {
        // Already said, or the reader went away (`cnm net ls | head -1`).
        return ExitCode::FAILURE;
    }
    print(&format_args!("{err:#}"));
    ExitCode::FAILURE
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_shows_the_daemon_message_only() {
        let status = Status::not_found("network `web` not found");
        assert_eq!(status_message(&status), "network `web` not found");
        assert_eq!(from_status(status).to_string(), "network `web` not found");
    }

    #[test]
    fn transport_failures_show_the_root_cause() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset");
        let status = Status::from_error(Box::new(reset));
        assert_eq!(
            status_message(&status),
            "the connection to cnmd failed: connection reset"
        );
    }

    #[test]
    fn empty_status_messages_still_say_something() {
        assert_eq!(
            status_message(&Status::unimplemented("")),
            "this cnmd does not support the operation"
        );
        assert_eq!(
            status_message(&Status::internal("")),
            "cnmd failed: Internal error"
        );
    }
}
