//! The export's records: `;`-separated fields, `"`-quoted where they hold a `;`, a quote (doubled)
//! or a line end, one record a line (LF, CRLF or CR; blank lines skipped), read as the `csv`
//! crate reads them, each with the line of the file it starts on.

use std::io::Read;

use super::decode::{Text, TextError};

/// Records read one after another, kept in one buffer.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    text: String,
    /// Where each field ends in `text`.
    ends: Vec<u32>,
    /// Each record's line and first field.
    records: Vec<(u64, u32)>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.records.clear();
    }

    /// The record at `i`.
    pub fn get(&self, i: usize) -> Record<'_> {
        let (line, first) = self.records[i];
        let last = self
            .records
            .get(i + 1)
            .map_or(self.ends.len(), |&(_, next)| next as usize);
        let start = match first {
            0 => 0,
            first => self.ends[first as usize - 1],
        };
        Record {
            text: &self.text,
            start,
            ends: &self.ends[first as usize..last],
            line,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Record<'_>> {
        (0..self.len()).map(|i| self.get(i))
    }

    fn start_record(&mut self, line: u64) {
        self.records.push((line, self.ends.len() as u32));
    }

    fn end_field(&mut self) {
        self.ends.push(self.text.len() as u32);
    }
}

/// One record: its fields and the line it starts on (the first line is 1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'b> {
    text: &'b str,
    /// Where the first field starts in `text`.
    start: u32,
    ends: &'b [u32],
    pub line: u64,
}

impl<'b> Record<'b> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The field at `i` (`""` past the last).
    pub fn get(&self, i: usize) -> &'b str {
        match self.ends.get(i) {
            Some(&end) => {
                let start = if i == 0 { self.start } else { self.ends[i - 1] };
                self.text.get(start as usize..end as usize).unwrap_or("")
            }
            None => "",
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &'b str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    StartRecord,
    StartField,
    InField,
    InQuoted,
    /// A quote inside a quoted field: doubled, or the field's end.
    QuoteInQuoted,
    /// After a CR that ended a record: an LF here belongs to it.
    AfterCr,
}

/// Records read from the export's text.
pub(crate) struct Records<R> {
    text: Text<R>,
    chunk: String,
    pos: usize,
    state: State,
    /// Line ends consumed so far.
    newlines: u64,
    at_end: bool,
}

impl<R: Read> Records<R> {
    pub(crate) fn new(text: Text<R>) -> Self {
        Records {
            text,
            chunk: String::new(),
            pos: 0,
            state: State::StartRecord,
            newlines: 0,
            at_end: false,
        }
    }

    pub(crate) fn text(&self) -> &Text<R> {
        &self.text
    }

    /// Reads the next record onto `batch`; false at the end of the export.
    pub(crate) fn next_record(&mut self, record: &mut Batch) -> Result<bool, TextError> {
        loop {
            if self.pos == self.chunk.len() {
                if self.at_end {
                    return Ok(false);
                }
                self.chunk.clear();
                self.pos = 0;
                if !self.text.read_into(&mut self.chunk)? {
                    self.at_end = true;
                    return Ok(self.finish(record));
                }
                continue;
            }
            if self.scan(record) {
                return Ok(true);
            }
        }
    }

    /// The end of the text: a record under way ends there.
    fn finish(&mut self, record: &mut Batch) -> bool {
        match std::mem::replace(&mut self.state, State::StartRecord) {
            State::StartRecord | State::AfterCr => false,
            _ => {
                record.end_field();
                true
            }
        }
    }

