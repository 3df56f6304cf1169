//! The HttpApi's Lambda authorizer (payload format 2.0, simple responses) in front of the
//! `reports` Lambda: a request is let in when it carries the admin token as
//! `Authorization: Bearer …` or the dashboard's session cookie
//! (`app::dashboard::auth::authorised`). Nothing of the request is logged but the decision.

use serde_json::{json, Value};

/// Whether the authorizer `event` proves `token`.
pub fn decide(event: &Value, token: &str) -> bool {
    let headers = &event["headers"];
    // API Gateway lower-cases header names in payload 2.0; a test or proxy may not.
    let header = |name: &str| {
        headers.as_object().and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str())
        })
    };
    let mut cookies: Vec<&str> = event["cookies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    cookies.extend(header("cookie"));
    app::dashboard::auth::authorised(header("authorization"), cookies, token)
}

/// The simple response of a decision.
pub fn answer(event: &Value, token: &str) -> Value {
    let allowed = decide(event, token);
    tracing::info!(allowed, "admin authorizer");
    json!({ "isAuthorized": allowed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::dashboard::{session_value, SESSION_COOKIE};

    /// An authorizer event as API Gateway sends it for an HttpApi route (payload 2.0).
    fn event(headers: Value, cookies: Option<Vec<String>>) -> Value {
        let mut event = json!({
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": "arn:aws:execute-api:eu-central-1:123456789012:abcdef/$default/GET/dashboard",
            "identitySource": [],
            "routeKey": "GET /dashboard",
            "rawPath": "/dashboard",
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {"http": {"method": "GET", "path": "/dashboard"}},
        });
        if let Some(cookies) = cookies {
            event["cookies"] = json!(cookies);
        }
        event
    }

    #[test]
    fn the_bearer_token_or_the_session_cookie_is_authorized_and_nothing_else() {
        let token = "the-admin-token";
        let bearer = event(json!({"authorization": "Bearer the-admin-token"}), None);
        assert_eq!(answer(&bearer, token), json!({"isAuthorized": true}));
        let session = format!("{SESSION_COOKIE}={}", session_value(token));
        let cookie = event(json!({}), Some(vec!["lang=ru".into(), session.clone()]));
        assert_eq!(answer(&cookie, token), json!({"isAuthorized": true}));
        let header_cookie = event(json!({"Cookie": format!("lang=ru; {session}")}), None);
        assert!(decide(&header_cookie, token));

        for refused in [
            event(json!({}), None),
            event(json!({"authorization": "Bearer wrong"}), None),
            event(json!({"authorization": "the-admin-token"}), None),
            event(
                json!({}),
                Some(vec![format!("{SESSION_COOKIE}=the-admin-token")]),
            ),
            event(json!({"authorization": 17}), Some(vec![])),
        ] {
            assert_eq!(answer(&refused, token), json!({"isAuthorized": false}));
        }
        assert!(!decide(&bearer, ""), "an empty token authorizes no one");
    }
}
