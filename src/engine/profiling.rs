//! Exact scan counters from DuckDB's own profiler.
//!
//! With profiling on, DuckDB records per operator how many rows its table scans read after
//! zone-map pruning. Only scans of the *source* tables count as "rows scanned": a MERGE also
//! scans the target, but that is write cost, not the price of reading the source.

use duckdb::profiling::ProfilingInfo;

/// Tables whose scans count as reading the source.
pub const SOURCE_TABLES: [&str; 2] = ["source", "change_log"];

/// Rows scanned from the source tables by the last profiled statement.
pub fn source_rows_scanned(info: &ProfilingInfo) -> u64 {
    let mut total = 0;
    visit(info, &mut |node| {
        if let Some(table) = scanned_table(node) {
            if SOURCE_TABLES.contains(&table.as_str()) {
                total += metric_u64(node, "OPERATOR_ROWS_SCANNED")
                    .or_else(|| metric_u64(node, "rows_scanned"))
                    .unwrap_or(0);
            }
        }
    });
    total
}

fn visit(node: &ProfilingInfo, f: &mut impl FnMut(&ProfilingInfo)) {
    f(node);
    for child in &node.children {
        visit(child, f);
    }
}

fn metric_u64(node: &ProfilingInfo, key: &str) -> Option<u64> {
    node.metrics
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| v.trim().parse().ok())
}

/// The table a scan operator reads, from its extra info
/// (`{Table='memory.main."source"', Type=Sequential Scan, ...}`): the last dotted component
/// of the `Table` entry, unquoted.
fn scanned_table(node: &ProfilingInfo) -> Option<String> {
    let extra = node
        .metrics
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("EXTRA_INFO"))
        .map(|(_, v)| v.as_str())?;
    let start = extra.find("Table")? + "Table".len();
    let rest = extra[start..].trim_start_matches(['=', ':', ' ', '\'', '"']);
    let end = rest.find([',', '}', '\n']).unwrap_or(rest.len());
    let qualified = rest[..end].trim().trim_matches(|c| c == '\'' || c == '"');
    let name = qualified.rsplit('.').next()?.trim_matches('"');
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn scan(extra: &str, rows: &str) -> ProfilingInfo {
        ProfilingInfo {
            metrics: HashMap::from([
                ("extra_info".to_string(), extra.to_string()),
                ("rows_scanned".to_string(), rows.to_string()),
            ]),
            children: vec![],
        }
    }

    #[test]
    fn counts_only_scans_of_source_tables() {
        let root = ProfilingInfo {
            metrics: HashMap::new(),
            children: vec![
                scan(
                    "{Table='memory.main.\"source\"', Type=Sequential Scan}",
                    "16960",
                ),
                scan("{Table='memory.t1.mirror', Type=Sequential Scan}", "1000"),
                scan(
                    "{Table='memory.main.change_log', Type=Sequential Scan}",
                    "40",
                ),
            ],
        };
        assert_eq!(source_rows_scanned(&root), 17000);
    }
}
