//! The export's text encoding: UTF-8 (with or without a BOM) or Windows-1251, told apart by the
//! BOM and by whether the bytes are valid UTF-8.

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

/// The export as text. A UTF-8 BOM means UTF-8; otherwise bytes that are valid UTF-8 are read
/// as UTF-8 (kept, no copy) and anything else as Windows-1251, which maps every byte (the bytes
/// are freed once decoded).
pub fn decode(bytes: Vec<u8>) -> (String, TextEncoding) {
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        let (text, _) = encoding_rs::UTF_8.decode_without_bom_handling(rest);
        return (text.into_owned(), TextEncoding::Utf8WithBom);
    }
    match String::from_utf8(bytes) {
        Ok(text) => (text, TextEncoding::Utf8),
        Err(e) => {
            let bytes = e.into_bytes();
            let (text, _) = encoding_rs::WINDOWS_1251.decode_without_bom_handling(&bytes);
            (text.into_owned(), TextEncoding::Windows1251)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_utf8_bom_is_dropped_and_named() {
        let (text, encoding) = decode("\u{feff}Заказ-наряд;Клиент".as_bytes().to_vec());
        assert_eq!(text, "Заказ-наряд;Клиент");
        assert_eq!(encoding, TextEncoding::Utf8WithBom);
    }

    #[test]
    fn valid_utf8_without_a_bom_is_read_as_utf8() {
        let (text, encoding) = decode("Пробег".as_bytes().to_vec());
        assert_eq!(text, "Пробег");
        assert_eq!(encoding, TextEncoding::Utf8);
    }

    #[test]
    fn windows_1251_bytes_are_decoded() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("Запчасть;Работа;Шиномонтаж");
        let (text, encoding) = decode(bytes.into_owned());
        assert_eq!(text, "Запчасть;Работа;Шиномонтаж");
        assert_eq!(encoding, TextEncoding::Windows1251);
    }
}
