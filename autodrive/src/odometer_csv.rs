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

use anyhow::{anyhow, bail, Context, Result};
use chrono::{Datelike, NaiveDate};
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

/// Where the columns are, from the header row.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Columns {
    vehicle: usize,
    date: usize,
    km: usize,
    registration: Option<usize>,
    source: Option<usize>,
    /// How many fields every row has: the header's.
    count: usize,
}

impl Columns {
    /// The columns named by the header line (without its `\n`; a UTF-8 byte-order mark before it
    /// is skipped).
    pub(crate) fn from_header(line: &[u8]) -> Result<Columns> {
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        let (mut spans, mut text) = (Vec::new(), Vec::new());
        split_quoted(line, &mut spans, &mut text)
            .map_err(|e| anyhow!("{e}"))
            .context("reading the header row")?;
        let names = spans
            .iter()
            .map(|&(s, e)| std::str::from_utf8(text[s..e].trim_ascii()))
            .collect::<Result<Vec<_>, _>>()
            .context("the header row is not UTF-8")?;
        let find = |name: &str| names.iter().position(|h| *h == name);
        let need = |name: &str| find(name).with_context(|| format!("missing column {name:?}"));
        Ok(Columns {
            vehicle: need("vehicle_id")?,
            date: need("date")?,
            km: need("odometer_km")?,
            registration: find("first_registration"),
            source: find("source"),
            count: names.len(),
        })
    }
}

/// One row.
pub(crate) struct Row<'a> {
    pub vehicle: &'a str,
    /// Whether the vehicle differs from the previous row's (the previous row read by this parser).
    pub new_vehicle: bool,
    pub registration: Option<NaiveDate>,
    pub reading: Reading,
}

/// Parses the rows of one log: [`RowParser::plain_row`] in one pass for the plain rows that
/// make up almost every log, [`RowParser::scan`] and [`RowParser::row`] for any row.
#[derive(Clone)]
pub(crate) struct RowParser {
    columns: Columns,
    /// What each column holds.
    kinds: Vec<Kind>,
    /// Whether the columns are in the usual order, for [`repeated_row`].
    usual: Option<Usual>,
    /// The fields of the line last scanned: spans in the line, or in `unquoted` once a quoted
    /// line is split again.
    spans: Vec<(usize, usize)>,
    quoted: bool,
    unquoted: Vec<u8>,
    recent: Recent,
}

/// What the previous row had: every row of a vehicle repeats its id and registration, which are
/// checked and parsed once.
#[derive(Clone, Default)]
struct Recent {
    vehicle: String,
    /// Whether `vehicle` holds no comma, line feed or quote (it was not read from a quoted field).
    vehicle_is_plain: bool,
    registration: Vec<u8>,
    registration_date: Option<NaiveDate>,
    years: Years,
}

/// January 1st of the years read lately, by year modulo 32: a date is then made from its day of
/// the year with no calendar table (chrono's cost cache misses next to the forecaster's work).
#[derive(Clone, Default)]
struct Years([(u32, Option<NaiveDate>); 32]);

impl Years {
    #[inline(always)]
    fn first_day(&mut self, year: u32) -> Option<NaiveDate> {
        let slot = &mut self.0[year as usize % 32];
        if slot.0 != year || slot.1.is_none() {
            *slot = (year, NaiveDate::from_yo_opt(year as i32, 1));
        }
        slot.1
    }
}

/// `YYYY-MM-DD`, read by hand when it is exactly that, else as chrono reads `%Y-%m-%d`.
fn parse_date(text: &[u8], years: &mut Years) -> Result<NaiveDate> {
    if let Some(date) = exact_date(text, years) {
        return Ok(date);
    }
    let text = String::from_utf8_lossy(text);
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .with_context(|| format!("{text:?} is not YYYY-MM-DD"))
}

/// A valid date written exactly `YYYY-MM-DD`, made from its day of the year.
#[inline(always)]
fn exact_date(text: &[u8], years: &mut Years) -> Option<NaiveDate> {
    /// Days before each month, and in the year, of a common year.
    const BEFORE: [u32; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = <&[u8; 10]>::try_from(text).ok()? else {
        return None;
    };
    // All eight are digits: each byte's high half 3, and its low half at most 9 (adding 6 keeps
    // the high half, with no carry between bytes).
    let word = u64::from_le_bytes([y0, y1, y2, y3, m0, m1, d0, d1]);
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    const THREES: u64 = 0x3030_3030_3030_3030;
    if word & HIGH != THREES || (word + 0x0606_0606_0606_0606) & HIGH != THREES {
        return None;
    }
    let [y0, y1, y2, y3, m0, m1, d0, d1] = (word & !HIGH).to_le_bytes().map(u32::from);
    let year = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
    let (month, day) = ((m0 * 10 + m1) as usize, d0 * 10 + d1);
    if !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let first_day = years.first_day(year)?;
    let leap = first_day.leap_year();
    let february = u32::from(leap && month == 2);
    if day > BEFORE[month] - BEFORE[month - 1] + february {
        return None;
    }
    let ordinal = BEFORE[month - 1] + u32::from(leap && month > 2) + day;
    first_day.with_ordinal(ordinal)
}

/// A header in the order of almost every log: vehicle_id, date, odometer_km, then
/// first_registration and source where it has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Usual {
    registration: bool,
    source: bool,
}

