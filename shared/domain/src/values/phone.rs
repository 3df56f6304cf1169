//! Phone numbers in E.164 form.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a phone number was rejected. Messages never repeat the number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone must start with '+' (E.164 form)")]
    MissingPlus,
    #[error("phone must contain only digits after '+', without spaces or punctuation")]
    NotDigits,
    #[error("phone must have 8 to 15 digits after '+', got {digits}")]
    WrongLength { digits: usize },
    #[error("phone country code must not start with 0")]
    LeadingZero,
}

/// A phone number in E.164: `+` and 8–15 digits, the first not `0`. Nothing is normalised.
///
/// `Debug` shows only [`PhoneE164::masked`], so the number does not leak into logs;
/// `Display` and [`PhoneE164::as_str`] give the full number for sending.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneE164(String);

impl PhoneE164 {
    pub fn parse(text: &str) -> Result<Self, PhoneError> {
        let digits = text.strip_prefix('+').ok_or(PhoneError::MissingPlus)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::NotDigits);
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(PhoneError::WrongLength {
                digits: digits.len(),
            });
        }
        if digits.starts_with('0') {
            return Err(PhoneError::LeadingZero);
        }
        Ok(PhoneE164(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with every digit but the last two hidden: `+*********67`.
    pub fn masked(&self) -> String {
        let digits = &self.0[1..];
        let hidden = digits.len() - 2;
        format!("+{}{}", "*".repeat(hidden), &digits[hidden..])
    }
}

impl fmt::Debug for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PhoneE164").field(&self.masked()).finish()
    }
}

impl fmt::Display for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PhoneE164 {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PhoneE164::parse(&value)
    }
}

impl From<PhoneE164> for String {
    fn from(value: PhoneE164) -> String {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_e164_phone_parses_and_displays_unchanged() {
        let phone = PhoneE164::parse("+79161234567").unwrap();
        assert_eq!(phone.to_string(), "+79161234567");
        assert_eq!(PhoneE164::parse("+12345678").unwrap().as_str(), "+12345678");
        assert_eq!(
            PhoneE164::parse("+123456789012345").unwrap().as_str(),
            "+123456789012345"
        );
    }

    #[test]
    fn a_phone_without_a_plus_is_rejected() {
        assert_eq!(
            PhoneE164::parse("89161234567"),
            Err(PhoneError::MissingPlus)
        );
        assert_eq!(
            PhoneE164::parse(" +79161234567"),
            Err(PhoneError::MissingPlus)
        );
    }

    #[test]
    fn a_phone_with_spaces_dashes_or_letters_is_rejected() {
        for bad in [
            "+7 916 123 45 67",
            "+7-916-1234567",
            "+7916CALLNOW",
            "+79161234567 ",
            "+",
        ] {
            let expected = if bad == "+" {
                PhoneError::WrongLength { digits: 0 }
            } else {
                PhoneError::NotDigits
            };
            assert_eq!(PhoneE164::parse(bad), Err(expected), "{bad:?}");
        }
    }

    #[test]
    fn a_phone_with_fewer_than_8_or_more_than_15_digits_is_rejected() {
        assert_eq!(
            PhoneE164::parse("+1234567"),
            Err(PhoneError::WrongLength { digits: 7 })
        );
        assert_eq!(
            PhoneE164::parse("+1234567890123456"),
            Err(PhoneError::WrongLength { digits: 16 })
        );
    }

    #[test]
    fn a_phone_starting_with_zero_is_rejected() {
        assert_eq!(
            PhoneE164::parse("+0123456789"),
            Err(PhoneError::LeadingZero)
        );
    }

    #[test]
    fn a_masked_phone_shows_only_the_last_two_digits() {
        let phone = PhoneE164::parse("+79161234567").unwrap();
        assert_eq!(phone.masked(), "+*********67");
        assert_eq!(format!("{phone:?}"), "PhoneE164(\"+*********67\")");
    }

    #[test]
    fn an_error_message_never_repeats_the_phone() {
        for bad in ["79161234567", "+7916123456x", "+7916", "+0916123456"] {
            let message = PhoneE164::parse(bad).unwrap_err().to_string();
            assert!(!message.contains("916"), "{message}");
        }
    }

    proptest! {
        #[test]
        fn any_string_never_panics_the_phone_parser(text in any::<String>()) {
            let _ = PhoneE164::parse(&text);
        }

        #[test]
        fn a_valid_phone_round_trips_and_masks_all_but_two_digits(text in "\\+[1-9][0-9]{7,14}") {
            let phone = PhoneE164::parse(&text).unwrap();
            prop_assert_eq!(phone.to_string(), text.clone());
            let masked = phone.masked();
            prop_assert_eq!(masked.chars().count(), text.chars().count());
            prop_assert_eq!(masked.chars().filter(char::is_ascii_digit).count(), 2);
            prop_assert!(masked.ends_with(&text[text.len() - 2..]));
        }
    }
}
