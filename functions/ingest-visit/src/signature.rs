//! The webhook signature: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far the signed timestamp may be from now, either way.
pub const WINDOW_SECONDS: i64 = 300;

/// The dealer's shared secret (never printed).
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// A secret of at least 16 bytes.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        if text.len() < 16 {
            return Err(SecretError::TooShort(text.len()));
        }
        Ok(Secret(text.as_bytes().to_vec()))
    }

    fn mac(&self, t: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(t.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The header value for `body` signed at `t` (what the CRM sends).
    pub fn sign(&self, t: i64, body: &[u8]) -> String {
        let tag = self.mac(&t.to_string(), body).finalize().into_bytes();
        format!("t={t},v1={}", hex::encode(tag))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the webhook secret must have at least 16 bytes, got {0}")]
    TooShort(usize),
}

/// Why a request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Signature header is missing")]
    Missing,
    #[error("the X-Signature header is not `t=<unix seconds>,v1=<hex>`")]
    Malformed,
    #[error("the signature timestamp is more than 5 minutes away from now")]
    Stale,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks the header against the raw body: the timestamp within the window of `now`, and one
/// `v1` tag equal (in constant time) to the HMAC of `"<t>.<body>"`.
pub fn verify(
    secret: &Secret,
    header: Option<&[u8]>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let header = std::str::from_utf8(header).map_err(|_| SignatureError::Malformed)?;
    let mut t = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" if t.is_none() => t = Some(value),
            "v1" => tags.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            _ => return Err(SignatureError::Malformed),
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if tags.is_empty() || t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed);
    }
    let seconds: i64 = t.parse().map_err(|_| SignatureError::Malformed)?;
    if seconds.abs_diff(now.timestamp()) > WINDOW_SECONDS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let expected = secret.mac(t, body);
    if tags
        .iter()
        .any(|tag| expected.clone().verify_slice(tag).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::parse("a-shared-secret-of-the-dealer").unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn a_body_signed_now_is_accepted() {
        let header = secret().sign(now().timestamp(), b"{}");
        assert_eq!(
            verify(&secret(), Some(header.as_bytes()), b"{}", now()),
            Ok(())
        );
    }

    #[test]
    fn a_known_vector_matches_hmac_sha256_of_t_dot_body() {
        let s = Secret::parse("0123456789abcdef").unwrap();
        assert_eq!(
            s.sign(1, b"x"),
            "t=1,v1=fd8cad50b6953efad15ba0fbbbdeaf3d76e8949cf002bfb1d3a956fc259a4c57"
        );
    }

    #[test]
    fn a_signature_six_minutes_old_is_stale() {
        let header = secret().sign(now().timestamp() - 360, b"{}");
        assert_eq!(
            verify(&secret(), Some(header.as_bytes()), b"{}", now()),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn a_changed_body_does_not_match() {
        let header = secret().sign(now().timestamp(), b"{}");
        assert_eq!(
            verify(&secret(), Some(header.as_bytes()), b"{ }", now()),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_missing_or_garbled_header_is_refused() {
        assert_eq!(
            verify(&secret(), None, b"{}", now()),
            Err(SignatureError::Missing)
        );
        for bad in [
            "",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            "t=1,v1=zz",
            "t=-5,v1=00",
            "t=1;v1=00",
        ] {
            assert_eq!(
                verify(&secret(), Some(bad.as_bytes()), b"{}", now()),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }
}
