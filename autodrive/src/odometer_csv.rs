//! Reads odometer logs in the backtest format (`vehicle_id,date,odometer_km,first_registration`
//! and an optional `source`, in the order the header gives), one vehicle at a time, without
//! holding a whole file in memory: [`LogReader`] streams vehicles; [`BlockReader`] cuts a file
//! into blocks of whole vehicles for [`block_vehicles`] to parse on several threads.
//!
//! Rows are parsed by hand ([`RowParser`]): about 30 ns a row where the csv crate and chrono's
//! formatted date parsing took about 600. Fields are trimmed; a field may be quoted (`"a,b"`,
//! `""` for a quote) but may not span lines; `\r\n` line ends, a UTF-8 byte-order mark and blank
//! lines are fine. A refused row names its line and what is wrong with it.

use std::collections::HashSet;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use domain::Reading;

mod bytes;
mod date;
mod row;

pub(crate) use bytes::bytes_equal;
use row::Columns;
pub(crate) use row::RowParser;

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
    input: R,
    buf: Vec<u8>,
    /// `buf[start..filled]` is read and not yet parsed.
    start: usize,
    filled: usize,
    eof: bool,
    rows: RowParser,
    /// The first row of the next vehicle and its line.
    pending: Option<(String, Option<NaiveDate>, Reading, u64)>,
    /// Hashes of the vehicles already streamed, to refuse a vehicle split across the file.
    seen: HashSet<u64>,
    line: u64,
}

impl LogReader<File> {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        LogReader::new(file).with_context(|| format!("reading {}", path.display()))
    }
}

impl<R: Read> LogReader<R> {
    pub fn new(input: R) -> Result<Self> {
        let mut reader = LogReader {
            input,
            buf: vec![0; 64 * 1024],
            start: 0,
            filled: 0,
            eof: false,
            rows: RowParser::new(Columns::default()),
            pending: None,
            seen: HashSet::new(),
            line: 0,
        };
        let header = reader.next_line().context("reading the header row")?;
        let columns = Columns::from_header(header.map_or(&[][..], |(s, e)| &reader.buf[s..e]))?;
        reader.rows = RowParser::new(columns);
        Ok(reader)
    }

    /// The span in `buf` of the next line (without its `\n`), scanned by `rows`.
    fn next_line(&mut self) -> Result<Option<(usize, usize)>> {
        loop {
            if let Some(end) = self.rows.scan(&self.buf[self.start..self.filled]) {
                let line = (self.start, self.start + end);
                self.start += end + 1;
                self.line += 1;
                return Ok(Some(line));
            }
            if self.eof {
                if self.start == self.filled {
                    return Ok(None);
                }
                let line = (self.start, self.filled);
                self.start = self.filled;
                self.line += 1;
                return Ok(Some(line));
            }
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
            if self.filled == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            loop {
                match self.input.read(&mut self.buf[self.filled..]) {
                    Ok(0) => self.eof = true,
                    Ok(n) => self.filled += n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                }
                break;
            }
        }
    }

    /// The next vehicle's log, reusing `log`'s buffers; `false` at the end of the input.
    pub fn next_vehicle(&mut self, log: &mut VehicleLog) -> Result<bool> {
        log.readings.clear();
        log.first_registration = None;
        let first_line = match self.pending.take() {
            Some((vehicle, registration, reading, line)) => {
                log.vehicle_id = vehicle;
                log.first_registration = registration;
                log.readings.push(reading);
                line
            }
            None => loop {
                let Some((s, e)) = self.next_line()? else {
                    return Ok(false);
                };
                if let Some(row) = self.rows.row(&self.buf[s..e], self.line)? {
                    log.vehicle_id.clear();
                    log.vehicle_id.push_str(row.vehicle);
                    log.first_registration = row.registration;
                    log.readings.push(row.reading);
                    break self.line;
                }
            },
        };
        while let Some((s, e)) = self.next_line()? {
            let Some(row) = self.rows.row(&self.buf[s..e], self.line)? else {
                continue;
            };
            if row.vehicle != log.vehicle_id {
                self.pending = Some((
                    row.vehicle.to_owned(),
                    row.registration,
                    row.reading,
                    self.line,
                ));
                break;
            }
            log.first_registration = log.first_registration.or(row.registration);
            log.readings.push(row.reading);
        }
        if !self.seen.insert(id_hash(&log.vehicle_id)) {
            bail!(not_contiguous(first_line, &log.vehicle_id));
        }
        Ok(true)
    }
}

/// The error of a vehicle whose rows start again at `line`.
pub(crate) fn not_contiguous(line: u64, vehicle: &str) -> String {
    format!(
        "line {line}: rows of vehicle {vehicle:?} are not contiguous; sort the file by vehicle_id"
    )
}

/// FNV-1a: stable and cheap; a collision only makes a false "not contiguous" error.
pub(crate) fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A line of a block: its number counted from the block's first line (0) and its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineAt {
    pub line: u64,
    pub start: usize,
    pub end: usize,
}

/// Reads a log in blocks of whole vehicles, to parse on several threads: a block is about
/// `block` bytes of whole lines and ends where a vehicle ends.
pub(crate) struct BlockReader<R: Read> {
    input: R,
    /// Read past the last block handed out.
    carry: Vec<u8>,
    eof: bool,
    block: usize,
    rows: RowParser,
}

