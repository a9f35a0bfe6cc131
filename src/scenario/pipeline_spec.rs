//! `[[pipeline]]` entries: a team's own pipeline, run as an outside command against the
//! simulated source and judged by the same oracle as the built-in strategies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Micros;

/// How the pipeline sees the source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineSource {
    /// A DuckDB database file holding `orders` and `orders_changes`, checkpointed and closed
    /// before every run (`INCRLAB_SOURCE` is its path).
    #[default]
    DuckdbFile,
    /// The same file, and the landing directory of Parquet files (`INCRLAB_LANDING_DIR`).
    LandingDir,
}

impl PipelineSource {
    pub fn name(self) -> &'static str {
        match self {
            PipelineSource::DuckdbFile => "duckdb_file",
            PipelineSource::LandingDir => "landing_dir",
        }
    }
}

/// Where the pipeline writes: a table in a DuckDB file, relative to its work directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineTarget {
    /// The DuckDB file, relative to the pipeline's work directory.
    pub duckdb: String,
    /// The table, optionally schema-qualified (`orders_dataset.orders`, as dlt writes it).
    pub table: String,
}

/// One `[[pipeline]]` entry as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// Its name in the verdict table, results, `[[expect]]` and `explain --strategy`.
    pub label: String,
    /// The program and its arguments (no shell), with placeholders: `{scenario_dir}` (the
    /// scenario file's directory), `{work_dir}` (the pipeline's own working directory),
    /// `{python}` (`$INCRLAB_PYTHON`, else `python3`) and `{python_bin}` (the directory that
    /// interpreter is in, where a virtualenv keeps `dbt`).
    pub command: Vec<String>,
    /// Per attempt: past it the process group is killed and the attempt fails.
    #[serde(default = "PipelineSpec::default_timeout")]
    pub timeout: Micros,
    #[serde(default)]
    pub source: PipelineSource,
    pub target: PipelineTarget,
    /// The label of a built-in strategy in the same scenario this pipeline claims to behave
    /// like: results say whether their permanent wrong keys are the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Extra environment variables for the command (placeholders as in `command`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

/// The environment variable that names the Python interpreter `{python}` stands for.
pub const PYTHON_ENV: &str = "INCRLAB_PYTHON";

impl PipelineSpec {
    fn default_timeout() -> Micros {
        Micros(60_000_000)
    }

    /// The command with its placeholders filled in, for a scenario file in `scenario_dir` and
    /// a pipeline working in `work_dir` (left as written when not known yet).
    pub fn argv(&self, scenario_dir: &Path, work_dir: Option<&Path>) -> Vec<String> {
        let fill = Placeholders::new(scenario_dir, work_dir);
        self.command.iter().map(|part| fill.apply(part)).collect()
    }

    /// The extra environment, placeholders filled in.
    pub fn env_filled(
        &self,
        scenario_dir: &Path,
        work_dir: Option<&Path>,
    ) -> Vec<(String, String)> {
        let fill = Placeholders::new(scenario_dir, work_dir);
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), fill.apply(v)))
            .collect()
    }
}

/// The values of a pipeline's placeholders.
struct Placeholders {
    scenario_dir: String,
    work_dir: Option<String>,
    python: String,
    python_bin: String,
}

impl Placeholders {
    fn new(scenario_dir: &Path, work_dir: Option<&Path>) -> Self {
        let python = std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".to_string());
        let dir = if scenario_dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            scenario_dir
        };
        // Absolute, because the command runs in the pipeline's own work directory.
        let absolute = |p: &Path| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.to_path_buf())
                .to_string_lossy()
                .into_owned()
        };
        let cwd = std::env::current_dir().unwrap_or_default();
        let python_bin = resolve_program(&python, &cwd)
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .map_or_else(String::new, |p| absolute(&p));
        Placeholders {
            scenario_dir: absolute(dir),
            work_dir: work_dir.map(absolute),
            python,
            python_bin,
        }
    }

    fn apply(&self, text: &str) -> String {
        let mut out = text
            .replace("{scenario_dir}", &self.scenario_dir)
            .replace("{python_bin}", &self.python_bin)
            .replace("{python}", &self.python);
        if let Some(work) = &self.work_dir {
            out = out.replace("{work_dir}", work);
        }
        out
    }
}

/// Where `program` would be found: a path with a separator as it is (relative to `cwd`),
/// else the first match on `PATH`.
pub fn resolve_program(program: &str, cwd: &Path) -> Option<PathBuf> {
    if program.contains('/') {
        let path = cwd.join(program);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
