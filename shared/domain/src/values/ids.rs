//! Identifiers issued by the dealer's CRM and by messengers.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a CRM identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must not be empty")]
    Empty,
    #[error("has at most {max} characters, got {len}", max = ID_MAX_LEN)]
    TooLong { len: usize },
    #[error(
        "has an illegal character {ch:?} at position {position}; \
         allowed are A-Z, a-z, 0-9 and _ . : -"
    )]
    IllegalCharacter { ch: char, position: usize },
}

const ID_MAX_LEN: usize = 64;

fn check_id(text: &str) -> Result<(), IdError> {
    if text.is_empty() {
        return Err(IdError::Empty);
    }
    let len = text.chars().count();
    if len > ID_MAX_LEN {
        return Err(IdError::TooLong { len });
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-');
    match text.chars().enumerate().find(|&(_, c)| !allowed(c)) {
        Some((i, ch)) => Err(IdError::IllegalCharacter {
            ch,
            position: i + 1,
        }),
        None => Ok(()),
    }
}

macro_rules! crm_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// 1..=64 characters of `A-Z a-z 0-9 _ . : -`, taken verbatim (not trimmed).
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<Self, IdError> {
                check_id(text).map(|()| $name(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                check_id(&value).map(|()| $name(value))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

crm_id!(
    /// The CRM's customer id.
    CustomerId
);
crm_id!(
    /// The CRM's id of a service advisor (мастер-консультант).
    AdvisorId
);
crm_id!(
    /// The CRM's work-order id; a visit is stored once per work order.
    WorkOrderId
);

/// Why a Telegram chat id was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TelegramChatIdError {
    #[error("a Telegram chat id is never 0")]
    Zero,
}

/// A Telegram chat id: a non-zero 64-bit integer (negative for groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct TelegramChatId(i64);

impl TelegramChatId {
    pub fn new(id: i64) -> Result<Self, TelegramChatIdError> {
        if id == 0 {
            Err(TelegramChatIdError::Zero)
        } else {
            Ok(TelegramChatId(id))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for TelegramChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<i64> for TelegramChatId {
    type Error = TelegramChatIdError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        TelegramChatId::new(value)
    }
}

impl From<TelegramChatId> for i64 {
    fn from(value: TelegramChatId) -> i64 {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crm_ids_of_letters_digits_and_separators_parse() {
        for ok in [
            "A3C0001116",
            "C-1001",
            "adv-7",
            "a_b.c:d-e",
            &"x".repeat(64),
        ] {
            assert_eq!(WorkOrderId::parse(ok).unwrap().as_str(), ok);
            assert_eq!(CustomerId::parse(ok).unwrap().to_string(), ok);
            assert_eq!(AdvisorId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn an_empty_id_is_rejected() {
        assert_eq!(CustomerId::parse(""), Err(IdError::Empty));
    }

    #[test]
    fn an_id_of_65_characters_is_rejected() {
        assert_eq!(
            WorkOrderId::parse(&"7".repeat(65)),
            Err(IdError::TooLong { len: 65 })
        );
    }

    #[test]
    fn an_id_with_a_space_slash_or_cyrillic_letter_is_rejected_naming_the_position() {
        assert_eq!(
            AdvisorId::parse("adv 7"),
            Err(IdError::IllegalCharacter {
                ch: ' ',
                position: 4
            })
        );
        assert_eq!(
            CustomerId::parse("C/1"),
            Err(IdError::IllegalCharacter {
                ch: '/',
                position: 2
            })
        );
        assert_eq!(
            WorkOrderId::parse("ЗН-1"),
            Err(IdError::IllegalCharacter {
                ch: 'З',
                position: 1
            })
        );
    }

    #[test]
    fn ids_are_strings_on_the_wire_and_deserialising_validates() {
        let id = CustomerId::parse("C-1001").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"C-1001\"");
        assert_eq!(
            serde_json::from_str::<CustomerId>("\"C-1001\"").unwrap(),
            id
        );
        assert!(serde_json::from_str::<CustomerId>("\"C 1001\"").is_err());
    }

    #[test]
    fn a_telegram_chat_id_may_be_negative_but_not_zero() {
        assert_eq!(TelegramChatId::new(-100_123).unwrap().get(), -100_123);
        assert_eq!(TelegramChatId::new(0), Err(TelegramChatIdError::Zero));
        assert!(serde_json::from_str::<TelegramChatId>("0").is_err());
        assert_eq!(
            serde_json::from_str::<TelegramChatId>("42").unwrap().get(),
            42
        );
    }
}
