//! The one error type of incrlab. Every variant carries the context a user needs to act on it
//! (which file, which key, which run), so callers never have to wrap errors in strings.

use std::path::PathBuf;

/// Exit code for input the user can fix (bad scenario file, bad flag value).
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code for everything else that stops a run.
pub const EXIT_FAILURE: i32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario file that cannot be used. `key` is the dotted path inside the file
    /// (`strategy[2].lag`), `line` is 1-based where it could be located.
    #[error("{}", scenario_message(.file, .key.as_deref(), *.line, .message))]
    Scenario {
        file: PathBuf,
        key: Option<String>,
        line: Option<usize>,
        message: String,
    },

    /// A command-line value that cannot be used.
    #[error("invalid argument {flag}: {message}")]
    Argument { flag: String, message: String },

    /// An engine refused a statement; `context` says what incrlab was doing, `message` is the
    /// engine's own.
    #[error("{engine} failed while {context}: {message}")]
    Engine {
        engine: &'static str,
        context: String,
        message: String,
    },

    #[error("polars failed while {context}: {source}")]
    Polars {
        context: String,
        #[source]
        source: polars::error::PolarsError,
    },

    #[error("{context}: {path}: {source}")]
    Io {
        context: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{context}: {path}: {source}")]
    Json {
        context: String,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// `incrlab check` ran, and some expectations do not hold (exit code 1).
    #[error("{failed} of {total} expectations failed")]
    ExpectationsFailed { failed: usize, total: usize },

    /// `--check-determinism`: two runs with the same seed disagreed.
    #[error("not deterministic: {difference}")]
    NotDeterministic { difference: String },

    /// A scenario run on two sources (`--compare-sources`) gave different runs: the simulator
    /// does not predict the real source for these strategies.
    #[error("the sources disagree on {}: see the comparison above", strategies.join(", "))]
    SourcesDisagree { strategies: Vec<String> },

    /// Two engines run in lockstep gave different answers to the same call: a bug in one of
    /// them. The runner fills in the run and the strategy.
    #[error("engines disagree{}: {detail}", where_disagreed(*.run, .strategy.as_deref()))]
    EnginesDisagree {
        run: Option<u32>,
        strategy: Option<String>,
        detail: String,
    },

    /// plotters could not draw a chart.
    #[error("cannot draw the {chart} chart: {message}")]
    Chart { chart: String, message: String },

    /// A PostgreSQL source could not be provided: no binaries, a server that did not come up,
    /// a connection refused. The message names what was tried.
    #[error("PostgreSQL: {0}")]
    Postgres(String),

    /// An internal invariant failed: a bug in incrlab, never the user's input.
    #[error("internal invariant violated: {0}")]
    Invariant(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The process exit code this error should end the program with.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Scenario { .. } | Error::Argument { .. } => EXIT_BAD_INPUT,
            _ => EXIT_FAILURE,
        }
    }

    /// An engines' disagreement, placed at `run` of `strategy`; any other error unchanged.
    pub fn at_run(self, at: u32, label: &str) -> Self {
        match self {
            Error::EnginesDisagree {
                run: None,
                strategy: None,
                detail,
            } => Error::EnginesDisagree {
                run: Some(at),
                strategy: Some(label.to_string()),
                detail,
            },
            other => other,
        }
    }

    pub fn io(
        context: impl Into<String>,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            context: context.into(),
            path: path.into(),
            source,
        }
    }
}

fn where_disagreed(run: Option<u32>, strategy: Option<&str>) -> String {
    match (run, strategy) {
        (Some(run), Some(strategy)) => format!(" at run {run} of `{strategy}`"),
        _ => String::new(),
    }
}

fn scenario_message(
    file: &std::path::Path,
    key: Option<&str>,
    line: Option<usize>,
    message: &str,
) -> String {
    let mut out = format!("scenario file `{}`", file.display());
    if let Some(key) = key {
        out.push_str(&format!(", key `{key}`"));
    }
    if let Some(line) = line {
        out.push_str(&format!(" (line {line})"));
    }
    out.push_str(": ");
    out.push_str(message);
    out
}

pub trait PolarsContext<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> PolarsContext<T> for std::result::Result<T, polars::error::PolarsError> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Polars {
            context: what(),
            source,
        })
    }
}
