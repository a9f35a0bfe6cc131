//! `incrlab matrix`: the detection matrix, measured from the battery, written to matrix.json.

use std::process::Command;

use incrlab::matrix::{Detection, MatrixCell};

fn matrix_in(dir: &std::path::Path) -> Vec<MatrixCell> {
    let output = Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args(["matrix", "--out"])
        .arg(dir)
        .output()
        .expect("incrlab runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json = std::fs::read(dir.join("matrix.json")).expect("matrix.json written");
    serde_json::from_slice(&json).expect("matrix.json is a list of cells")
}

fn verdict(cells: &[MatrixCell], label: &str, change: &str) -> Detection {
    cells
        .iter()
        .find(|c| c.label == label && c.change == change)
        .unwrap_or_else(|| panic!("no cell {label} × {change}"))
        .verdict
}

#[test]
fn the_matrix_reproduces_the_seed_table_and_writes_a_reproducible_battery() {
    let dir = tempfile::tempdir().unwrap();
    let cells = matrix_in(dir.path());

    use Detection::{No, Partial, Yes};
    let seed_table = [
        ("watermark_id", "watermark_id", [Yes, No, No]),
        ("updated_at>", "updated_at", [Yes, Yes, No]),
        ("cdc", "cdc", [Yes, Yes, Yes]),
        ("file_listing", "file_listing", [Yes, Partial, No]),
    ];
    for (label, kind, expected) in seed_table {
        for (change, want) in ["inserts", "updates", "deletes"].iter().zip(expected) {
            assert_eq!(verdict(&cells, label, change), want, "{label} × {change}");
        }
        assert!(cells.iter().any(|c| c.label == label && c.strategy == kind));
    }

    // Beyond the seed table: the knob settings that change a cell.
    assert_eq!(verdict(&cells, "updated_at>", "ties"), Partial);
    assert_eq!(verdict(&cells, "updated_at>=", "ties"), Yes);
    assert_eq!(verdict(&cells, "updated_at>", "late_commits"), Partial);
    assert_eq!(verdict(&cells, "updated_at>lag1m", "late_commits"), Yes);
    assert_eq!(verdict(&cells, "updated_at>", "soft_deletes"), Yes);
    assert_eq!(
        verdict(&cells, "file_listing+name_size_mtime", "updates"),
        Yes
    );
    assert_eq!(verdict(&cells, "interval", "event_lateness"), Partial);
    assert_eq!(verdict(&cells, "updated_at>+reconcile3", "deletes"), Yes);
    // xmin: every commit below the snapshot, however late; no trace of a hard delete.
    assert_eq!(verdict(&cells, "xmin", "late_commits"), Yes);
    assert_eq!(verdict(&cells, "xmin", "updates"), Yes);
    assert_eq!(verdict(&cells, "xmin", "deletes"), No);
    assert_eq!(verdict(&cells, "xmin", "soft_deletes"), Yes);

    // Every verdict follows from its measured fraction.
    for c in &cells {
        let from_fraction = if c.fraction == 1.0 {
            Yes
        } else if c.fraction == 0.0 {
            No
        } else {
            Partial
        };
        assert_eq!(c.verdict, from_fraction, "{c:?}");
        assert!(c.changed_keys > 0, "{c:?}");
    }

    // A cell is what `incrlab run` of the battery's scenario measures.
    let battery = dir.path().join("battery").join("deletes.toml");
    let out = dir.path().join("rerun");
    let status = Command::new(env!("CARGO_BIN_EXE_incrlab"))
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&battery)
        .status()
        .unwrap();
    assert!(status.success());
    let results = incrlab::results::RunResults::read(&out).unwrap();
    let updated_at = results
        .strategies
        .iter()
        .find(|s| s.label == "updated_at>")
        .unwrap();
    let cell = cells
        .iter()
        .find(|c| c.label == "updated_at>" && c.change == "deletes")
        .unwrap();
    assert_eq!(updated_at.permanent.total(), cell.wrong_keys);
    assert!(dir.path().join("matrix.md").exists());
}
