//! `autodrive forecast`: one forecast row per vehicle of odometer CSVs, streamed.
//!
//! A file is read in blocks of whole vehicles; worker threads (one a core) parse a block, forecast
//! its vehicles and format their rows, and the calling thread writes the blocks' rows in file
//! order, so the output is the same whatever the number of threads. Memory stays at a few blocks.

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{ErrorKind, Read, Write};
use std::path::Path;
use std::sync::{mpsc, Mutex};

use anyhow::{anyhow, bail, Result};
use chrono::{Datelike, NaiveDate};
use clap::ValueEnum;
use domain::{DueLimit, ForecastInput, Forecaster, ServiceDue};
use serde::Serialize;

use crate::odometer_csv::{
    block_vehicles, bytes_equal, csv_files, id_hash, not_contiguous, BlockReader, LineAt,
    RowParser, VehicleLog,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    /// One JSON object per line.
    Json,
}

#[derive(Serialize)]
struct Row<'a> {
    vehicle_id: &'a str,
    km_per_day: f64,
    due_date: NaiveDate,
    due_km: u32,
    p10: NaiveDate,
    p90: NaiveDate,
    limit: DueLimit,
    reason: &'a str,
}

const CSV_HEADER: &[u8] = b"vehicle_id,km_per_day,due_date,due_km,p10,p90,limit,reason\n";

/// Bytes of input a worker takes at a time.
const BLOCK: usize = 512 * 1024;

/// Writes to stdout; a reader that stops early (`| head`) ends it quietly.
pub fn run(data: &Path, at: Option<NaiveDate>, format: Format) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match write(data, at, format, &mut out).and_then(|()| Ok(out.flush()?)) {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        done => done,
    }
}

/// Ends the process quietly (status 0) when `print!` finds stdout closed (`autodrive ... | head`)
/// instead of panicking with "failed printing to stdout"; other panics go to the default hook.
pub fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload_as_str().unwrap_or_default();
        if message.starts_with("failed printing to stdout")
            && (message.contains("Broken pipe") || message.contains("os error 32"))
        {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Whether `error` is a write to a pipe nobody reads any more.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
    })
}

/// Writes the forecasts of every vehicle under `data` to `out`; vehicles without a reading on
/// or before `at` are skipped.
pub fn write(
    data: &Path,
    at: Option<NaiveDate>,
    format: Format,
    out: &mut impl Write,
) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(16));
    let mut header = format == Format::Csv;
    for file in csv_files(data, false)? {
        let reader = BlockReader::open(&file, BLOCK)?;
        write_log(reader, at, format, threads, &mut header, out)?;
    }
    Ok(())
}

/// A block for a worker.
struct Job {
    seq: u64,
    block: Vec<u8>,
    out: Vec<u8>,
    vehicles: Vec<Vehicle>,
}

/// A block done: its rows, its vehicles, and the line that stopped it.
struct Done {
    job: Job,
    lines: u64,
    failed: Option<LineAt>,
    error: Option<anyhow::Error>,
}

/// A vehicle of a block: its id's hash, its first line and where its row starts in the output.
struct Vehicle {
    hash: u64,
    first: LineAt,
    out_start: usize,
}

/// Forecasts one log on `threads` workers, writing the rows in the log's order.
fn write_log<R: Read>(
    mut reader: BlockReader<R>,
    at: Option<NaiveDate>,
    format: Format,
    threads: usize,
    header: &mut bool,
    out: &mut impl Write,
) -> Result<()> {
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let (done_tx, done_rx) = mpsc::channel::<Result<Done, ()>>();
    let job_rx = Mutex::new(job_rx);
    let mut writer = BlockWriter {
        rows: reader.rows(),
        out,
        header,
        line: 2,
        seen: Seen::default(),
    };
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (job_rx, done_tx, rows) = (&job_rx, done_tx.clone(), reader.rows());
            scope.spawn(move || work(job_rx, &done_tx, rows, at, format));
        }
        drop(done_tx);
        // The workers stop when `job_tx` is dropped, on success or error.
        drive(
            &mut reader,
            job_tx,
            &done_rx,
            2 * threads as u64 + 2,
            &mut writer,
        )
    })
}

