//! Who may see the dashboard and the reports: the admin token as a bearer token, or the
//! session cookie the login form sets ([`super::session_value`]). Shared by the `reports`
//! Lambda, the HttpApi's admin authorizer and `autodrive serve`.

use super::{same_secret, session_value, SESSION_COOKIE};

/// Whether an `Authorization` header value or one of the cookies (`Cookie` header values or
/// API Gateway's `cookies` list, `name=value` pairs separated by `;`) proves `token`.
pub fn authorised<'a>(
    authorization: Option<&str>,
    cookies: impl IntoIterator<Item = &'a str>,
    token: &str,
) -> bool {
    if token.is_empty() {
        return false;
    }
    if authorization.is_some_and(|v| bearer_is(v, token)) {
        return true;
    }
    let session = session_value(token);
    cookies
        .into_iter()
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == SESSION_COOKIE && same_secret(value, &session))
}

/// Whether an `Authorization` header value is `Bearer <token>` (the scheme in any case, as
/// HTTP has it; the token compared in constant time). An empty token matches nothing.
pub fn bearer_is(authorization: &str, token: &str) -> bool {
    let Some((scheme, given)) = authorization.split_once(' ') else {
        return false;
    };
    !token.is_empty() && scheme.eq_ignore_ascii_case("bearer") && same_secret(given, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_token_or_the_session_cookie_of_the_token_is_let_in() {
        let token = "admin-token-1";
        let session = format!("{SESSION_COOKIE}={}", session_value(token));
        assert!(authorised(Some("Bearer admin-token-1"), [], token));
        assert!(authorised(None, [session.as_str()], token));
        let among = format!("theme=dark; {session}; lang=ru");
        assert!(authorised(None, [among.as_str()], token));
        assert!(authorised(Some("bearer admin-token-1"), [], token));
        assert!(authorised(Some("BEARER admin-token-1"), [], token));
        assert!(!authorised(Some("Basic admin-token-1"), [], token));
        assert!(!authorised(Some("Bearer admin-token-2"), [], token));
        assert!(!authorised(Some("admin-token-1"), [], token));
        assert!(!authorised(
            None,
            ["autodrive_dashboard=admin-token-1"],
            token
        ));
        let other = format!("{SESSION_COOKIE}={}", session_value("another-token"));
        assert!(!authorised(None, [other.as_str()], token));
        assert!(!authorised(None, [], token));
        assert!(
            !authorised(Some("Bearer "), [], ""),
            "an empty token lets no one in"
        );
    }
}
