//! What running a block gives: its outcome and the kinds of failure.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Categories of failure (the selftest checks these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailKind {
    /// The file or block is malformed, uses an unknown section, an unset variable...
    Spec,
    /// nginx did not start (config error without `--- must_die`).
    Startup,
    /// `--- must_die` expectation not met.
    MustDie,
    /// Connection failure or timeout.
    Request,
    /// Malformed, truncated or missing response.
    Response,
    /// Status code.
    Status,
    /// Response headers.
    Header,
    /// Response body.
    Body,
    /// `--- error_log` / `--- shutdown_error_log` pattern not found.
    ErrorLog,
    /// `--- no_error_log` / `--- no_shutdown_error_log` pattern found.
    NoErrorLog,
    /// `--- grep_error_log_out` mismatch.
    GrepErrorLog,
    /// `--- access_log` pattern not found.
    AccessLog,
    /// `--- no_access_log` pattern found.
    NoAccessLog,
    /// Unexpected `[alert]` or `[emerg]` in the error log.
    Alert,
    /// A worker exited on a signal, an assertion failed, or the master was killed.
    Crash,
    /// nginx did not stop cleanly.
    Shutdown,
    /// valgrind found a memory error or a leak of the module (`TEST_NGINX_USE_VALGRIND`).
    Valgrind,
}

impl FailKind {
    /// All kinds.
    pub const ALL: [FailKind; 17] = [
        FailKind::Spec,
        FailKind::Startup,
        FailKind::MustDie,
        FailKind::Request,
        FailKind::Response,
        FailKind::Status,
        FailKind::Header,
        FailKind::Body,
        FailKind::ErrorLog,
        FailKind::NoErrorLog,
        FailKind::GrepErrorLog,
        FailKind::AccessLog,
        FailKind::NoAccessLog,
        FailKind::Alert,
        FailKind::Crash,
        FailKind::Shutdown,
        FailKind::Valgrind,
    ];

    /// Short name, as used in reports and in selftest block names.
    pub fn name(self) -> &'static str {
        match self {
            FailKind::Spec => "spec",
            FailKind::Startup => "startup",
            FailKind::MustDie => "must_die",
            FailKind::Request => "request",
            FailKind::Response => "response",
            FailKind::Status => "status",
            FailKind::Header => "header",
            FailKind::Body => "body",
            FailKind::ErrorLog => "error_log",
            FailKind::NoErrorLog => "no_error_log",
            FailKind::GrepErrorLog => "grep_error_log",
            FailKind::AccessLog => "access_log",
            FailKind::NoAccessLog => "no_access_log",
            FailKind::Alert => "alert",
            FailKind::Crash => "crash",
            FailKind::Shutdown => "shutdown",
            FailKind::Valgrind => "valgrind",
        }
    }

    /// Parses a [`FailKind::name`].
    pub fn from_name(s: &str) -> Option<FailKind> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

impl fmt::Display for FailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One failed check.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: FailKind,
    pub message: String,
}

/// A block's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Skip(String),
}

/// The result of one block.
#[derive(Debug, Clone)]
pub struct BlockResult {
    /// File as displayed (relative to the workspace).
    pub file: String,
    /// Line of the `===` line.
    pub line: usize,
    /// Block name.
    pub name: String,
    pub outcome: Outcome,
    pub failures: Vec<Failure>,
    /// Non-fatal notes (e.g. `[crit]` lines, extra response bytes).
    pub warnings: Vec<String>,
    /// The kept prefix of a failed block.
    pub prefix: Option<PathBuf>,
    pub elapsed: Duration,
}

impl BlockResult {
    /// The distinct failure kinds, sorted.
    pub fn kinds(&self) -> Vec<FailKind> {
        let mut k: Vec<FailKind> = self.failures.iter().map(|f| f.kind).collect();
        k.sort();
        k.dedup();
        k
    }
}