    /// Consumes the chunk until a record ends (true) or the chunk does (false).
    fn scan(&mut self, record: &mut Batch) -> bool {
        let bytes = self.chunk.as_bytes();
        while self.pos < bytes.len() {
            let b = bytes[self.pos];
            match self.state {
                State::StartRecord => match b {
                    b'\n' => {
                        self.newlines += 1;
                        self.pos += 1;
                    }
                    b'\r' => self.pos += 1,
                    _ => {
                        record.start_record(self.newlines + 1);
                        self.state = State::StartField;
                    }
                },
                State::AfterCr => {
                    if b == b'\n' {
                        self.newlines += 1;
                        self.pos += 1;
                    }
                    self.state = State::StartRecord;
                }
                State::StartField => match b {
                    b'"' => {
                        self.pos += 1;
                        self.state = State::InQuoted;
                    }
                    b';' => {
                        self.pos += 1;
                        record.end_field();
                    }
                    b'\r' | b'\n' => return self.end_record(b, record),
                    _ => self.state = State::InField,
                },
                State::InField => {
                    let run = bytes[self.pos..]
                        .iter()
                        .position(|&b| matches!(b, b';' | b'\r' | b'\n'))
                        .unwrap_or(bytes.len() - self.pos);
                    record.text.push_str(&self.chunk[self.pos..self.pos + run]);
                    self.pos += run;
                    match bytes.get(self.pos) {
                        Some(b';') => {
                            self.pos += 1;
                            record.end_field();
                            self.state = State::StartField;
                        }
                        Some(&end) => return self.end_record(end, record),
                        None => {}
                    }
                }
                State::InQuoted => {
                    let run = bytes[self.pos..]
                        .iter()
                        .position(|&b| matches!(b, b'"' | b'\n'))
                        .unwrap_or(bytes.len() - self.pos);
                    record.text.push_str(&self.chunk[self.pos..self.pos + run]);
                    self.pos += run;
                    match bytes.get(self.pos) {
                        Some(b'"') => {
                            self.pos += 1;
                            self.state = State::QuoteInQuoted;
                        }
                        Some(_) => {
                            self.newlines += 1;
                            self.pos += 1;
                            record.text.push('\n');
                        }
                        None => {}
                    }
                }
                State::QuoteInQuoted => match b {
                    b'"' => {
                        self.pos += 1;
                        record.text.push('"');
                        self.state = State::InQuoted;
                    }
                    b';' => {
                        self.pos += 1;
                        record.end_field();
                        self.state = State::StartField;
                    }
                    b'\r' | b'\n' => return self.end_record(b, record),
                    _ => self.state = State::InField,
                },
            }
        }
        false
    }

    /// A line end `b` (at `pos`) ends the record.
    fn end_record(&mut self, b: u8, record: &mut Batch) -> bool {
        record.end_field();
        self.pos += 1;
        if b == b'\n' {
            self.newlines += 1;
            self.state = State::StartRecord;
        } else {
            self.state = State::AfterCr;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record with its line, read as the `csv` crate reads the whole text.
    fn records(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut records = Records::new(Text::new(text.as_bytes(), false));
        let mut batch = Batch::default();
        while records.next_record(&mut batch).unwrap() {}
        batch
            .iter()
            .map(|record| (record.line, record.iter().map(str::to_owned).collect()))
            .collect()
    }

    fn by_csv(text: &str) -> Vec<Vec<String>> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b';')
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn records_are_split_as_the_csv_crate_splits_them_and_know_their_lines() {
        let text = "a;b\r\n\r\nc;\"d;\"\"e\"\"\nf\";g\n\n\"h\"i;;\rj\r\nk";
        let got = records(text);
        let fields: Vec<_> = got.iter().map(|(_, f)| f.clone()).collect();
        assert_eq!(fields, by_csv(text));
        let lines: Vec<_> = got.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [1, 3, 6, 6, 7]);
    }

    #[test]
    fn odd_quoting_and_blank_lines_read_as_the_csv_crate_reads_them() {
        for text in [
            "",
            "\n\n",
            ";",
            "a\"b\";c",
            "\"a\"\"\";\"\"",
            "\"open;quote\nacross\rlines",
            "x;y\r",
            "  \n;;;\n",
        ] {
            let fields: Vec<_> = records(text).into_iter().map(|(_, f)| f).collect();
            assert_eq!(fields, by_csv(text), "{text:?}");
        }
    }
}