impl Usual {
    fn of(kinds: &[Kind]) -> Option<Usual> {
        let rest = kinds.strip_prefix(&[Kind::Vehicle, Kind::Date, Kind::Km])?;
        let (registration, rest) = match rest.split_first() {
            Some((Kind::Registration, rest)) => (true, rest),
            _ => (false, rest),
        };
        match rest {
            [] => Some(Usual {
                registration,
                source: false,
            }),
            [Kind::Source] => Some(Usual {
                registration,
                source: true,
            }),
            _ => None,
        }
    }
}

/// A row in the usual column order that repeats the previous row's vehicle (and its
/// registration, or has none), read straight through: the end of its line, its registration and
/// its reading, as [`RowParser::plain_row`] reads it. `None` for any other row, left to
/// `plain_row`'s loop.
#[inline(always)]
fn repeated_row(
    usual: Usual,
    data: &[u8],
    recent: &mut Recent,
) -> Option<(usize, Option<NaiveDate>, Reading)> {
    let vehicle = recent.vehicle.as_bytes();
    let mut p = vehicle.len();
    if !recent.vehicle_is_plain || vehicle.is_empty() || !same(data.get(..p)?, vehicle) {
        return None;
    }
    p = next_field(data, p, false)?;
    let date = exact_date(data.get(p..p + 10)?, &mut recent.years)?;
    p = next_field(data, p + 10, false)?;
    // One to nine digits.
    let mut km = 0u32;
    let mut end = p;
    while let Some(&b) = data.get(end).filter(|b| b.is_ascii_digit()) {
        if end - p == 9 {
            return None;
        }
        km = km * 10 + u32::from(b - b'0');
        end += 1;
    }
    if end == p {
        return None;
    }
    let last = !usual.registration && !usual.source;
    p = next_field(data, end, last)?;
    let mut registration = None;
    if usual.registration {
        let last = !usual.source;
        p = match next_field(data, p, last) {
            Some(next) => next,
            None => {
                let known = &recent.registration;
                let end = p + known.len();
                registration = recent.registration_date;
                if registration.is_none() || !same(data.get(p..end)?, known) {
                    return None;
                }
                next_field(data, end, last)?
            }
        };
    }
    let mut source = ReadingSource::Visit;
    if usual.source {
        p = match next_field(data, p, true) {
            Some(end) => end,
            None if data[p..].starts_with(b"visit") => next_field(data, p + 5, true)?,
            None if data[p..].starts_with(b"customer_reported") => {
                source = ReadingSource::CustomerReported;
                next_field(data, p + 17, true)?
            }
            None => return None,
        };
    }
    Some((p, registration, Reading { date, km, source }))
}

/// After a field that ends at `end`: where the next one starts, or for the `last` field the end
/// of the line (its `\n`, after a `\r` or not, or the end of `data`); `None` if neither follows.
#[inline(always)]
fn next_field(data: &[u8], end: usize, last: bool) -> Option<usize> {
    match data.get(end) {
        Some(b',') if !last => Some(end + 1),
        Some(b'\n') | None if last => Some(end),
        Some(b'\r') if last && data.get(end + 1) == Some(&b'\n') => Some(end + 1),
        _ => None,
    }
}

/// What a column holds, for [`RowParser::plain_row`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vehicle,
    Date,
    Km,
    Registration,
    Source,
    Other,
}

impl RowParser {
    pub(crate) fn new(columns: Columns) -> Self {
        let kinds: Vec<Kind> = (0..columns.count)
            .map(|i| match i {
                _ if i == columns.vehicle => Kind::Vehicle,
                _ if i == columns.date => Kind::Date,
                _ if i == columns.km => Kind::Km,
                _ if Some(i) == columns.registration => Kind::Registration,
                _ if Some(i) == columns.source => Kind::Source,
                _ => Kind::Other,
            })
            .collect();
        RowParser {
            columns,
            usual: Usual::of(&kinds),
            kinds,
            spans: Vec::with_capacity(8),
            quoted: false,
            unquoted: Vec::new(),
            recent: Recent::default(),
        }
    }

