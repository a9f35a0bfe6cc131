//! The architecture's invariants (ARCHITECTURE.md), checked on the source text itself: DuckDB
//! stays inside `src/engine/`, and the top-level modules depend on each other without cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

/// The top-level module a file under `src/` belongs to (`None` for the crate roots).
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(root().join("src")).unwrap();
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .to_string();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// Top-level modules of the crate named in `text` as `crate::name`, or inside a
/// `use crate::{a, b::c}` group.
fn crate_references(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = word(item.trim());
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name = word(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn no_duckdb_name_outside_the_engine_module() {
    let mut files = Vec::new();
    for dir in ["src", "benches", "tests"] {
        rust_files(&root().join(dir), &mut files);
    }
    let engine = root().join("src").join("engine");
    let this = root().join("tests").join("architecture.rs");
    let mut offenders = Vec::new();
    for file in files
        .iter()
        .filter(|f| !f.starts_with(&engine) && **f != this)
    {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if ["duckdb::", "use duckdb", "DuckDb"]
                .iter()
                .any(|needle| line.contains(needle))
            {
                offenders.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "DuckDB outside src/engine/:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn top_level_modules_have_no_import_cycle() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let deps = graph.entry(module.clone()).or_default();
        deps.extend(crate_references(&text).into_iter().filter(|m| *m != module));
    }
    // Depth-first search; a back edge is a cycle, reported as its path.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for dep in graph.get(node).into_iter().flatten() {
            if graph.contains_key(dep) {
                if let Some(cycle) = visit(dep, graph, path, done) {
                    return Some(cycle);
                }
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
    // The map must find the edges it claims to check.
    assert!(graph["runner"].contains("engine") && graph["verify"].contains("sim"));
}

#[test]
fn the_reference_finder_sees_grouped_and_plain_paths() {
    let refs = crate_references(
        "use crate::{sim::History, engine};\nlet x = crate::verify::Oracle::new();",
    );
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        vec!["engine", "sim", "verify"]
    );
}
