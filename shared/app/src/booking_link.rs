//! Signed booking links for SMS: `/b/{token}`, the token being base64url (no padding) of the
//! offer id's 8 bytes, the expiry (unix seconds, 4 bytes) and the first 9 bytes of an
//! HMAC-SHA256 of both under the dealer's link key: 28 characters.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The path prefix of the booking page.
pub const PAGE_PREFIX: &str = "/b/";
/// How long a link stays valid unless configured otherwise.
pub const DEFAULT_VALID_DAYS: i64 = 14;

const MAC_BYTES: usize = 9;
const TOKEN_BYTES: usize = 8 + 4 + MAC_BYTES;

/// Why a link was refused; nothing is done for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is malformed or its signature is wrong")]
    Forged,
    #[error("the link has expired")]
    Expired,
}

/// The key links are signed with, and where the page is served. `Debug` hides the key.
#[derive(Clone)]
pub struct BookingLinks {
    key: Vec<u8>,
    public_url: String,
    valid_for: Duration,
}

impl std::fmt::Debug for BookingLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookingLinks")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl BookingLinks {
    /// Links under `public_url` (`https://host`, no trailing slash needed) signed with `key` (at
    /// least 16 bytes), valid for [`DEFAULT_VALID_DAYS`].
    pub fn new(key: &[u8], public_url: &str) -> Result<Self, String> {
        if key.len() < 16 {
            return Err("the booking link key must be at least 16 bytes".into());
        }
        if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
            return Err(format!("{public_url:?} is not an http(s) URL"));
        }
        Ok(BookingLinks {
            key: key.to_vec(),
            public_url: public_url.trim_end_matches('/').to_owned(),
            valid_for: Duration::days(DEFAULT_VALID_DAYS),
        })
    }

    pub fn valid_for(mut self, valid_for: Duration) -> Self {
        self.valid_for = valid_for;
        self
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"autodrive-booking-link\0");
        mac.update(payload);
        mac
    }

    /// The token of `offer_id` (`o` and 16 hex digits) issued at `now`.
    pub fn token(&self, offer_id: &str, now: DateTime<Utc>) -> Option<String> {
        let id = offer_bytes(offer_id)?;
        let expiry = u32::try_from((now + self.valid_for).timestamp()).ok()?;
        let mut bytes = Vec::with_capacity(TOKEN_BYTES);
        bytes.extend_from_slice(&id);
        bytes.extend_from_slice(&expiry.to_be_bytes());
        let tag = self.mac(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..MAC_BYTES]);
        Some(base64url(&bytes))
    }

    /// The full link of `offer_id` issued at `now`.
    pub fn link(&self, offer_id: &str, now: DateTime<Utc>) -> Option<String> {
        Some(format!(
            "{}{PAGE_PREFIX}{}",
            self.public_url,
            self.token(offer_id, now)?
        ))
    }

    /// The offer id of a token, if it is ours and not expired at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<String, LinkError> {
        let bytes = unbase64url(token).ok_or(LinkError::Forged)?;
        if bytes.len() != TOKEN_BYTES {
            return Err(LinkError::Forged);
        }
        let (payload, tag) = bytes.split_at(12);
        self.mac(payload)
            .verify_truncated_left(tag)
            .map_err(|_| LinkError::Forged)?;
        let mut expiry = [0u8; 4];
        expiry.copy_from_slice(&payload[8..12]);
        if i64::from(u32::from_be_bytes(expiry)) <= now.timestamp() {
            return Err(LinkError::Expired);
        }
        Ok(format!("o{}", hex_lower(&payload[..8])))
    }
}

fn offer_bytes(offer_id: &str) -> Option<[u8; 8]> {
    let hex = offer_id.strip_prefix('o')?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(u64::to_be_bytes)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

fn unbase64url(text: &str) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (acc == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> BookingLinks {
        BookingLinks::new(b"0123456789abcdef0123", "https://dealer.example/").unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_link_is_short_and_names_its_offer_until_it_expires() {
        let now = at("2027-11-01T10:00:00Z");
        let link = links().link("o0123456789abcdef", now).unwrap();
        let token = link.strip_prefix("https://dealer.example/b/").unwrap();
        assert_eq!(token.len(), 28);
        assert_eq!(
            links().verify(token, now + Duration::days(13)),
            Ok("o0123456789abcdef".to_owned())
        );
        assert_eq!(
            links().verify(token, now + Duration::days(14)),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn a_changed_token_or_another_key_is_forged() {
        let now = at("2027-11-01T10:00:00Z");
        let token = links().token("o0123456789abcdef", now).unwrap();
        let other = BookingLinks::new(b"another key of 16+ bytes", "https://x").unwrap();
        assert_eq!(other.verify(&token, now), Err(LinkError::Forged));
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert!(links().verify(&tampered, now).is_err(), "position {i}");
        }
        for junk in ["", "x", "!!!!", &token[..27], &format!("{token}A")] {
            assert_eq!(links().verify(junk, now), Err(LinkError::Forged), "{junk}");
        }
    }

    #[test]
    fn only_offer_ids_of_ours_get_a_link_and_short_keys_are_refused() {
        let now = at("2027-11-01T10:00:00Z");
        assert_eq!(links().token("booking-1", now), None);
        assert!(BookingLinks::new(b"short", "https://x").is_err());
        assert!(BookingLinks::new(b"0123456789abcdef", "dealer.example").is_err());
    }

    #[test]
    fn base64url_round_trips() {
        for n in 0..40u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(unbase64url(&base64url(&bytes)), Some(bytes));
        }
    }
}