    /// The end of the line that starts `data` (the index of its `\n`; `None` when `data` has
    /// none), splitting the line into fields on the way for [`RowParser::row`].
    pub(crate) fn scan(&mut self, data: &[u8]) -> Option<usize> {
        self.spans.clear();
        self.quoted = false;
        let mut start = 0;
        // Eight bytes at a time: a mask of the commas, line feeds and quotes among them.
        let words = data.chunks_exact(8);
        let rest = data.len() - words.remainder().len();
        for (n, word) in words.enumerate() {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            let mut found =
                bytes_equal(word, b',') | bytes_equal(word, b'\n') | bytes_equal(word, b'"');
            while found != 0 {
                let i = n * 8 + (found.trailing_zeros() / 8) as usize;
                found &= found - 1;
                if let Some(end) = self.special(data[i], i, &mut start) {
                    return Some(end);
                }
            }
        }
        for (i, &b) in data.iter().enumerate().skip(rest) {
            if let Some(end) = self.special(b, i, &mut start) {
                return Some(end);
            }
        }
        self.spans.push((start, data.len()));
        None
    }

    /// Handles the byte `b` at `i` for [`RowParser::scan`]: the end of the line at a line feed.
    #[inline(always)]
    fn special(&mut self, b: u8, i: usize, start: &mut usize) -> Option<usize> {
        match b {
            b',' => {
                self.spans.push((*start, i));
                *start = i + 1;
            }
            b'\n' => {
                self.spans.push((*start, i));
                return Some(i);
            }
            b'"' => self.quoted = true,
            _ => {}
        }
        None
    }

    /// The row of the line that starts `data` and the end of the line (the index of its `\n`, or
    /// `data.len()`), read in one pass when the line is plain: no quotes, no blanks around the
    /// fields, dates exactly `YYYY-MM-DD`, km in at most nine digits, a `\r` only before the `\n`.
    /// `None` for any other line, left to [`RowParser::scan`] and [`RowParser::row`], which read
    /// every row this reads, and the same, and tell what is wrong with a bad one.
    pub(crate) fn plain_row<'a>(&'a mut self, data: &'a [u8]) -> Option<(usize, Row<'a>)> {
        if let Some(usual) = self.usual {
            if let Some((end, registration, reading)) = repeated_row(usual, data, &mut self.recent)
            {
                let row = Row {
                    vehicle: &self.recent.vehicle,
                    new_vehicle: false,
                    registration,
                    reading,
                };
                return Some((end, row));
            }
        }
        let RowParser { kinds, recent, .. } = self;
        let (mut vehicle, mut date, mut km) = (None, None, None);
        let mut registration = None;
        let mut source = ReadingSource::Visit;
        let mut repeated = false;
        let mut p = 0;
        for (k, &kind) in kinds.iter().enumerate() {
            let start = p;
            // The end of the field: its comma, or its line's end for the last one.
            let end = match kind {
                Kind::Date => start + 10,
                Kind::Km => {
                    start
                        + data[start..]
                            .iter()
                            .take_while(|b| b.is_ascii_digit())
                            .count()
                }
                // A vehicle's rows repeat its id and registration: the previous row's text, where
                // it recurs up to a delimiter, ends the field without a scan.
                Kind::Vehicle if recent.vehicle_is_plain => {
                    let end = repeated_end(data, start, recent.vehicle.as_bytes());
                    repeated = end.is_some();
                    end.unwrap_or_else(|| text_end(data, start))
                }
                Kind::Registration => repeated_end(data, start, &recent.registration)
                    .unwrap_or_else(|| text_end(data, start)),
                _ => text_end(data, start),
            };
            let last = k + 1 == kinds.len();
            p = end + 1;
            let field = match data.get(end) {
                Some(b',') if !last => &data[start..end],
                Some(b'\n') | None if last => {
                    let field = data.get(start..end)?;
                    field.strip_suffix(b"\r").unwrap_or(field)
                }
                Some(b'\r') if last && data.get(end + 1) == Some(&b'\n') => {
                    p = end + 2;
                    &data[start..end]
                }
                _ => return None,
            };
            match kind {
                Kind::Vehicle => vehicle = Some(field),
                Kind::Date => date = Some(exact_date(field, &mut recent.years)?),
                Kind::Km if (1..=9).contains(&field.len()) => {
                    km = Some(field.iter().fold(0, |km, &b| km * 10 + u32::from(b - b'0')));
                }
                Kind::Km => return None,
                Kind::Registration if field.is_empty() => {}
                Kind::Registration
                    if recent.registration_date.is_some() && same(field, &recent.registration) =>
                {
                    registration = recent.registration_date;
                }
                Kind::Registration => {
                    let day = exact_date(field, &mut recent.years)?;
                    recent.registration.clear();
                    recent.registration.extend_from_slice(field);
                    recent.registration_date = Some(day);
                    registration = Some(day);
                }
                Kind::Source => {
                    source = match field {
                        b"" | b"visit" => ReadingSource::Visit,
                        b"customer_reported" => ReadingSource::CustomerReported,
                        _ => return None,
                    }
                }
                Kind::Other => {}
            }
        }
        let vehicle = vehicle?;
        let (&first, &last) = (vehicle.first()?, vehicle.last()?);
        if first.is_ascii_whitespace() || last.is_ascii_whitespace() {
            return None;
        }
        let new_vehicle = !repeated && !same(vehicle, recent.vehicle.as_bytes());
        if new_vehicle {
            let vehicle = std::str::from_utf8(vehicle).ok()?;
            recent.vehicle.clear();
            recent.vehicle.push_str(vehicle);
            recent.vehicle_is_plain = true;
        }
        let row = Row {
            vehicle: &recent.vehicle,
            new_vehicle,
            registration,
            reading: Reading {
                date: date?,
                km: km?,
                source,
            },
        };
        Some((p - 1, row))
    }

    /// The vehicle of `line` (without its `\n`): `Ok(None)` for a blank line, `Err` for a line
    /// that cannot be split into the header's fields.
    pub(crate) fn vehicle_of(&mut self, line: &[u8]) -> Result<Option<Vec<u8>>> {
        self.scan(line);
        let RowParser {
            columns,
            spans,
            quoted,
            unquoted,
            ..
        } = self;
        let Some(bytes) = fields(columns, spans, *quoted, unquoted, line, 0)? else {
            return Ok(None);
        };
        let (start, end) = spans[columns.vehicle];
        Ok(Some(bytes[start..end].trim_ascii().to_vec()))
    }

    /// The row of `line`, the line last [scanned](RowParser::scan) (without its `\n`), which is
    /// line `number` of the file; `None` for a blank line.
    pub(crate) fn row<'a>(&'a mut self, line: &'a [u8], number: u64) -> Result<Option<Row<'a>>> {
        let RowParser {
            columns,
            spans,
            quoted,
            unquoted,
            recent,
            ..
        } = self;
        let Some(bytes) = fields(columns, spans, *quoted, unquoted, line, number)? else {
            return Ok(None);
        };
        parse_row(bytes, spans, columns, number, recent).map(Some)
    }
}

