//! The hand-written row parser: where the header puts the columns ([`Columns`]), and the rows
//! read by [`RowParser`], plain ones in one pass, any other with RFC 4180 quoting.

use anyhow::{anyhow, bail, Context, Result};
use chrono::NaiveDate;
use domain::{Reading, ReadingSource};

use super::bytes::{bytes_equal, repeated_end, same, text_end};
use super::date::{exact_date, parse_date, Years};

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
    pub(super) recent: Recent,
}

/// What the previous row had: every row of a vehicle repeats its id and registration, which are
/// checked and parsed once.
#[derive(Clone, Default)]
pub(super) struct Recent {
    pub(super) vehicle: String,
    /// Whether `vehicle` holds no comma, line feed or quote (it was not read from a quoted field).
    vehicle_is_plain: bool,
    registration: Vec<u8>,
    pub(super) registration_date: Option<NaiveDate>,
    years: Years,
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