impl BlockReader<File> {
    pub(crate) fn open(path: &Path, block: usize) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        BlockReader::new(file, block).with_context(|| format!("reading {}", path.display()))
    }
}

impl<R: Read> BlockReader<R> {
    pub(crate) fn new(input: R, block: usize) -> Result<Self> {
        let mut reader = BlockReader {
            input,
            carry: Vec::new(),
            eof: false,
            block: block.max(1),
            rows: RowParser::new(Columns::default()),
        };
        let header_end = loop {
            if let Some(end) = reader.carry.iter().position(|&b| b == b'\n') {
                break end;
            }
            if reader.eof {
                break reader.carry.len();
            }
            let mut carry = std::mem::take(&mut reader.carry);
            reader
                .fill(&mut carry, reader.block)
                .context("reading the header row")?;
            reader.carry = carry;
        };
        let columns = Columns::from_header(&reader.carry[..header_end])?;
        reader
            .carry
            .drain(..(header_end + 1).min(reader.carry.len()));
        reader.rows = RowParser::new(columns);
        Ok(reader)
    }

    /// A parser for this log's rows.
    pub(crate) fn rows(&self) -> RowParser {
        let mut rows = self.rows.clone();
        rows.recent.vehicle.clear();
        rows.recent.registration_date = None;
        rows
    }

    /// Appends up to `more` bytes of the input to `buf`.
    fn fill(&mut self, buf: &mut Vec<u8>, more: usize) -> Result<()> {
        let read = (&mut self.input).take(more as u64).read_to_end(buf)?;
        self.eof = read < more;
        Ok(())
    }

    /// Replaces `buf` with the next block (its first line follows the last block's last line);
    /// `false` at the end of the input.
    pub(crate) fn next_block(&mut self, buf: &mut Vec<u8>) -> Result<bool> {
        buf.clear();
        buf.append(&mut self.carry);
        let mut want = self.block;
        loop {
            if !self.eof && buf.len() < want {
                self.fill(buf, want - buf.len())?;
            }
            if self.eof {
                return Ok(!buf.is_empty());
            }
            if let Some(cut) = cut_after_vehicle(&mut self.rows, buf) {
                self.carry.extend_from_slice(&buf[cut..]);
                buf.truncate(cut);
                return Ok(true);
            }
            want = buf.len() + self.block;
        }
    }
}

/// The length of the longest prefix of `data` that ends with a whole line between two vehicles;
/// `None` when there is no such place (yet).
fn cut_after_vehicle(rows: &mut RowParser, data: &[u8]) -> Option<usize> {
    let mut end = data.iter().rposition(|&b| b == b'\n')?;
    let mut last: Option<Vec<u8>> = None;
    loop {
        let start = data[..end]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        match (rows.vehicle_of(&data[start..end]), &last) {
            (Ok(None), _) => {}
            (Ok(Some(vehicle)), None) => last = Some(vehicle),
            (Ok(Some(vehicle)), Some(run)) if vehicle == *run => {}
            // The line before the last vehicle's rows ends the block; a line that cannot be
            // read stays where its error will be reported, at the start of the next block when
            // it is the last line.
            (Ok(Some(_)) | Err(_), Some(_)) => return Some(end + 1),
            (Err(_), None) => return (start > 0).then_some(start),
        }
        if start == 0 {
            return None;
        }
        end = start - 1;
    }
}

/// The vehicles of a block from [`BlockReader::next_block`], each handed to `each` with its
/// first line; stops at a row that cannot be read and returns its line (the error itself is
/// [`RowParser::row`]'s on that line).
pub(crate) fn block_vehicles(
    rows: &mut RowParser,
    block: &[u8],
    log: &mut VehicleLog,
    mut each: impl FnMut(&VehicleLog, LineAt),
) -> (u64, Option<LineAt>) {
    let mut first: Option<LineAt> = None;
    let mut pos = 0;
    let mut line = 0;
    while pos < block.len() {
        let mut at = LineAt {
            line,
            start: pos,
            end: block.len(),
        };
        line += 1;
        let row = match rows.plain_row(&block[pos..]) {
            Some((end, row)) => {
                at.end = pos + end;
                row
            }
            None => {
                if let Some(end) = rows.scan(&block[pos..]) {
                    at.end = pos + end;
                }
                match rows.row(&block[at.start..at.end], at.line) {
                    Ok(Some(row)) => row,
                    Ok(None) => {
                        pos = at.end + 1;
                        continue;
                    }
                    Err(_) => return (line, Some(at)),
                }
            }
        };
        pos = at.end + 1;
        if first.is_some() && !row.new_vehicle {
            log.first_registration = log.first_registration.or(row.registration);
            log.readings.push(row.reading);
            continue;
        }
        let (vehicle, registration, reading) = (row.vehicle, row.registration, row.reading);
        if let Some(start) = first {
            each(log, start);
        }
        log.vehicle_id.clear();
        log.vehicle_id.push_str(vehicle);
        log.first_registration = registration;
        log.readings.clear();
        log.readings.push(reading);
        first = Some(at);
    }
    if let Some(start) = first {
        each(log, start);
    }
    (line, None)
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
mod tests;

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