/// The fields of a scanned line (`line`, without its `\n`): the bytes that `spans` point into
/// (a quoted line is split again, unquoted into `unquoted`); `None` for a blank line.
fn fields<'a>(
    columns: &Columns,
    spans: &mut Vec<(usize, usize)>,
    quoted: bool,
    unquoted: &'a mut Vec<u8>,
    line: &'a [u8],
    number: u64,
) -> Result<Option<&'a [u8]>> {
    let bytes: &'a [u8] = if quoted {
        split_quoted(line, spans, unquoted).map_err(|e| anyhow!("line {number}: {e}"))?;
        unquoted
    } else {
        line
    };
    if spans.len() != columns.count {
        if line.trim_ascii().is_empty() {
            return Ok(None);
        }
        bail!(
            "line {number}: {} fields where the header has {}",
            spans.len(),
            columns.count
        );
    }
    Ok(Some(bytes))
}

fn parse_row<'a>(
    bytes: &'a [u8],
    spans: &[(usize, usize)],
    columns: &Columns,
    line: u64,
    recent: &'a mut Recent,
) -> Result<Row<'a>> {
    let field = |i: usize| bytes[spans[i].0..spans[i].1].trim_ascii();
    let vehicle = field(columns.vehicle);
    if vehicle.is_empty() {
        bail!("line {line}: empty vehicle_id");
    }
    let new_vehicle = !same(vehicle, recent.vehicle.as_bytes());
    if new_vehicle {
        let vehicle = std::str::from_utf8(vehicle)
            .map_err(|_| anyhow!("line {line}: vehicle_id is not UTF-8"))?;
        recent.vehicle.clear();
        recent.vehicle.push_str(vehicle);
        recent.vehicle_is_plain = !vehicle.bytes().any(|b| matches!(b, b',' | b'\n' | b'"'));
    }
    let date = parse_date(field(columns.date), &mut recent.years)
        .with_context(|| format!("line {line}: bad date"))?;
    let km = parse_km(field(columns.km))
        .with_context(|| format!("line {line}: odometer_km must be a whole number of km"))?;
    let registration = match columns.registration.map(field) {
        None | Some(b"") => None,
        Some(text) if recent.registration_date.is_some() && same(text, &recent.registration) => {
            recent.registration_date
        }
        Some(text) => {
            let date = parse_date(text, &mut recent.years)
                .with_context(|| format!("line {line}: bad first_registration"))?;
            recent.registration.clear();
            recent.registration.extend_from_slice(text);
            recent.registration_date = Some(date);
            Some(date)
        }
    };
    let source = match columns.source.map(field) {
        None | Some(b"" | b"visit") => ReadingSource::Visit,
        Some(b"customer_reported") => ReadingSource::CustomerReported,
        Some(other) => bail!(
            "line {line}: unknown source {:?}",
            String::from_utf8_lossy(other)
        ),
    };
    Ok(Row {
        vehicle: &recent.vehicle,
        new_vehicle,
        registration,
        reading: Reading { date, km, source },
    })
}

