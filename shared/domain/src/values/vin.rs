//! Vehicle identification number (ISO 3779), with the check digit where the market uses one.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a VIN was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VinError {
    #[error("a VIN has exactly 17 characters, got {len}")]
    WrongLength { len: usize },
    #[error("a VIN has only A-Z (without I, O, Q) and 0-9, got {ch:?} at position {position}")]
    IllegalCharacter { ch: char, position: usize },
    #[error("VIN check digit (position 9) should be {expected:?}, got {found:?}")]
    CheckDigitMismatch { expected: char, found: char },
}

/// A 17-character VIN, upper case.
///
/// The check digit at position 9 is enforced only for North-American VINs (first character
/// `1`–`5`); Russian, European and Asian manufacturers do not use it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Vin(String);

const VIN_LEN: usize = 17;
const WEIGHTS: [u32; VIN_LEN] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
const CHECK_POSITION: usize = 8;

impl Vin {
    /// Trims and upper-cases `text`, then checks length, alphabet and (North America) check digit.
    pub fn parse(text: &str) -> Result<Self, VinError> {
        let vin: Vec<char> = text.trim().chars().flat_map(char::to_uppercase).collect();
        if vin.len() != VIN_LEN {
            return Err(VinError::WrongLength { len: vin.len() });
        }
        if let Some((i, &ch)) = vin
            .iter()
            .enumerate()
            .find(|&(_, &c)| transliterate(c).is_none())
        {
            return Err(VinError::IllegalCharacter {
                ch,
                position: i + 1,
            });
        }
        if matches!(vin[0], '1'..='5') {
            let expected = check_digit(&vin);
            let found = vin[CHECK_POSITION];
            if expected != found {
                return Err(VinError::CheckDigitMismatch { expected, found });
            }
        }
        Ok(Vin(vin.into_iter().collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// World manufacturer identifier: the first three characters.
    pub fn wmi(&self) -> &str {
        &self.0[..3]
    }
}

/// The numeric value of a VIN character, or `None` when the character is not allowed.
fn transliterate(c: char) -> Option<u32> {
    Some(match c {
        '0'..='9' => c as u32 - '0' as u32,
        'A' | 'J' => 1,
        'B' | 'K' | 'S' => 2,
        'C' | 'L' | 'T' => 3,
        'D' | 'M' | 'U' => 4,
        'E' | 'N' | 'V' => 5,
        'F' | 'W' => 6,
        'G' | 'P' | 'X' => 7,
        'H' | 'Y' => 8,
        'R' | 'Z' => 9,
        _ => return None,
    })
}

/// The check digit for 17 allowed characters: weighted sum mod 11, 10 written as `X`.
fn check_digit(vin: &[char]) -> char {
    let sum: u32 = vin
        .iter()
        .zip(WEIGHTS)
        .map(|(&c, w)| transliterate(c).unwrap_or(0) * w)
        .sum();
    match sum % 11 {
        10 => 'X',
        d => char::from_digit(d, 10).unwrap_or('X'),
    }
}

impl fmt::Display for Vin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Vin {
    type Error = VinError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Vin::parse(&value)
    }
}

impl From<Vin> for String {
    fn from(value: Vin) -> String {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_russian_market_vin_passes_without_a_check_digit() {
        let vin = Vin::parse("XW7BE40K70S025476").unwrap();
        assert_eq!(vin.as_str(), "XW7BE40K70S025476");
        assert_eq!(vin.wmi(), "XW7");
    }

    #[test]
    fn european_and_asian_vins_pass_without_a_check_digit() {
        for vin in [
            "WVWZZZ1JZ3W386752",
            "VF1RFB00X57425711",
            "JTNBE46K773012345",
            "Z94CT41DBFR123456",
        ] {
            assert_eq!(Vin::parse(vin).unwrap().as_str(), vin);
        }
    }

    #[test]
    fn a_north_american_vin_with_the_right_check_digit_passes() {
        let vin = Vin::parse("1M8GDM9AXKP042788").unwrap();
        assert_eq!(vin.wmi(), "1M8");
        assert_eq!(
            Vin::parse("11111111111111111").unwrap().as_str(),
            "11111111111111111"
        );
    }

    #[test]
    fn a_north_american_vin_with_a_wrong_check_digit_is_rejected() {
        assert_eq!(
            Vin::parse("1M8GDM9A1KP042788"),
            Err(VinError::CheckDigitMismatch {
                expected: 'X',
                found: '1'
            })
        );
    }

    #[test]
    fn a_vin_is_trimmed_and_upper_cased() {
        assert_eq!(
            Vin::parse("  xw7be40k70s025476\n").unwrap().as_str(),
            "XW7BE40K70S025476"
        );
        assert_eq!(
            Vin::parse("1m8gdm9axkp042788").unwrap().as_str(),
            "1M8GDM9AXKP042788"
        );
    }

    #[test]
    fn a_vin_of_16_or_18_characters_is_rejected_with_its_length() {
        assert_eq!(
            Vin::parse("XW7BE40K70S02547"),
            Err(VinError::WrongLength { len: 16 })
        );
        assert_eq!(
            Vin::parse("XW7BE40K70S0254761"),
            Err(VinError::WrongLength { len: 18 })
        );
        assert_eq!(Vin::parse(""), Err(VinError::WrongLength { len: 0 }));
    }

    #[test]
    fn a_vin_with_i_o_or_q_is_rejected_naming_the_character_and_position() {
        assert_eq!(
            Vin::parse("XW7BE4OK70S025476"),
            Err(VinError::IllegalCharacter {
                ch: 'O',
                position: 7
            })
        );
        assert_eq!(
            Vin::parse("iW7BE40K70S025476"),
            Err(VinError::IllegalCharacter {
                ch: 'I',
                position: 1
            })
        );
        assert_eq!(
            Vin::parse("XW7BE40K70S02547Q"),
            Err(VinError::IllegalCharacter {
                ch: 'Q',
                position: 17
            })
        );
        assert_eq!(
            Vin::parse("XW7BE40K7-S025476"),
            Err(VinError::IllegalCharacter {
                ch: '-',
                position: 10
            })
        );
    }

    #[test]
    fn a_vin_is_a_string_on_the_wire_and_deserialising_validates() {
        let vin = Vin::parse("XW7BE40K70S025476").unwrap();
        assert_eq!(
            serde_json::to_string(&vin).unwrap(),
            "\"XW7BE40K70S025476\""
        );
        assert_eq!(
            serde_json::from_str::<Vin>("\"xw7be40k70s025476\"").unwrap(),
            vin
        );
        assert!(serde_json::from_str::<Vin>("\"1M8GDM9A1KP042788\"").is_err());
    }

    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ";

    fn vin_chars() -> impl Strategy<Value = Vec<char>> {
        let alphabet: Vec<char> = ALPHABET.chars().collect();
        proptest::collection::vec(proptest::sample::select(alphabet), VIN_LEN)
    }

    proptest! {
        #[test]
        fn any_string_never_panics_the_vin_parser(text in any::<String>()) {
            let _ = Vin::parse(&text);
        }

        #[test]
        fn a_north_american_vin_passes_only_with_its_check_digit(
            mut vin in vin_chars(), first in 1u32..=5, wrong in proptest::sample::select(
                "0123456789X".chars().collect::<Vec<_>>()),
        ) {
            vin[0] = char::from_digit(first, 10).unwrap();
            let right = check_digit(&vin);
            vin[CHECK_POSITION] = right;
            let text: String = vin.iter().collect();
            prop_assert_eq!(Vin::parse(&text).map(|v| v.to_string()), Ok(text.clone()));
            vin[CHECK_POSITION] = wrong;
            let text: String = vin.iter().collect();
            let parsed = Vin::parse(&text);
            if wrong == right {
                prop_assert!(parsed.is_ok());
            } else {
                prop_assert_eq!(parsed, Err(VinError::CheckDigitMismatch { expected: right, found: wrong }));
            }
        }

        #[test]
        fn a_vin_from_outside_north_america_passes_whatever_its_ninth_character(
            mut vin in vin_chars(), first in proptest::sample::select(
                "6789ABCDEFGHJKLMNPRSTUVWXYZ".chars().collect::<Vec<_>>()),
        ) {
            vin[0] = first;
            let text: String = vin.iter().collect();
            prop_assert_eq!(Vin::parse(&text).map(|v| v.to_string()), Ok(text));
        }
    }
}
