//! The customer as messaging needs them: id, first name, phone, chat id and consents.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::{CustomerId, TelegramChatId};
use super::phone::PhoneE164;
use super::text::{parse_text, TextError};

/// A first name for addressing the customer: 1..=100 characters, trimmed, no control characters.
///
/// `Debug` hides the name so it does not leak into logs; `Display` and `as_str` give it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FirstName(String);

impl FirstName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(text: &str) -> Result<Self, TextError> {
        parse_text(text, Self::MAX_CHARS).map(FirstName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for FirstName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FirstName(..)")
    }
}

impl fmt::Display for FirstName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for FirstName {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        FirstName::parse(&value)
    }
}

impl From<FirstName> for String {
    fn from(value: FirstName) -> String {
        value.0
    }
}

/// What a message is for, which decides the consent it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactClass {
    /// Reminders, booking confirmations, odometer and rating requests.
    Service,
    /// Offers, discounts, gifts.
    Marketing,
}

/// The customer's consents as the CRM holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consents {
    pub service_messages: bool,
    pub marketing: bool,
}

impl Consents {
    /// Whether a message of `class` may be sent: each class needs its own consent.
    pub fn allows(self, class: ContactClass) -> bool {
        match class {
            ContactClass::Service => self.service_messages,
            ContactClass::Marketing => self.marketing,
        }
    }
}

/// A customer: the one entity that holds personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub id: CustomerId,
    pub first_name: FirstName,
    pub phone: PhoneE164,
    pub telegram_chat_id: Option<TelegramChatId>,
    pub consents: Consents,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_first_name_is_trimmed() {
        assert_eq!(FirstName::parse("  Михаил ").unwrap().as_str(), "Михаил");
    }

    #[test]
    fn a_blank_first_name_is_rejected() {
        assert_eq!(FirstName::parse(" \t "), Err(TextError::Blank));
    }

    #[test]
    fn a_first_name_of_101_characters_is_rejected() {
        assert!(FirstName::parse(&"Я".repeat(100)).is_ok());
        assert_eq!(
            FirstName::parse(&"Я".repeat(101)),
            Err(TextError::TooLong { max: 100, len: 101 })
        );
    }

    #[test]
    fn a_first_name_with_a_control_character_is_rejected() {
        assert_eq!(
            FirstName::parse("Ми\u{7}хаил"),
            Err(TextError::ControlCharacter)
        );
    }

    #[test]
    fn a_first_name_does_not_show_in_debug_output() {
        let name = FirstName::parse("Михаил").unwrap();
        assert_eq!(format!("{name:?}"), "FirstName(..)");
        assert_eq!(name.to_string(), "Михаил");
    }

    #[test]
    fn each_message_class_needs_its_own_consent() {
        let service_only = Consents {
            service_messages: true,
            marketing: false,
        };
        assert!(service_only.allows(ContactClass::Service));
        assert!(!service_only.allows(ContactClass::Marketing));
        let marketing_only = Consents {
            service_messages: false,
            marketing: true,
        };
        assert!(!marketing_only.allows(ContactClass::Service));
        assert!(marketing_only.allows(ContactClass::Marketing));
        assert!(!Consents::default().allows(ContactClass::Service));
    }

    #[test]
    fn a_customer_deserialises_from_the_wire_shape_and_validates() {
        let json = serde_json::json!({
            "id": "C-1001", "first_name": "Михаил", "phone": "+79161234567",
            "telegram_chat_id": null,
            "consents": {"service_messages": true, "marketing": false}
        });
        let customer: Customer = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(customer.phone.as_str(), "+79161234567");
        assert!(customer.telegram_chat_id.is_none());
        assert_eq!(serde_json::to_value(&customer).unwrap(), json);
        let mut bad = json;
        bad["phone"] = "8 916 123".into();
        assert!(serde_json::from_value::<Customer>(bad).is_err());
    }

    proptest! {
        #[test]
        fn any_string_never_panics_the_first_name_parser(text in any::<String>()) {
            if let Ok(name) = FirstName::parse(&text) {
                prop_assert_eq!(name.as_str(), text.trim());
            }
        }
    }
}
