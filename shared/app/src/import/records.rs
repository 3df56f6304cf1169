//! The export's records: `;`-separated fields, `"`-quoted where they hold a `;`, a quote (doubled)
//! or a line end, one record a line (LF, CRLF or CR; blank lines skipped), read as the `csv`
//! crate reads them, each with the line of the file it starts on.

use std::io::Read;

use super::decode::{Text, TextError};

/// One record: its fields and the line it starts on (the first line is 1).
#[derive(Debug, Default)]
pub(crate) struct Record {
    text: String,
    ends: Vec<usize>,
    pub line: u64,
}

impl Record {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The field at `i` (`""` past the last).
    pub fn get(&self, i: usize) -> &str {
        match self.ends.get(i) {
            Some(&end) => {
                let start = if i == 0 { 0 } else { self.ends[i - 1] };
                &self.text[start..end]
            }
            None => "",
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.get(i))
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    fn end_field(&mut self) {
        self.ends.push(self.text.len());
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

    /// Reads the next record into `record`; false at the end of the export.
    pub(crate) fn next_record(&mut self, record: &mut Record) -> Result<bool, TextError> {
        record.clear();
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
    fn finish(&mut self, record: &mut Record) -> bool {
        match std::mem::replace(&mut self.state, State::StartRecord) {
            State::StartRecord | State::AfterCr => false,
            _ => {
                record.end_field();
                true
            }
        }
    }

    /// Consumes the chunk until a record ends (true) or the chunk does (false).
    fn scan(&mut self, record: &mut Record) -> bool {
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
                        record.line = self.newlines + 1;
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
    fn end_record(&mut self, b: u8, record: &mut Record) -> bool {
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

    /// Every record with its line, read in chunks as the `csv` crate reads the whole text.
    fn records(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut records = Records::new(Text::new(text.as_bytes(), false));
        let mut record = Record::default();
        let mut out = Vec::new();
        while records.next_record(&mut record).unwrap() {
            out.push((record.line, record.iter().map(str::to_owned).collect()));
        }
        out
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
