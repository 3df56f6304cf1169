//! API Gateway HTTP API (payload 2.0) events as the Lambda runtime hands them to a handler, so
//! handler tests go through the same request parsing as production.

use serde_json::json;

/// One request to the stack's HTTP API: `query` is the raw query string (may be empty), the
/// content type is JSON unless `headers` says otherwise, an empty body is sent as none.
pub fn http_api_event(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> lambda_http::Request {
    let mut header_map = json!({"content-type": "application/json"});
    for (name, value) in headers {
        header_map[*name] = (*value).into();
    }
    let mut payload = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api", "requestId": "req-1", "routeKey": format!("{method} {path}"),
            "stage": "$default", "time": "12/Nov/2026:13:00:00 +0000", "timeEpoch": 1_794_488_400_000_i64,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test"}
        },
        "isBase64Encoded": false
    });
    if !body.is_empty() {
        payload["body"] = String::from_utf8_lossy(body).into_owned().into();
    }
    lambda_http::request::from_str(&payload.to_string())
        .expect("a payload 2.0 event is a valid API Gateway request")
}

/// A Telegram update as the Bot API posts it to the webhook: `chat_id` pressed an inline
/// button carrying `data` (callback query id `cb<update_id>`).
pub fn telegram_callback(update_id: i64, chat_id: i64, data: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("cb{update_id}"),
            "from": {"id": chat_id, "is_bot": false, "first_name": "X"},
            "chat_instance": "ci",
            "data": data,
            "message": {"message_id": 1, "date": 0, "chat": {"id": chat_id, "type": "private"}}
        }
    }))
    .expect("a JSON value serialises")
}
