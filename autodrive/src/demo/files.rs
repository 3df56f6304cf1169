//! The demo's report files: every report as XLSX and CSV under `<data dir>/reports/`.

use std::path::Path;

use anyhow::{Context, Result};
use app::reports::{export, Format, Table};
use serde::Serialize;

/// The formats every report is written in.
const FORMATS: [Format; 2] = [Format::Xlsx, Format::Csv];

/// One report written.
#[derive(Debug, Clone, Serialize)]
pub struct ReportFile {
    /// `mileage`, `lost`, `abc`, `rfm` or `offers`.
    pub name: &'static str,
    pub title: String,
    pub rows: usize,
    /// Paths relative to the data directory: `reports/mileage.xlsx`, ...
    pub files: Vec<String>,
}

/// Writes each (name, table) as `<name>.xlsx` and `<name>.csv` in `dir` (created if missing).
pub fn write_reports(dir: &Path, tables: &[(&'static str, Table)]) -> Result<Vec<ReportFile>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, table) in tables {
        let mut files = Vec::new();
        for format in FORMATS {
            let file = format!("{name}.{}", format.extension());
            let path = dir.join(&file);
            std::fs::write(&path, export(table, format)?)
                .with_context(|| format!("writing {}", path.display()))?;
            files.push(format!("reports/{file}"));
        }
        written.push(ReportFile {
            name,
            title: table.title.clone(),
            rows: table.rows.len(),
            files,
        });
    }
    Ok(written)
}

/// Copies the report files of `from` into `to` (created if missing), replacing older ones.
pub fn copy_reports(from: &Path, to: &Path, reports: &[ReportFile]) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for file in reports.iter().flat_map(|r| &r.files) {
        let name = file.trim_start_matches("reports/");
        std::fs::copy(from.join(name), to.join(name))
            .with_context(|| format!("copying {name} to {}", to.display()))?;
    }
    Ok(())
}