/// The index of the first comma, line feed or quote in `data` from `start` on, else its length:
/// eight bytes at a time.
#[inline(always)]
fn text_end(data: &[u8], start: usize) -> usize {
    let mut i = start;
    while let Some(word) = data.get(i..i + 8) {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let found = bytes_equal(word, b',') | bytes_equal(word, b'\n') | bytes_equal(word, b'"');
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + data[i..]
        .iter()
        .take_while(|&&b| b != b',' && b != b'\n' && b != b'"')
        .count()
}

/// Where a field that repeats `known` (a text without delimiters) ends: `start + known.len()`
/// when `data` holds `known` there followed by a delimiter or nothing, as [`text_end`] would
/// find; `None` otherwise.
#[inline(always)]
fn repeated_end(data: &[u8], start: usize, known: &[u8]) -> Option<usize> {
    let end = start + known.len();
    let delimited = matches!(data.get(end), None | Some(b',' | b'\n' | b'"'));
    (!known.is_empty() && delimited && same(data.get(start..end)?, known)).then_some(end)
}

/// Whether two short byte strings are equal (inline, where `==` calls `memcmp`): eight bytes at
/// a time.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |w: &[u8], i: usize| u64::from_le_bytes(w[i..i + 8].try_into().unwrap_or_default());
    let mut i = 0;
    while i + 8 <= a.len() {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    a[i..].iter().zip(&b[i..]).all(|(x, y)| x == y)
}

/// A mask with the top bit of each byte of `word` that equals `b`.
#[inline(always)]
pub(crate) fn bytes_equal(word: u64, b: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ (0x0101_0101_0101_0101 * u64::from(b));
    // A byte of `x` is zero exactly when its top bit stays clear here (no carry between bytes).
    !(((x & LOW7) + LOW7) | x) & !LOW7
}

/// Splits `line` (without its `\n`) into fields with RFC 4180 quoting: a field that starts with
/// `"` (after blanks) runs to the closing `"`, a doubled `""` inside standing for one. The fields'
/// bytes go to `text`, their spans in it to `spans`.
fn split_quoted(
    line: &[u8],
    spans: &mut Vec<(usize, usize)>,
    text: &mut Vec<u8>,
) -> Result<(), &'static str> {
    spans.clear();
    text.clear();
    let mut i = 0;
    loop {
        let start = text.len();
        let blanks = line[i..]
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        if line.get(i + blanks) == Some(&b'"') {
            i += blanks + 1;
            loop {
                let Some(close) = line[i..].iter().position(|&b| b == b'"') else {
                    return Err("a quoted field has no closing quote (a field may not span lines)");
                };
                text.extend_from_slice(&line[i..i + close]);
                i += close + 1;
                if line.get(i) != Some(&b'"') {
                    break;
                }
                text.push(b'"');
                i += 1;
            }
            i += line[i..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            spans.push((start, text.len()));
            match line.get(i) {
                None => return Ok(()),
                Some(b',') => i += 1,
                Some(_) => return Err("text after the closing quote of a field"),
            }
        } else {
            let end = line[i..]
                .iter()
                .position(|&b| b == b',')
                .map_or(line.len(), |n| i + n);
            if line[i..end].contains(&b'"') {
                return Err("a quote inside an unquoted field");
            }
            text.extend_from_slice(&line[i..end]);
            spans.push((start, text.len()));
            if end == line.len() {
                return Ok(());
            }
            i = end + 1;
        }
    }
}

/// A whole number of km: digits by hand, anything else as `u32::from_str` reads it.
fn parse_km(text: &[u8]) -> Result<u32> {
    if !text.is_empty() && text.len() <= 9 && text.iter().all(u8::is_ascii_digit) {
        return Ok(text.iter().fold(0, |km, &b| km * 10 + u32::from(b - b'0')));
    }
    Ok(String::from_utf8_lossy(text).parse::<u32>()?)
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

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// The error of the first bad row, with its causes.
    fn error(text: &str) -> String {
        format!("{:#}", vehicles(text).unwrap_err())
    }

    #[test]
    fn each_refused_row_names_its_line_and_what_is_wrong() {
        let head = "vehicle_id,date,odometer_km,first_registration,source\na,2020-01-01,1,,\n";
        let cases = [
            (" ,2020-01-02,5,,", "line 3: empty vehicle_id"),
            (
                "a,2020-02-30,5,,",
                "line 3: bad date: \"2020-02-30\" is not YYYY-MM-DD",
            ),
            (
                "a,01.02.2020,5,,",
                "line 3: bad date: \"01.02.2020\" is not YYYY-MM-DD",
            ),
            (
                "a,2020-01-02,5.5,,",
                "line 3: odometer_km must be a whole number of km",
            ),
            (
                "a,2020-01-02,,,",
                "line 3: odometer_km must be a whole number of km",
            ),
            (
                "a,2020-01-02,9999999999,,",
                "line 3: odometer_km must be a whole number",
            ),
            (
                "a,2020-01-02,5,2019-13-01,",
                "line 3: bad first_registration",
            ),
            (
                "a,2020-01-02,5,,dealer",
                "line 3: unknown source \"dealer\"",
            ),
            ("a,2020-01-02,5,", "line 3: 4 fields where the header has 5"),
            (
                "a,2020-01-02,5,,visit,x",
                "line 3: 6 fields where the header has 5",
            ),
            (
                "\"a,2020-01-02,5,,",
                "line 3: a quoted field has no closing quote",
            ),
            (
                "\"a\"b,2020-01-02,5,,",
                "line 3: text after the closing quote",
            ),
            (
                "a\"b,2020-01-02,5,,",
                "line 3: a quote inside an unquoted field",
            ),
        ];
        for (row, expected) in cases {
            let err = error(&format!("{head}{row}\n"));
            assert!(err.starts_with(expected), "{row:?}: {err}");
        }
        let err = error(&format!(
            "{head}   \n\nb,2020-01-01,1,,\na,2020-03-01,2,,\n"
        ));
        assert!(
            err.contains("line 6: rows of vehicle \"a\" are not contiguous"),
            "{err}"
        );
    }

    #[test]
    fn crlf_line_ends_a_byte_order_mark_blanks_and_a_missing_last_line_end_are_read() {
        let logs = vehicles(
            "\u{feff}vehicle_id,date,odometer_km,first_registration\r\n\
             a,2020-01-01,100,2019-01-01\r\n\r\n  a , 2020-06-01 ,\t5000 ,\r\nb,2021-01-01,7,",
        )
        .unwrap();
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].vehicle_id, "a");
        assert_eq!(logs[0].readings.len(), 2);
        assert_eq!(logs[0].readings[1].date, day("2020-06-01"));
        assert_eq!(logs[0].readings[1].km, 5000);
        assert_eq!(logs[0].first_registration, Some(day("2019-01-01")));
        assert_eq!(logs[1].readings[0].km, 7);
    }

    #[test]
    fn quoted_fields_are_unquoted_and_columns_follow_the_header() {
        let logs = vehicles(
            "\"source\",odometer_km,\"vehicle_id\",date\n\
             visit,\"100\",\"x, \"\"the\"\" car\",2020-01-01\n\
             \"customer_reported\",200, \"x, \"\"the\"\" car\" ,\"2020-02-01\"\n\
             ,300,y,2020-03-01\n",
        )
        .unwrap();
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].vehicle_id, "x, \"the\" car");
        assert_eq!(logs[0].readings[1].km, 200);
        assert_eq!(logs[0].readings[1].source, ReadingSource::CustomerReported);
        assert_eq!(logs[0].readings[1].date, day("2020-02-01"));
        assert_eq!(logs[1].vehicle_id, "y");
        assert_eq!(logs[1].first_registration, None);
    }

    #[test]
    fn each_vehicle_gets_its_own_registration() {
        let logs = vehicles(
            "vehicle_id,date,odometer_km,first_registration\n\
             a,2020-01-01,1,2019-01-01\na,2020-02-01,2,2019-01-01\nb,2020-01-01,1,\n\
             b,2020-02-01,2,2018-05-05\nc,2020-01-01,1,2019-01-01\n",
        )
        .unwrap();
        let registrations: Vec<_> = logs.iter().map(|l| l.first_registration).collect();
        assert_eq!(
            registrations,
            [
                Some(day("2019-01-01")),
                Some(day("2018-05-05")),
                Some(day("2019-01-01"))
            ]
        );
    }

    #[test]
    fn a_plain_row_is_read_as_the_general_parser_reads_it() {
        let headers = [
            "vehicle_id,date,odometer_km,first_registration,source",
            "source,odometer_km,note,date,vehicle_id",
            "vehicle_id,date,odometer_km",
            "odometer_km,vehicle_id,date",
        ];
        // Per column, three plain values first, then others.
        let fields = [
            ["a", "b", "\u{e9}t\u{e9}", "a ", " a", "", "\"a\"", "a\r"],
            [
                "2020-01-01",
                "2021-12-31",
                "2020-02-29",
                "2020-1-01",
                " 2020-01-01",
                "2020-02-30",
                "2020-01-01\r",
                "x",
            ],
            ["0", "5", "123456789", "1234567890", "+5", "5 ", "", "5\r"],
            [
                "",
                "2019-01-01",
                "2018-05-05",
                "2019-01-01 ",
                "2019-1-1",
                "bad",
                "\r",
                "2019-01-01\r",
            ],
            [
                "",
                "visit",
                "customer_reported",
                "Visit",
                " visit",
                "\r",
                "visit\r",
                "x",
            ],
        ];
        let mut n = 0;
        for header in headers {
            let columns = Columns::from_header(header.as_bytes()).unwrap();
            let (mut plain, mut general) = (RowParser::new(columns), RowParser::new(columns));
            let names: Vec<&str> = header.split(',').collect();
            let mut seed = 7u64;
            for i in 0..20_000 {
                let mut line: Vec<String> = names
                    .iter()
                    .map(|name| {
                        let column = match *name {
                            "vehicle_id" => 0,
                            "date" => 1,
                            "odometer_km" => 2,
                            "first_registration" => 3,
                            "source" => 4,
                            _ => return "note".to_owned(),
                        };
                        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        // Mostly the first, plain, values.
                        let pick = (seed >> 33) as usize % 16;
                        fields[column][if pick < 8 { pick % 3 } else { pick - 8 }].to_owned()
                    })
                    .collect();
                if i % 7 == 0 {
                    line.pop();
                }
                let mut text = line.join(",");
                text.push_str(["\n", "\r\n", ""][i % 3]);
                let data = text.as_bytes();
                let Some((end, row)) = plain.plain_row(data) else {
                    continue;
                };
                n += 1;
                let (vehicle, new_vehicle) = (row.vehicle.to_owned(), row.new_vehicle);
                let (registration, reading) = (row.registration, row.reading);
                assert_eq!(
                    Some(end),
                    general.scan(data).or(Some(data.len())),
                    "{text:?}"
                );
                let row = general.row(&data[..end], 1).unwrap().unwrap();
                assert_eq!(row.vehicle, vehicle, "{text:?}");
                assert_eq!(row.new_vehicle, new_vehicle, "{text:?}");
                assert_eq!(row.registration, registration, "{text:?}");
                assert_eq!(row.reading, reading, "{text:?}");
            }
        }
        assert!(n > 3000, "{n}");
    }

    #[test]
    fn dates_are_read_as_chrono_reads_them() {
        for text in [
            "2020-01-01",
            "2020-02-29",
            "2021-02-29",
            "2020-13-01",
            "2020-00-10",
            "2020-01-00",
            "2020-01-32",
            "0000-01-01",
            "9999-12-31",
            "2020-1-5",
            "2020-01-5",
            "+2020-01-01",
            "2020/01/01",
            "2020-01-01x",
            "",
            "20200101",
            "1900-02-29",
            "2000-02-29",
            "2o20-01-01",
        ] {
            let ours = parse_date(text.as_bytes(), &mut Years::default()).ok();
            let chrono = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
            assert_eq!(ours, chrono, "{text:?}");
        }
        // Every day of four centuries, and the days that are not.
        let mut years = Years::default();
        for year in 1800..2200 {
            for month in 0..=13 {
                for day in 0..=32 {
                    let text = format!("{year:04}-{month:02}-{day:02}");
                    let chrono = NaiveDate::from_ymd_opt(year, month, day);
                    assert_eq!(exact_date(text.as_bytes(), &mut years), chrono, "{text}");
                }
            }
        }
    }

    /// A log of `vehicles` vehicles, three rows each; rows given as `(line, text)` replace theirs.
    fn fleet(vehicles: usize, replace: &[(usize, &str)]) -> String {
        let mut text = String::from("vehicle_id,date,odometer_km,first_registration\n");
        let mut line = 1;
        for v in 0..vehicles {
            for r in 0..3 {
                line += 1;
                match replace.iter().find(|(l, _)| *l == line) {
                    Some((_, row)) => text.push_str(row),
                    None => text.push_str(&format!(
                        "car-{v},20{:02}-0{}-1{},{},2015-0{}-01",
                        10 + r,
                        1 + v % 9,
                        v % 10,
                        1000 * (r + 1) + v,
                        1 + v % 9
                    )),
                }
                text.push('\n');
            }
        }
        text
    }

    /// The vehicles of `text` read in blocks of about `block` bytes, and the error the forecast
    /// command would report, with the line numbers it would add up.
    fn in_blocks(text: &str, block: usize) -> (Vec<VehicleLog>, Option<u64>) {
        let mut reader = BlockReader::new(text.as_bytes(), block).unwrap();
        let mut rows = reader.rows();
        let (mut out, mut buf, mut line) = (Vec::new(), Vec::new(), 2);
        let mut log = VehicleLog::default();
        while reader.next_block(&mut buf).unwrap() {
            let (lines, failed) = block_vehicles(&mut rows, &buf, &mut log, |log, at| {
                assert_eq!(rows_first_vehicle(&buf, at), log.vehicle_id);
                out.push(log.clone());
            });
            if let Some(at) = failed {
                return (out, Some(line + at.line));
            }
            line += lines;
        }
        (out, None)
    }

    fn rows_first_vehicle(block: &[u8], at: LineAt) -> String {
        let line = std::str::from_utf8(&block[at.start..at.end]).unwrap();
        line.split(',').next().unwrap().to_owned()
    }

    fn same_logs(a: &[VehicleLog], b: &[VehicleLog]) {
        assert_eq!(a.len(), b.len());
        for (a, b) in a.iter().zip(b) {
            assert_eq!(a.vehicle_id, b.vehicle_id);
            assert_eq!(a.first_registration, b.first_registration);
            assert_eq!(a.readings, b.readings);
        }
    }

    #[test]
    fn blocks_end_between_vehicles_and_read_what_the_stream_reads() {
        let text = fleet(
            40,
            &[
                (9, ""),
                (10, "  "),
                (30, "\"car-9\",2012-01-19,3009,2015-01-01"),
            ],
        );
        let streamed = vehicles(&text).unwrap();
        assert_eq!(streamed.len(), 40);
        for block in [1, 2, 7, 40, 41, 100, 1000, 1 << 20] {
            let (logs, failed) = in_blocks(&text, block);
            assert_eq!(failed, None, "block {block}");
            same_logs(&logs, &streamed);
        }
    }

    #[test]
    fn an_id_read_from_quotes_is_not_taken_for_the_start_of_the_next_row() {
        // The id `a,b`, quoted, then a row that starts with the same bytes unquoted: its id is
        // `a`, and it has a field too many.
        let text = "vehicle_id,date,odometer_km\n\"a,b\",2020-01-01,1\na,b,2020-01-02,2\n";
        let err = vehicles(text).unwrap_err();
        assert!(err.to_string().starts_with("line 3: 4 fields"), "{err}");
        let mut reader = BlockReader::new(text.as_bytes(), 1 << 20).unwrap();
        let (mut rows, mut buf, mut log) = (reader.rows(), Vec::new(), VehicleLog::default());
        assert!(reader.next_block(&mut buf).unwrap());
        let (_, failed) = block_vehicles(&mut rows, &buf, &mut log, |_, _| {});
        // Line 3 of the file: the second of the block.
        assert_eq!(failed.map(|at| at.line), Some(1));
    }

    #[test]
    fn a_bad_row_in_a_later_block_is_found_on_its_line() {
        let text = fleet(40, &[(77, "car-25,2011-02-30,1,")]);
        let err = vehicles(&text).unwrap_err();
        assert!(err.to_string().starts_with("line 77: bad date"), "{err}");
        for block in [1, 7, 40, 100, 1 << 20] {
            let (logs, failed) = in_blocks(&text, block);
            assert_eq!(failed, Some(77), "block {block}");
            // The vehicles before the bad row's; the one just before it too when a block ends
            // there (the stream stops before it).
            assert!(
                (24..=25).contains(&logs.len()),
                "block {block}: {}",
                logs.len()
            );
        }
    }

    /// Hands out one byte a read, as a slow pipe may.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some((first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            if buf.is_empty() {
                return Ok(0);
            }
            buf[0] = *first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn short_reads_and_lines_longer_than_the_buffer_are_read() {
        let long_id = "v".repeat(100_000);
        let text = format!("{}{long_id},2020-01-01,5,\n", fleet(5, &[]));
        let expected = vehicles(&text).unwrap();
        assert_eq!(expected.last().unwrap().vehicle_id, long_id);
        let mut reader = LogReader::new(Trickle(text.as_bytes())).unwrap();
        let (mut logs, mut log) = (Vec::new(), VehicleLog::default());
        while reader.next_vehicle(&mut log).unwrap() {
            logs.push(log.clone());
        }
        same_logs(&logs, &expected);
        let mut reader = BlockReader::new(Trickle(text.as_bytes()), 3).unwrap();
        let mut rows = reader.rows();
        let (mut logs, mut buf) = (Vec::new(), Vec::new());
        while reader.next_block(&mut buf).unwrap() {
            block_vehicles(&mut rows, &buf, &mut log, |log, _| logs.push(log.clone()));
        }
        same_logs(&logs, &expected);
    }

    #[test]
    fn an_empty_file_or_a_header_alone_has_no_vehicles() {
        assert!(error("").contains("missing column \"vehicle_id\""));
        assert!(vehicles("vehicle_id,date,odometer_km").unwrap().is_empty());
        assert!(vehicles("vehicle_id,date,odometer_km\r\n\r\n")
            .unwrap()
            .is_empty());
        let mut reader = BlockReader::new(&b"vehicle_id,date,odometer_km"[..], 4).unwrap();
        assert!(!reader.next_block(&mut Vec::new()).unwrap());
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
