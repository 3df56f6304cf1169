//! Reads odometer logs in the backtest format (`vehicle_id,date,odometer_km,first_registration`
//! and an optional `source`), one vehicle at a time, without holding a whole file in memory.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use domain::{Reading, ReadingSource};

/// One vehicle's log as read from the file, readings in file order.
#[derive(Debug, Clone, Default)]
pub struct VehicleLog {
    pub vehicle_id: String,
    pub first_registration: Option<NaiveDate>,
    pub readings: Vec<Reading>,
}

/// The CSV files under `path` (a file, or every `*.csv` of a directory, sorted), `.raw.csv`
/// files included only when `raw`, and then only they.
pub fn csv_files(path: &Path, raw: bool) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).with_context(|| format!("reading {}", path.display()))? {
        let p = entry?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.ends_with(".csv") && name.ends_with(".raw.csv") == raw {
            files.push(p);
        }
    }
    if files.is_empty() {
        bail!(
            "no {} files in {}",
            if raw { "*.raw.csv" } else { "*.csv" },
            path.display()
        );
    }
    files.sort();
    Ok(files)
}

/// Streams vehicles out of one CSV: rows of one vehicle must be contiguous.
pub struct LogReader<R: Read> {
    rows: csv::Reader<R>,
    columns: Columns,
    record: csv::StringRecord,
    pending: Option<(String, Option<NaiveDate>, Reading)>,
    /// Hashes of the vehicles already streamed, to refuse a vehicle split across the file.
    seen: HashSet<u64>,
    line: u64,
}

struct Columns {
    vehicle: usize,
    date: usize,
    km: usize,
    registration: Option<usize>,
    source: Option<usize>,
}

impl LogReader<File> {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        LogReader::new(file).with_context(|| format!("reading {}", path.display()))
    }
}

impl<R: Read> LogReader<R> {
    pub fn new(input: R) -> Result<Self> {
        let mut rows = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(input);
        let headers = rows.headers().context("reading the header row")?.clone();
        let find = |name: &str| headers.iter().position(|h| h == name);
        let need = |name: &str| find(name).with_context(|| format!("missing column {name:?}"));
        let columns = Columns {
            vehicle: need("vehicle_id")?,
            date: need("date")?,
            km: need("odometer_km")?,
            registration: find("first_registration"),
            source: find("source"),
        };
        Ok(LogReader {
            rows,
            columns,
            record: csv::StringRecord::new(),
            pending: None,
            seen: HashSet::new(),
            line: 1,
        })
    }

    fn next_row(&mut self) -> Result<Option<(String, Option<NaiveDate>, Reading)>> {
        if !self.rows.read_record(&mut self.record)? {
            return Ok(None);
        }
        self.line += 1;
        let line = self.line;
        let field = |i: usize| self.record.get(i).unwrap_or("");
        let vehicle = field(self.columns.vehicle);
        if vehicle.is_empty() {
            bail!("line {line}: empty vehicle_id");
        }
        let date = parse_date(field(self.columns.date))
            .with_context(|| format!("line {line}: bad date"))?;
        let km: u32 = field(self.columns.km)
            .parse()
            .with_context(|| format!("line {line}: odometer_km must be a whole number of km"))?;
        let registration = match self.columns.registration.map(field) {
            None | Some("") => None,
            Some(text) => Some(
                parse_date(text).with_context(|| format!("line {line}: bad first_registration"))?,
            ),
        };
        let source = match self.columns.source.map(field) {
            None | Some("") | Some("visit") => ReadingSource::Visit,
            Some("customer_reported") => ReadingSource::CustomerReported,
            Some(other) => bail!("line {line}: unknown source {other:?}"),
        };
        Ok(Some((
            vehicle.to_owned(),
            registration,
            Reading { date, km, source },
        )))
    }

    /// The next vehicle's log, reusing `log`'s buffers; `false` at the end of the input.
    pub fn next_vehicle(&mut self, log: &mut VehicleLog) -> Result<bool> {
        log.readings.clear();
        log.first_registration = None;
        let first = match self.pending.take() {
            Some(row) => row,
            None => match self.next_row()? {
                Some(row) => row,
                None => return Ok(false),
            },
        };
        log.vehicle_id.clone_from(&first.0);
        log.first_registration = first.1;
        log.readings.push(first.2);
        while let Some(row) = self.next_row()? {
            if row.0 != log.vehicle_id {
                self.pending = Some(row);
                break;
            }
            log.first_registration = log.first_registration.or(row.1);
            log.readings.push(row.2);
        }
        if !self.seen.insert(id_hash(&log.vehicle_id)) {
            bail!(
                "line {}: rows of vehicle {:?} are not contiguous; sort the file by vehicle_id",
                self.line,
                log.vehicle_id
            );
        }
        Ok(true)
    }
}

/// FNV-1a: stable and cheap; a collision only makes a false "not contiguous" error.
fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn parse_date(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("{text:?} is not YYYY-MM-DD"))
}

/// Every vehicle of every file, collected (for the backtest's handful of logs).
pub fn read_all(files: &[PathBuf]) -> Result<Vec<VehicleLog>> {
    let mut out = Vec::new();
    for f in files {
        let mut reader = LogReader::open(f)?;
        let mut log = VehicleLog::default();
        while reader.next_vehicle(&mut log)? {
            out.push(std::mem::take(&mut log));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vehicles(text: &str) -> Result<Vec<VehicleLog>> {
        let mut reader = LogReader::new(text.as_bytes())?;
        let mut out = Vec::new();
        let mut log = VehicleLog::default();
        while reader.next_vehicle(&mut log)? {
            out.push(log.clone());
        }
        Ok(out)
    }

    #[test]
    fn rows_are_grouped_per_vehicle_with_an_optional_source_column() {
        let logs = vehicles(
            "vehicle_id,date,odometer_km,first_registration,source\n\
             a,2020-01-01,100,2019-01-01,visit\na,2020-06-01,5000,,customer_reported\n\
             b,2021-01-01,7,,\n",
        )
        .unwrap();
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].readings[1].source, ReadingSource::CustomerReported);
        assert_eq!(
            logs[0].first_registration,
            Some("2019-01-01".parse().unwrap())
        );
        assert_eq!(logs[1].first_registration, None);
    }

    #[test]
    fn a_vehicle_split_across_the_file_is_refused() {
        let err = vehicles(
            "vehicle_id,date,odometer_km\na,2020-01-01,1\nb,2020-01-01,1\na,2020-02-01,2\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("not contiguous"), "{err}");
    }

    #[test]
    fn a_bad_odometer_names_its_line() {
        let err = vehicles("vehicle_id,date,odometer_km\na,2020-01-01,-5\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn a_missing_column_is_named() {
        let err = vehicles("vehicle_id,odometer_km\na,1\n").unwrap_err();
        assert!(format!("{err:#}").contains("date"), "{err:#}");
    }
}

/// What the tests of the backtest and the calibration read.
#[cfg(test)]
pub mod test_support {
    use std::path::{Path, PathBuf};

    use domain::{Reading, ReadingSource};

    /// The public odometer logs beside the project.
    pub fn shared_data() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/odometer")
    }

    /// A visit reading on a `YYYY-MM-DD` day.
    pub fn reading(d: &str, km: u32) -> Reading {
        Reading {
            date: d.parse().unwrap(),
            km,
            source: ReadingSource::Visit,
        }
    }
}
