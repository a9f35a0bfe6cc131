//! The detection matrix as Markdown (`matrix.md`) and as a terminal table, from its cells, and
//! its files written.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, Table};

use crate::error::Result;
use crate::matrix::{Detection, MatrixCell, COLUMNS};

/// Rows in first-seen order, columns in battery order: the cells' own order, never a map's.
fn grid(cells: &[MatrixCell]) -> (Vec<&str>, Vec<&str>) {
    let mut rows: Vec<&str> = Vec::new();
    let mut columns: Vec<&str> = Vec::new();
    for c in cells {
        if !rows.contains(&c.label.as_str()) {
            rows.push(&c.label);
        }
        if !columns.contains(&c.change.as_str()) {
            columns.push(&c.change);
        }
    }
    (rows, columns)
}

fn find<'a>(cells: &'a [MatrixCell], label: &str, change: &str) -> Option<&'a MatrixCell> {
    cells
        .iter()
        .find(|c| c.label == label && c.change == change)
}

/// A cell as text: the verdict, with the measured fraction when it is partial.
fn cell_text(cell: Option<&MatrixCell>) -> String {
    match cell {
        None => "—".into(),
        Some(c) if c.verdict == Detection::Partial => {
            format!("partial ({:.0}%)", c.fraction * 100.0)
        }
        Some(c) => c.verdict.name().into(),
    }
}

pub fn matrix_markdown(cells: &[MatrixCell], seed: u64) -> String {
    let (rows, columns) = grid(cells);
    let mut md = String::from("# Detection matrix\n\n");
    md.push_str(&format!(
        "Measured by `incrlab matrix` (seed {seed}): each column is one scenario that isolates a kind of change, \
         each cell the fraction of the keys that change touched which the strategy's target reflects after the drain \
         (`yes` = all, `no` = none). The scenarios are in `battery/`; `incrlab run battery/<column>.toml` reproduces a column.\n\n"
    ));
    md.push_str(&format!("| strategy | {} |\n", columns.join(" | ")));
    md.push_str(&format!("|---|{}\n", "---|".repeat(columns.len())));
    for row in &rows {
        let texts: Vec<String> = columns
            .iter()
            .map(|col| cell_text(find(cells, row, col)))
            .collect();
        md.push_str(&format!("| {row} | {} |\n", texts.join(" | ")));
    }
    md.push_str("\n## Columns\n\n");
    for col in &columns {
        let about = COLUMNS
            .iter()
            .find(|c| c.change == *col)
            .map_or("", |c| c.about);
        let changed = cells
            .iter()
            .find(|c| c.change == *col)
            .map_or(0, |c| c.changed_keys);
        md.push_str(&format!("- `{col}`: {about} ({changed} keys changed).\n"));
    }
    let reconciling: Vec<&MatrixCell> = cells
        .iter()
        .filter(|c| c.label.contains("+reconcile"))
        .collect();
    if !reconciling.is_empty() {
        md.push_str("\n## How long a divergence lives\n\n");
        md.push_str("Reconciliation ends every divergence it can see; until it runs, a wrong key stays wrong. The longest any key stayed wrong, in runs:\n\n");
        md.push_str("| strategy | change | longest divergence (runs) |\n|---|---|---|\n");
        for c in reconciling {
            md.push_str(&format!(
                "| {} | {} | {} |\n",
                c.label, c.change, c.longest_divergence_runs
            ));
        }
    }
    md
}

pub fn matrix_table(cells: &[MatrixCell]) -> Table {
    let (rows, columns) = grid(cells);
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let mut header = vec![Cell::new("strategy")];
    header.extend(columns.iter().map(Cell::new));
    table.set_header(header);
    for row in rows {
        let mut line = vec![Cell::new(row)];
        line.extend(
            columns
                .iter()
                .map(|col| Cell::new(cell_text(find(cells, row, col)))),
        );
        table.add_row(line);
    }
    table
}

/// Writes `matrix.json` (the list of cells), `matrix.md` and the battery's scenario files into
/// `dir`, each atomically; returns the files written.
pub fn write_matrix(
    dir: &std::path::Path,
    cells: &[MatrixCell],
    seed: u64,
) -> Result<Vec<std::path::PathBuf>> {
    use crate::fs_atomic::write_atomic;
    let mut written = Vec::new();
    for column in COLUMNS {
        let path = dir.join("battery").join(format!("{}.toml", column.change));
        write_atomic(
            &path,
            crate::matrix::column_scenario(column, seed).as_bytes(),
        )?;
        written.push(path);
    }
    let json = serde_json::to_vec_pretty(cells).expect("cells always serialize");
    let path = dir.join(crate::matrix::MATRIX_JSON);
    write_atomic(&path, &json)?;
    written.push(path);
    let path = dir.join(crate::matrix::MATRIX_MD);
    write_atomic(&path, matrix_markdown(cells, seed).as_bytes())?;
    written.push(path);
    Ok(written)
}
