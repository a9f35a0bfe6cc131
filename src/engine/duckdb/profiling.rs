//! Exact scan counters from DuckDB's own profiler.
//!
//! With profiling on, DuckDB records per operator how many rows its table scans read after
//! zone-map pruning, and which columns each scan reads (its projections and filters). Only
//! scans of the *source* tables count: a MERGE also scans the target, but that is write cost,
//! not the price of reading the source.
//!
//! Bytes scanned are the profiler's rows scanned times the width of the columns the scan read.
//! Every source column is fixed-width, so this is the exact uncompressed size of the column
//! data the scan touched — the quantity a per-TB-scanned price is charged on — and it repeats
//! run to run. (DuckDB counts rows, not bytes, for in-memory scans.)

use std::collections::BTreeMap;

use duckdb::profiling::ProfilingInfo;

/// Tables whose scans count as reading the source.
pub const SOURCE_TABLES: [&str; 2] = ["source", "change_log"];

/// Byte width of every column of the source tables, read from the catalog at startup.
#[derive(Debug, Clone, Default)]
pub struct ColumnWidths {
    /// table → column → bytes per value.
    pub widths: BTreeMap<String, BTreeMap<String, u64>>,
}

impl ColumnWidths {
    /// Bytes per value of a fixed-width DuckDB type; `None` for variable-width types.
    pub fn type_width(data_type: &str) -> Option<u64> {
        Some(match data_type {
            "BOOLEAN" | "TINYINT" | "UTINYINT" => 1,
            "SMALLINT" | "USMALLINT" => 2,
            "INTEGER" | "UINTEGER" | "FLOAT" | "DATE" => 4,
            "BIGINT" | "UBIGINT" | "DOUBLE" | "TIMESTAMP" | "TIMESTAMP WITH TIME ZONE" => 8,
            "HUGEINT" | "UHUGEINT" | "UUID" | "INTERVAL" => 16,
            _ => return None,
        })
    }

    /// The bytes per row a scan of `table` reads: the widths of the columns named in its
    /// projections and filters.
    fn row_width(&self, table: &str, extra_info: &str) -> u64 {
        let Some(columns) = self.widths.get(table) else {
            return 0;
        };
        columns
            .iter()
            .filter(|(name, _)| names_column(extra_info, name))
            .map(|(_, w)| w)
            .sum()
    }
}

/// Whether `name` appears in a scan's extra info as a whole identifier.
fn names_column(extra_info: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    extra_info.match_indices(name).any(|(at, _)| {
        let before = extra_info[..at].chars().next_back();
        let after = extra_info[at + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// What the last profiled statement read from the source tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceScan {
    pub rows: u64,
    pub bytes: u64,
}

impl std::ops::Add for SourceScan {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        SourceScan {
            rows: self.rows + other.rows,
            bytes: self.bytes + other.bytes,
        }
    }
}

/// Rows and bytes scanned from the source tables by the last profiled statement.
pub fn source_scan(info: &ProfilingInfo, widths: &ColumnWidths) -> SourceScan {
    let mut total = SourceScan::default();
    visit(info, &mut |node| {
        if let Some(table) = scanned_table(node) {
            if SOURCE_TABLES.contains(&table.as_str()) {
                let rows = metric_u64(node, "OPERATOR_ROWS_SCANNED")
                    .or_else(|| metric_u64(node, "rows_scanned"))
                    .unwrap_or(0);
                let extra = metric(node, "EXTRA_INFO").unwrap_or("");
                total.rows += rows;
                total.bytes += rows * widths.row_width(&table, projections_and_filters(extra));
            }
        }
    });
    total
}

/// The CPU time of the last profiled statement, in seconds (0 when the profiler has none).
pub fn cpu_time_s(info: &ProfilingInfo) -> f64 {
    let mut cpu = 0.0;
    visit(info, &mut |node| {
        if let Some(v) = metric(node, "CPU_TIME").and_then(|v| v.trim().parse::<f64>().ok()) {
            cpu += v;
        }
    });
    cpu
}

/// The part of a scan's extra info after the table name: projections and filters (the table's
/// own name must not count as a column that happens to share it).
fn projections_and_filters(extra: &str) -> &str {
    extra.find("Type=").map_or(extra, |at| &extra[at..])
}

fn visit(node: &ProfilingInfo, f: &mut impl FnMut(&ProfilingInfo)) {
    f(node);
    for child in &node.children {
        visit(child, f);
    }
}

fn metric<'a>(node: &'a ProfilingInfo, key: &str) -> Option<&'a str> {
    node.metrics
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

fn metric_u64(node: &ProfilingInfo, key: &str) -> Option<u64> {
    metric(node, key).and_then(|v| v.trim().parse().ok())
}

/// The table a scan operator reads, from its extra info
/// (`{Table='memory.main."source"', Type=Sequential Scan, ...}`): the last dotted component
/// of the `Table` entry, unquoted.
fn scanned_table(node: &ProfilingInfo) -> Option<String> {
    let extra = metric(node, "EXTRA_INFO")?;
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

    fn widths() -> ColumnWidths {
        let mut w = ColumnWidths::default();
        let source = w.widths.entry("source".into()).or_default();
        source.insert("id".into(), 8);
        source.insert("lsn".into(), 8);
        source.insert("updated_at".into(), 8);
        source.insert("is_deleted".into(), 1);
        let log = w.widths.entry("change_log".into()).or_default();
        log.insert("lsn".into(), 8);
        log.insert("op".into(), 1);
        w
    }

    #[test]
    fn bytes_are_rows_times_the_columns_projected_or_filtered() {
        let root = scan(
            "{Table='memory.main.\"source\"', Type=Sequential Scan, Projections=id\nlsn, Filters='(updated_at > 15)'}",
            "100",
        );
        assert_eq!(
            source_scan(&root, &widths()),
            SourceScan {
                rows: 100,
                bytes: 100 * 24
            }
        );
    }

    #[test]
    fn a_column_name_inside_another_name_is_not_counted() {
        // `lsn` must not match inside `lsn_x`, nor `op` inside `Type=Sequential Scan`'s words.
        let root = scan(
            "{Table='memory.main.change_log', Type=Sequential Scan, Projections=lsn_x}",
            "10",
        );
        assert_eq!(source_scan(&root, &widths()).bytes, 0);
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
        assert_eq!(source_scan(&root, &widths()).rows, 17000);
    }
}
