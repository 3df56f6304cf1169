//! Short human-entered texts (first names, makes, models): trimmed, non-blank, bounded.

/// Why a short text field was rejected. Messages never repeat the text itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be blank")]
    Blank,
    #[error("has at most {max} characters, got {len}")]
    TooLong { max: usize, len: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// Trims `text` and checks it has 1..=`max` characters and no control characters.
pub(crate) fn parse_text(text: &str, max: usize) -> Result<String, TextError> {
    let trimmed = text.trim();
    let len = trimmed.chars().count();
    if len == 0 {
        Err(TextError::Blank)
    } else if len > max {
        Err(TextError::TooLong { max, len })
    } else if trimmed.chars().any(char::is_control) {
        Err(TextError::ControlCharacter)
    } else {
        Ok(trimmed.to_owned())
    }
}