/// Reads blocks for the workers, at most `most` of them read and not yet written, and writes
/// the done ones in order.
fn drive<R: Read, W: Write>(
    reader: &mut BlockReader<R>,
    jobs: mpsc::Sender<Job>,
    done: &mpsc::Receiver<Result<Done, ()>>,
    most: u64,
    writer: &mut BlockWriter<'_, W>,
) -> Result<()> {
    let (mut sent, mut written) = (0u64, 0u64);
    let mut waiting = BTreeMap::new();
    let mut spare: Vec<Job> = Vec::new();
    let mut eof = false;
    loop {
        while !eof && sent - written < most {
            let mut job = spare.pop().unwrap_or_else(|| Job {
                seq: 0,
                block: Vec::with_capacity(BLOCK + BLOCK / 4),
                out: Vec::new(),
                vehicles: Vec::new(),
            });
            if !reader.next_block(&mut job.block)? {
                eof = true;
                break;
            }
            job.seq = sent;
            jobs.send(job)
                .map_err(|_| anyhow!("the forecast workers stopped"))?;
            sent += 1;
        }
        if sent == written {
            return Ok(());
        }
        let block = done
            .recv()
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| anyhow!("a forecast worker failed"))?;
        waiting.insert(block.job.seq, block);
        while let Some(block) = waiting.remove(&written) {
            spare.push(writer.write(block)?);
            written += 1;
        }
    }
}

/// A worker: takes blocks until there are none, hands back each one's rows.
fn work(
    jobs: &Mutex<mpsc::Receiver<Job>>,
    done: &mpsc::Sender<Result<Done, ()>>,
    mut rows: RowParser,
    at: Option<NaiveDate>,
    format: Format,
) {
    let forecaster = Forecaster::default();
    let mut log = VehicleLog::default();
    loop {
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            forecast_block(job, &mut rows, &mut log, &forecaster, at, format)
        }));
        match result {
            Ok(block) => {
                if done.send(Ok(block)).is_err() {
                    return;
                }
            }
            Err(panic) => {
                let _ = done.send(Err(()));
                std::panic::resume_unwind(panic);
            }
        }
    }
}

fn forecast_block(
    mut job: Job,
    rows: &mut RowParser,
    log: &mut VehicleLog,
    forecaster: &Forecaster,
    at: Option<NaiveDate>,
    format: Format,
) -> Done {
    job.out.clear();
    job.vehicles.clear();
    let mut error = None;
    let (out, vehicles) = (&mut job.out, &mut job.vehicles);
    let (lines, failed) = block_vehicles(rows, &job.block, log, |log, first| {
        vehicles.push(Vehicle {
            hash: id_hash(&log.vehicle_id),
            first,
            out_start: out.len(),
        });
        let input = ForecastInput {
            readings: &log.readings,
            first_registration: log.first_registration,
            last_service: None,
            as_of: at,
        };
        let Ok(due) = forecaster.forecast(&input) else {
            return;
        };
        match format {
            Format::Csv => csv_row(out, &log.vehicle_id, &due),
            Format::Json => {
                if let Err(e) = serde_json::to_writer(&mut *out, &row(&log.vehicle_id, &due)) {
                    error.get_or_insert(e.into());
                }
                out.push(b'\n');
            }
        }
    });
    Done {
        job,
        lines,
        failed,
        error,
    }
}

/// Writes the blocks' rows in order, refusing a vehicle seen in an earlier block and naming the
/// line a worker could not read.
struct BlockWriter<'a, W: Write> {
    rows: RowParser,
    out: &'a mut W,
    header: &'a mut bool,
    /// The line the next block starts at.
    line: u64,
    seen: Seen,
}

/// The vehicles written so far, by the hash of their id.
type Seen = HashSet<u64, BuildHasherDefault<MixHasher>>;

/// Hashes the ids' hashes once more (cheaper than SipHash, which they need no more).
#[derive(Default)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0 ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let n = (n ^ (n >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        self.0 = n ^ (n >> 29);
    }
}

impl<W: Write> BlockWriter<'_, W> {
    /// Writes a block's rows; its job back for reuse.
    fn write(&mut self, done: Done) -> Result<Job> {
        let Done {
            job,
            lines,
            failed,
            error,
        } = done;
        if let Some(error) = error {
            return Err(error);
        }
        let repeated = job.vehicles.iter().find(|v| !self.seen.insert(v.hash));
        let end = repeated.map_or(job.out.len(), |v| v.out_start);
        if end > 0 {
            if std::mem::take(self.header) {
                self.out.write_all(CSV_HEADER)?;
            }
            self.out.write_all(&job.out[..end])?;
        }
        if let Some(v) = repeated {
            let line = self.line + v.first.line;
            let text = &job.block[v.first.start..v.first.end];
            self.rows.scan(text);
            let vehicle = match self.rows.row(text, line) {
                Ok(Some(row)) => row.vehicle.to_owned(),
                _ => String::new(),
            };
            bail!(not_contiguous(line, &vehicle));
        }
        if let Some(at) = failed {
            let line = self.line + at.line;
            let text = &job.block[at.start..at.end];
            self.rows.scan(text);
            self.rows.row(text, line)?;
            bail!("line {line}: could not be read");
        }
        self.line += lines;
        Ok(job)
    }
}

