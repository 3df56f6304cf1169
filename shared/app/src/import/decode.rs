//! The export's text encoding: UTF-8 (with or without a BOM) or Windows-1251, told apart by the
//! BOM and by whether the bytes are valid UTF-8; and the text read piece by piece in it.

use std::io::{self, Read};

use encoding_rs::{Decoder, UTF_8, WINDOWS_1251};

/// The encoding an export was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Utf8WithBom,
    Windows1251,
}

impl TextEncoding {
    /// The name a dealer's staff knows it by.
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8WithBom => "UTF-8 (BOM)",
            TextEncoding::Windows1251 => "Windows-1251",
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Bytes read from the source at a time.
const CHUNK: usize = 1 << 20;

/// Why a read of the text stopped.
#[derive(Debug)]
pub(crate) enum TextError {
    /// The bytes are not valid UTF-8 after all: the whole export is Windows-1251.
    NotUtf8,
    Io(io::Error),
}

impl From<io::Error> for TextError {
    fn from(e: io::Error) -> Self {
        TextError::Io(e)
    }
}

/// The export's text, decoded a chunk at a time. A UTF-8 BOM means UTF-8 (a bad sequence after
/// it becomes U+FFFD); without one the bytes are read as UTF-8 until one is not valid
/// ([`TextError::NotUtf8`]: read the export again as Windows-1251, which maps every byte).
pub(crate) struct Text<R> {
    source: R,
    encoding: TextEncoding,
    decoder: Option<Decoder>,
    bytes: Vec<u8>,
    /// The start of a UTF-8 sequence that the next chunk completes.
    carry: usize,
    started: bool,
    done: bool,
}

impl<R: Read> Text<R> {
    /// Reads `source` as UTF-8 (with or without a BOM), or, with `windows_1251`, as
    /// Windows-1251.
    pub(crate) fn new(source: R, windows_1251: bool) -> Self {
        let (encoding, decoder) = if windows_1251 {
            let decoder = WINDOWS_1251.new_decoder_without_bom_handling();
            (TextEncoding::Windows1251, Some(decoder))
        } else {
            (TextEncoding::Utf8, None)
        };
        Text {
            source,
            encoding,
            decoder,
            bytes: Vec::with_capacity(CHUNK + 4),
            carry: 0,
            started: false,
            done: false,
        }
    }

    /// The encoding the text is read in (known once the first chunk is read).
    pub(crate) fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    /// Appends the next piece of the text to `out`; false at the end.
    pub(crate) fn read_into(&mut self, out: &mut String) -> Result<bool, TextError> {
        if self.done {
            return Ok(false);
        }
        let kept = self.carry;
        self.bytes.truncate(kept);
        self.bytes.resize(kept + CHUNK, 0);
        let mut filled = kept;
        while filled < self.bytes.len() {
            match self.source.read(&mut self.bytes[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.bytes.truncate(filled);
        let last = filled < kept + CHUNK;
        let mut input = &self.bytes[..];
        if !self.started {
            self.started = true;
            if let Some(rest) = input
                .strip_prefix(UTF8_BOM)
                .filter(|_| self.decoder.is_none())
            {
                self.encoding = TextEncoding::Utf8WithBom;
                self.decoder = Some(UTF_8.new_decoder_without_bom_handling());
                input = rest;
            }
        }
        match &mut self.decoder {
            Some(decoder) => {
                let needed = decoder.max_utf8_buffer_length(input.len()).unwrap_or(0);
                out.reserve(needed);
                let _ = decoder.decode_to_string(input, out, last);
                self.carry = 0;
            }
            None => match std::str::from_utf8(input) {
                Ok(text) => {
                    out.push_str(text);
                    self.carry = 0;
                }
                Err(e) if e.error_len().is_none() && !last => {
                    let valid = e.valid_up_to();
                    out.push_str(std::str::from_utf8(&input[..valid]).unwrap_or_default());
                    let tail = input.len() - valid;
                    self.bytes.copy_within(filled - tail.., 0);
                    self.carry = tail;
                }
                Err(_) => return Err(TextError::NotUtf8),
            },
        }
        self.done = last;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (String, TextEncoding) {
        for windows_1251 in [false, true] {
            let mut text = Text::new(bytes, windows_1251);
            let mut out = String::new();
            loop {
                match text.read_into(&mut out) {
                    Ok(true) => {}
                    Ok(false) => return (out, text.encoding()),
                    Err(TextError::NotUtf8) => break,
                    Err(TextError::Io(e)) => panic!("{e}"),
                }
            }
        }
        unreachable!("Windows-1251 maps every byte")
    }

    #[test]
    fn a_utf8_bom_is_dropped_and_named() {
        let (text, encoding) = decode("\u{feff}Заказ-наряд;Клиент".as_bytes());
        assert_eq!(text, "Заказ-наряд;Клиент");
        assert_eq!(encoding, TextEncoding::Utf8WithBom);
    }

    #[test]
    fn valid_utf8_without_a_bom_is_read_as_utf8() {
        let (text, encoding) = decode("Пробег".as_bytes());
        assert_eq!(text, "Пробег");
        assert_eq!(encoding, TextEncoding::Utf8);
    }

    #[test]
    fn windows_1251_bytes_are_decoded() {
        let (bytes, _, _) = WINDOWS_1251.encode("Запчасть;Работа;Шиномонтаж");
        let (text, encoding) = decode(&bytes);
        assert_eq!(text, "Запчасть;Работа;Шиномонтаж");
        assert_eq!(encoding, TextEncoding::Windows1251);
    }

    #[test]
    fn a_character_split_between_chunks_is_read_whole() {
        let line = "Фильтр масляный;";
        let mut text = "x".repeat(CHUNK - 1);
        text.push_str(&line.repeat(3));
        assert!(!text.is_char_boundary(CHUNK));
        assert_eq!(decode(text.as_bytes()), (text, TextEncoding::Utf8));
    }

    #[test]
    fn one_bad_byte_late_in_the_file_makes_it_windows_1251() {
        let mut bytes = "Пробег;".repeat(CHUNK / 4).into_bytes();
        bytes.push(0xC0);
        let (text, encoding) = decode(&bytes);
        assert_eq!(encoding, TextEncoding::Windows1251);
        assert!(text.ends_with('А'));
    }
}
