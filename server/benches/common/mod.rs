//! What a benchmark hands to `cargo xtask bench`: its figures as rows of the report's table,
//! in `target/bench/<name>.json`, beside what it prints for a reader.

use std::path::PathBuf;

/// One row: the figure, the measured value, and how it was measured.
pub struct Row {
    pub figure: String,
    pub value: String,
    pub how: String,
}

pub fn row(figure: impl Into<String>, value: impl Into<String>, how: impl Into<String>) -> Row {
    Row { figure: figure.into(), value: value.into(), how: how.into() }
}

pub fn record(name: &str, rows: &[Row]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let rows: Vec<serde_json::Value> =
        rows.iter().map(|r| serde_json::json!({"figure": r.figure, "value": r.value, "how": r.how})).collect();
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(format!("{name}.json")), serde_json::to_vec_pretty(&rows)?));
    if let Err(error) = written {
        eprintln!("could not write the {name} figures for the report: {error}");
    }
}