fn row<'a>(vehicle_id: &'a str, due: &'a ServiceDue) -> Row<'a> {
    Row {
        vehicle_id,
        km_per_day: (due.km_per_day * 10.0).round() / 10.0,
        due_date: due.due_date,
        due_km: due.due_km,
        p10: due.p10,
        p90: due.p90,
        limit: due.limit,
        reason: &due.reason,
    }
}

/// One CSV row, formatted by hand exactly as the csv crate serializes [`Row`].
fn csv_row(out: &mut Vec<u8>, vehicle_id: &str, due: &ServiceDue) {
    csv_field(out, vehicle_id.as_bytes());
    out.push(b',');
    tenths(out, due.km_per_day);
    out.push(b',');
    date(out, due.due_date);
    out.push(b',');
    number(out, u64::from(due.due_km));
    out.push(b',');
    date(out, due.p10);
    out.push(b',');
    date(out, due.p90);
    out.push(b',');
    out.extend_from_slice(match due.limit {
        DueLimit::Time => b"time",
        DueLimit::Distance => b"distance",
    });
    out.push(b',');
    csv_field(out, due.reason.as_bytes());
    out.push(b'\n');
}

/// A text field, quoted when it holds a comma, a quote or a line break.
fn csv_field(out: &mut Vec<u8>, text: &[u8]) {
    let special = |b: &u8| matches!(b, b',' | b'"' | b'\n' | b'\r');
    let words = text.chunks_exact(8);
    let rest = words.remainder();
    let mut quote = rest.iter().any(special);
    for word in words {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        quote |= bytes_equal(word, b',')
            | bytes_equal(word, b'"')
            | bytes_equal(word, b'\n')
            | bytes_equal(word, b'\r')
            != 0;
    }
    if !quote {
        out.extend_from_slice(text);
        return;
    }
    out.push(b'"');
    for &b in text {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// `value` rounded to tenths as the shortest decimal that reads back (what ryu prints).
fn tenths(out: &mut Vec<u8>, value: f64) {
    let tenths = (value * 10.0).round();
    let rounded = tenths / 10.0;
    if tenths.abs() < 1e13 {
        if rounded.is_sign_negative() {
            out.push(b'-');
        }
        let tenths = tenths.abs() as u64;
        number(out, tenths / 10);
        out.push(b'.');
        out.push(b'0' + (tenths % 10) as u8);
        return;
    }
    // Beyond 10^12 km/day, NaN and infinities: what the csv crate writes.
    let mut table = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    if table.serialize(rounded).is_ok() {
        if let Ok(text) = table.into_inner() {
            out.extend_from_slice(text.strip_suffix(b"\n").unwrap_or(&text));
        }
    }
}

fn number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// `YYYY-MM-DD`, as chrono writes a date.
fn date(out: &mut Vec<u8>, date: NaiveDate) {
    let year = date.year();
    if !(0..=9999).contains(&year) {
        out.extend_from_slice(format!("{date:?}").as_bytes());
        return;
    }
    let (year, month, day) = (year as u32, date.month(), date.day());
    let digit = |n: u32| b'0' + (n % 10) as u8;
    out.extend_from_slice(&[
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
    ]);
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use chrono::Days;

    use super::*;
    use crate::odometer_csv::LogReader;

    /// A log of `vehicles` cars with `readings` readings each at their own pace; a row given as
    /// `(line, text)` replaces that line.
    fn fleet(vehicles: u32, readings: u32, replace: &[(u64, &str)]) -> String {
        let mut text = String::from("vehicle_id,date,odometer_km,first_registration,source\n");
        let mut line = 1;
        let start = NaiveDate::from_ymd_opt(2018, 1, 1).unwrap();
        for v in 0..vehicles {
            let registration = start + Days::new(u64::from(v * 37 % 900));
            let pace = 10 + v * 13 % 90;
            for r in 0..readings {
                line += 1;
                if let Some((_, row)) = replace.iter().find(|(l, _)| *l == line) {
                    text.push_str(row);
                } else {
                    let days = 30 + r * (60 + v * 7 % 300);
                    let km = pace * days + v % 7 * r;
                    let date = registration + Days::new(u64::from(days));
                    let source = if r % 4 == 3 {
                        "customer_reported"
                    } else {
                        "visit"
                    };
                    let id = if v == 3 {
                        "\"car, 3\"".to_owned()
                    } else {
                        format!("car-{v}")
                    };
                    let _ = write!(text, "{id},{date},{km},{registration},{source}");
                }
                text.push('\n');
            }
        }
        text
    }

    /// What the command wrote before it had its own parser, threads and CSV formatting: every
    /// vehicle in turn, rows serialized by the csv crate (or serde_json).
    fn before(text: &str, at: Option<NaiveDate>, format: Format) -> Vec<u8> {
        let forecaster = Forecaster::default();
        let mut reader = LogReader::new(text.as_bytes()).unwrap();
        let mut table = csv::Writer::from_writer(Vec::new());
        let mut lines = Vec::new();
        let mut log = VehicleLog::default();
        while reader.next_vehicle(&mut log).unwrap() {
            let input = ForecastInput {
                readings: &log.readings,
                first_registration: log.first_registration,
                last_service: None,
                as_of: at,
            };
            let Ok(due) = forecaster.forecast(&input) else {
                continue;
            };
            match format {
                Format::Csv => table.serialize(row(&log.vehicle_id, &due)).unwrap(),
                Format::Json => {
                    serde_json::to_writer(&mut lines, &row(&log.vehicle_id, &due)).unwrap();
                    lines.push(b'\n');
                }
            }
        }
        match format {
            Format::Csv => table.into_inner().unwrap(),
            Format::Json => lines,
        }
    }

    /// What `write_log` writes for `text` read in blocks of `block` bytes on `threads` workers.
    fn now(
        text: &str,
        block: usize,
        threads: usize,
        at: Option<NaiveDate>,
        format: Format,
    ) -> (Vec<u8>, Result<()>) {
        let reader = BlockReader::new(text.as_bytes(), block).unwrap();
        let mut out = Vec::new();
        let mut header = format == Format::Csv;
        let result = write_log(reader, at, format, threads, &mut header, &mut out);
        (out, result)
    }

    #[test]
    fn a_row_is_formatted_as_before() {
        let mut text = fleet(1, 3, &[]);
        text.truncate(text.len() - 1);
        text.push_str("\r\n");
        let path = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(path.path(), format!("\u{feff}{text}")).unwrap();
        let mut out = Vec::new();
        write(path.path(), None, Format::Csv, &mut out).unwrap();
        assert_eq!(out, before(&text, None, Format::Csv));

        let readings = [crate::odometer_csv::test_support::reading(
            "2024-01-01",
            1000,
        )];
        let mut due = Forecaster::default()
            .forecast(&ForecastInput {
                readings: &readings,
                first_registration: None,
                last_service: None,
                as_of: None,
            })
            .unwrap();
        (due.km_per_day, due.due_km, due.limit) = (41.149_999, 107_546, DueLimit::Time);
        (due.due_date, due.p10, due.p90) = (
            NaiveDate::from_ymd_opt(2027, 5, 6).unwrap(),
            NaiveDate::from_ymd_opt(2027, 1, 30).unwrap(),
            NaiveDate::from_ymd_opt(987, 12, 1).unwrap(),
        );
        due.reason = "12 months after the service of 2026-05-06; 41.1 km/day".into();
        let mut out = Vec::new();
        csv_row(&mut out, "V0000000", &due);
        due.limit = DueLimit::Distance;
        due.km_per_day = 0.04;
        due.reason = "a \"quoted\", reason".into();
        csv_row(&mut out, "car, \"7\"", &due);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "V0000000,41.1,2027-05-06,107546,2027-01-30,0987-12-01,time,\
             12 months after the service of 2026-05-06; 41.1 km/day\n\
             \"car, \"\"7\"\"\",0.0,2027-05-06,107546,2027-01-30,0987-12-01,distance,\
             \"a \"\"quoted\"\", reason\"\n"
        );
        let mut table = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        due.limit = DueLimit::Time;
        (due.km_per_day, due.reason) = (
            41.149_999,
            "12 months after the service of 2026-05-06; 41.1 km/day".into(),
        );
        table.serialize(row("V0000000", &due)).unwrap();
        (due.limit, due.km_per_day) = (DueLimit::Distance, 0.04);
        due.reason = "a \"quoted\", reason".into();
        table.serialize(row("car, \"7\"", &due)).unwrap();
        assert_eq!(table.into_inner().unwrap(), out);
    }

    #[test]
    fn output_is_as_before_whatever_the_blocks_and_threads() {
        let text = fleet(60, 6, &[]);
        let at = NaiveDate::from_ymd_opt(2019, 6, 1);
        for format in [Format::Csv, Format::Json] {
            for at in [None, at] {
                let expected = before(&text, at, format);
                assert!(expected.len() > 1000);
                for (block, threads) in [(1, 1), (50, 2), (333, 3), (1 << 20, 2)] {
                    let (out, result) = now(&text, block, threads, at, format);
                    result.unwrap();
                    assert!(
                        out == expected,
                        "{format:?} {at:?} block {block} threads {threads}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_empty_log_writes_nothing_not_even_the_header() {
        let (out, result) = now("vehicle_id,date,odometer_km\n", 10, 2, None, Format::Csv);
        result.unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn a_bad_row_is_named_by_its_line_in_any_block() {
        let bad = fleet(40, 5, &[(150, "car-29,2020-02-30,5,,")]);
        let split = fleet(40, 5, &[(150, "car-4,2020-02-01,5,,")]);
        for (block, threads) in [(1, 2), (64, 2), (1000, 3), (1 << 20, 1)] {
            let (out, result) = now(&bad, block, threads, None, Format::Csv);
            let err = format!("{:#}", result.unwrap_err());
            assert!(
                err.starts_with("line 150: bad date: \"2020-02-30\""),
                "{err}"
            );
            // The rows before, of whole vehicles: the first 29 or 28.
            let rows = out.iter().filter(|&&b| b == b'\n').count();
            assert!((29..=30).contains(&rows), "block {block}: {rows}");

            let (_, result) = now(&split, block, threads, None, Format::Csv);
            let err = result.unwrap_err().to_string();
            assert!(
                err.starts_with("line 150: rows of vehicle \"car-4\" are not contiguous"),
                "{err}"
            );
        }
    }

    #[test]
    fn km_per_day_is_written_as_the_csv_crate_writes_it() {
        let mut values = vec![
            0.0,
            -0.0,
            0.04,
            0.05,
            0.15,
            1.0,
            9.95,
            41.1,
            99.99,
            1e6,
            123_456.78,
            -3.25,
            1e11,
            9.99e11,
            1e12,
            1e13,
            1e15,
            1e16,
            1e17,
            1e300,
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            f64::MIN_POSITIVE,
            5e-324,
        ];
        let mut x = 0.123_f64;
        for _ in 0..20_000 {
            x = (x * 7.31 + 0.377).fract();
            values.push(x * 2000.0);
            values.push(x * 10f64.powi((x * 30.0) as i32 - 10));
        }
        for value in values {
            let mut ours = Vec::new();
            tenths(&mut ours, value);
            let mut table = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            table.serialize((value * 10.0).round() / 10.0).unwrap();
            let theirs = table.into_inner().unwrap();
            assert_eq!(ours, theirs[..theirs.len() - 1], "{value:e}");
        }
    }

    #[test]
    fn dates_are_written_as_chrono_writes_them() {
        let mut out = Vec::new();
        for (y, m, d) in [
            (2026, 1, 9),
            (1, 12, 31),
            (0, 1, 1),
            (-1, 6, 15),
            (9999, 12, 31),
            (10_000, 1, 1),
        ] {
            let day = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            out.clear();
            date(&mut out, day);
            assert_eq!(String::from_utf8(out.clone()).unwrap(), format!("{day:?}"));
            assert_eq!(serde_json::to_string(&day).unwrap(), format!("\"{day:?}\""));
        }
    }

    /// Refuses every write, as stdout does once `head` has gone.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(ErrorKind::BrokenPipe.into())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_told_apart_from_other_errors() {
        let text = fleet(30, 3, &[]);
        let reader = BlockReader::new(text.as_bytes(), 100).unwrap();
        let err = write_log(reader, None, Format::Csv, 2, &mut true, &mut Closed).unwrap_err();
        assert!(is_broken_pipe(&err), "{err:#}");
        assert!(is_broken_pipe(
            &anyhow::Error::from(std::io::Error::from(ErrorKind::BrokenPipe)).context("writing")
        ));
        let (_, result) = now(&fleet(3, 3, &[(5, "x")]), 100, 2, None, Format::Csv);
        assert!(!is_broken_pipe(&result.unwrap_err()));
    }
}
