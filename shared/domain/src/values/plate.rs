//! A licence plate as the dealer searches for it: letters and digits only, upper case, and the
//! twelve letters Russian plates use written in Cyrillic whichever alphabet they were typed in,
//! so `a123bc 777`, `А 123 ВС 777` and `A123BC777` are one plate.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a plate was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlateError {
    #[error("a plate has 4 to 12 letters and digits, got {len}")]
    WrongLength { len: usize },
    #[error("a plate has only letters and digits (spaces and dashes are ignored), got {ch:?}")]
    IllegalCharacter { ch: char },
    #[error("a plate has at least one digit")]
    NoDigit,
}

/// A normalised licence plate (`А123ВС777`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Plate(String);

/// Latin letters that look like the Cyrillic letters of Russian plates, and those letters.
const LOOK_ALIKES: [(char, char); 12] = [
    ('A', 'А'),
    ('B', 'В'),
    ('E', 'Е'),
    ('K', 'К'),
    ('M', 'М'),
    ('H', 'Н'),
    ('O', 'О'),
    ('P', 'Р'),
    ('C', 'С'),
    ('T', 'Т'),
    ('Y', 'У'),
    ('X', 'Х'),
];

impl Plate {
    /// Drops spaces and dashes, upper-cases, writes Latin look-alikes in Cyrillic; then 4 to 12
    /// letters (Latin or Cyrillic) and digits, at least one a digit.
    pub fn parse(text: &str) -> Result<Self, PlateError> {
        let mut plate = String::new();
        for ch in text.chars() {
            if ch.is_whitespace() || ch == '-' {
                continue;
            }
            let upper = ch.to_uppercase().next().unwrap_or(ch);
            let upper = if upper == 'Ё' { 'Е' } else { upper };
            let allowed = upper.is_ascii_digit()
                || upper.is_ascii_uppercase()
                || ('А'..='Я').contains(&upper);
            if !allowed {
                return Err(PlateError::IllegalCharacter { ch });
            }
            let cyrillic = LOOK_ALIKES
                .iter()
                .find(|(latin, _)| *latin == upper)
                .map_or(upper, |(_, cyr)| *cyr);
            plate.push(cyrillic);
        }
        let len = plate.chars().count();
        if !(4..=12).contains(&len) {
            return Err(PlateError::WrongLength { len });
        }
        if !plate.chars().any(|c| c.is_ascii_digit()) {
            return Err(PlateError::NoDigit);
        }
        Ok(Plate(plate))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Plate {
    type Error = PlateError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Plate::parse(&value)
    }
}

impl From<Plate> for String {
    fn from(value: Plate) -> String {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_and_cyrillic_look_alikes_spaces_and_case_give_one_plate() {
        let cyrillic = Plate::parse("А123ВС777").unwrap();
        for text in [
            "a123bc777",
            "A 123 BC 777",
            "а123вс-777",
            " А123Вс 777 ",
            "A123ВС777",
        ] {
            assert_eq!(Plate::parse(text).unwrap(), cyrillic, "{text:?}");
        }
        assert_eq!(cyrillic.as_str(), "А123ВС777");
    }

    #[test]
    fn other_letters_stay_as_typed_in_upper_case() {
        assert_eq!(Plate::parse("1234 dz-7").unwrap().as_str(), "1234DZ7");
        assert_eq!(Plate::parse("ё777ёё77").unwrap().as_str(), "Е777ЕЕ77");
    }

    #[test]
    fn punctuation_no_digit_and_wrong_lengths_are_rejected() {
        assert_eq!(
            Plate::parse("А123*ВС777"),
            Err(PlateError::IllegalCharacter { ch: '*' })
        );
        assert_eq!(Plate::parse("АВС"), Err(PlateError::WrongLength { len: 3 }));
        assert_eq!(
            Plate::parse("А123ВС7771234"),
            Err(PlateError::WrongLength { len: 13 })
        );
        assert_eq!(Plate::parse("АВСЕКМ"), Err(PlateError::NoDigit));
        assert_eq!(Plate::parse("  "), Err(PlateError::WrongLength { len: 0 }));
    }
}
