//! The `reports` Lambda (and `autodrive serve`, which routes the same paths here): the dealer's
//! reports as files and the marketer's dashboard.
//!
//! - `GET /v1/reports/{name}?format=table|csv|xlsx&at=&from=&to=&by=&customer=&vin=&grace_days=`
//!   (`app::reports`; CSV by default; a bad parameter is a 422 naming it);
//! - `GET /dashboard?from=&to=&at=` and `GET /dashboard/preview` (`app::dashboard`);
//! - `POST /dashboard/campaigns/{name}/{on|off}`: the switch, by «dashboard», then back;
//! - `GET|POST /dashboard/login`: the form taking the admin token, which sets the session
//!   cookie (an HMAC of the token, HttpOnly, SameSite=Strict, Path=/dashboard).
//!
//! In AWS the HttpApi's admin authorizer guards every route but the login; this handler checks
//! the token or the cookie again itself, so a route left unguarded by mistake still refuses.

use app::dashboard::{
    login_page, message_page, same_secret, session_value, DashboardRequest, SESSION_COOKIE,
};
use app::reports::{build_table, export, options_from_query, ReportError, ReportName};
use chrono::{DateTime, Utc};
use domain::policy::Policy;
use lambda_http::{http, Body, Request, Response};
use serde_json::json;
use store::repo::Repos;
use store::Store;

/// The largest login or switch form taken.
pub const MAX_FORM: usize = 16 * 1024;

/// What the handler works with.
pub struct Deps<S> {
    pub repos: Repos<S>,
    pub policy: Policy,
    /// The admin token (`None`: the routes answer 403 saying it is not set).
    pub admin_token: Option<String>,
    /// Whether the session cookie is `Secure` (behind HTTPS: true in AWS).
    pub secure_cookie: bool,
}

/// Whether `headers` carry the admin token (`Authorization: Bearer …`) or the session cookie
/// of `token`.
pub fn authorised(headers: &http::HeaderMap, token: &str) -> bool {
    let authorization = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let cookies = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    app::dashboard::auth::authorised(authorization, cookies, token)
}

fn response(status: u16, headers: &[(http::HeaderName, String)], body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let Ok(value) = http::HeaderValue::from_str(value) {
            response.headers_mut().append(name.clone(), value);
        }
    }
    response
}

fn html(status: u16, body: String) -> Response<Body> {
    response(
        status,
        &[
            (
                http::header::CONTENT_TYPE,
                "text/html; charset=utf-8".into(),
            ),
            (http::header::CACHE_CONTROL, "no-store".into()),
        ],
        Body::Text(body),
    )
}

fn json(status: u16, body: serde_json::Value) -> Response<Body> {
    response(
        status,
        &[(http::header::CONTENT_TYPE, "application/json".into())],
        Body::Text(body.to_string()),
    )
}

fn see_other(location: &str, cookie: Option<String>) -> Response<Body> {
    let mut headers = vec![(http::header::LOCATION, location.to_owned())];
    headers.extend(cookie.map(|c| (http::header::SET_COOKIE, c)));
    response(303, &headers, Body::Empty)
}

fn no_token_page() -> Response<Body> {
    html(
        403,
        message_page(
            "",
            "Панель выключена",
            "Не задан токен администратора (AUTODRIVE_ADMIN_TOKEN).",
        ),
    )
}

fn internal(what: &str, e: &dyn std::fmt::Display) -> Response<Body> {
    tracing::error!(error = %e, "{what}");
    html(
        500,
        message_page(
            "",
            "Ошибка",
            "Не удалось прочитать данные. Попробуйте ещё раз позже.",
        ),
    )
}

fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// Answers one request at `now`.
pub async fn handle_request<S: Store>(
    deps: &Deps<S>,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let path = request.uri().path().trim_end_matches('/').to_owned();
    let method = request.method().clone();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let Some(token) = deps.admin_token.as_deref() else {
        return match segments.first() {
            Some(&"v1") => json(
                403,
                json!({"error": "forbidden", "message": "AUTODRIVE_ADMIN_TOKEN is not set"}),
            ),
            _ => no_token_page(),
        };
    };
    if segments == ["dashboard", "login"] {
        return match method {
            http::Method::GET => html(200, login_page("", None)),
            http::Method::POST => login(deps, token, &request),
            _ => html(405, message_page("", "Ошибка", "Метод не поддерживается.")),
        };
    }
    let allowed = authorised(request.headers(), token);
    match (method, segments.as_slice()) {
        (http::Method::GET, ["v1", "reports", name]) => {
            if !allowed {
                return json(401, json!({"error": "unauthorized"}));
            }
            report(deps, name, request.uri().query().unwrap_or(""), now).await
        }
        (_, ["dashboard", ..]) if !allowed => html(401, login_page("", None)),
        (http::Method::GET, ["dashboard"]) => {
            match dashboard_request(deps, request.uri().query(), now) {
                Ok(asked) => match app::dashboard::page(&deps.repos, &deps.policy, &asked).await {
                    Ok(body) => html(200, body),
                    Err(e) => internal("dashboard", &e),
                },
                Err(response) => *response,
            }
        }
        (http::Method::GET, ["dashboard", "preview"]) => {
            match dashboard_request(deps, request.uri().query(), now) {
                Ok(asked) => {
                    match app::dashboard::preview_page(&deps.repos, &deps.policy, &asked).await {
                        Ok(body) => html(200, body),
                        Err(e) => internal("dashboard preview", &e),
                    }
                }
                Err(response) => *response,
            }
        }
        (http::Method::POST, ["dashboard", "campaigns", name, action]) => {
            switch(deps, name, action, now).await
        }
        (_, ["v1", ..]) => json(404, json!({"error": "not_found"})),
        _ => html(404, message_page("", "Не найдено", "Такой страницы нет.")),
    }
}

fn dashboard_request<S>(
    deps: &Deps<S>,
    query: Option<&str>,
    now: DateTime<Utc>,
) -> Result<DashboardRequest, Box<Response<Body>>> {
    let today = app::run_date_of(&deps.policy, now);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    DashboardRequest::from_query(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        today,
        "",
    )
    .map_err(|message| Box::new(html(400, message_page("", "Неверный запрос", &message))))
}

/// `POST /dashboard/login` (`token=…`): the session cookie and back to the dashboard, or the
/// form again with a message.
fn login<S>(deps: &Deps<S>, token: &str, request: &Request) -> Response<Body> {
    let form = body_bytes(request);
    if form.len() > MAX_FORM {
        return html(413, login_page("", Some("Слишком большой запрос.")));
    }
    let given = form_urlencoded::parse(form)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    if !same_secret(&given, token) {
        tracing::warn!("dashboard login refused");
        return html(401, login_page("", Some("Неверный токен.")));
    }
    let secure = if deps.secure_cookie { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age=43200{secure}",
        session_value(token)
    );
    see_other("/dashboard", Some(cookie))
}

/// `POST /dashboard/campaigns/{name}/{on|off}`: switched by «dashboard», then back to the page.
async fn switch<S: Store>(
    deps: &Deps<S>,
    name: &str,
    action: &str,
    now: DateTime<Utc>,
) -> Response<Body> {
    let on = match action {
        "on" => true,
        "off" => false,
        _ => {
            return html(
                404,
                message_page("", "Не найдено", "Действие — on или off."),
            )
        }
    };
    match app::campaigns::switch(&deps.repos, &deps.policy, name, on, "dashboard", now).await {
        Ok(_) => see_other("/dashboard", None),
        Err(app::campaigns::SwitchError::Unknown(_)) => html(
            404,
            message_page(
                "",
                "Не найдено",
                &format!("Нет этапа или правила предложения «{name}»."),
            ),
        ),
        Err(e) => internal("dashboard switch", &e),
    }
}

/// `GET /v1/reports/{name}`: the report as a file.
async fn report<S: Store>(
    deps: &Deps<S>,
    name: &str,
    query: &str,
    now: DateTime<Utc>,
) -> Response<Body> {
    let invalid = |message: String| json(422, json!({"error": "invalid", "message": message}));
    let Some(name) = ReportName::parse(name) else {
        return json(404, json!({"error": "not_found"}));
    };
    let (options, format) = match options_from_query(query) {
        Ok(parsed) => parsed,
        Err(message) => return invalid(message),
    };
    let today = app::run_date_of(&deps.policy, now);
    let asked = match app::reports::ReportRequest::from_options(name, &options, today) {
        Ok(r) => r,
        Err(message) => return invalid(message),
    };
    let table = match build_table(&deps.repos, &deps.policy, &asked).await {
        Ok(t) => t,
        Err(ReportError::Store(e)) => {
            tracing::error!(error = %e, "report");
            return json(500, json!({"error": "internal"}));
        }
        Err(e) => return invalid(e.to_string()),
    };
    match export(&table, format) {
        Ok(bytes) => {
            let file = format!("{}-{}.{}", name.as_str(), asked.at, format.extension());
            let body = match format {
                app::reports::Format::Xlsx => Body::Binary(bytes),
                _ => Body::Text(String::from_utf8_lossy(&bytes).into_owned()),
            };
            response(
                200,
                &[
                    (http::header::CONTENT_TYPE, format.content_type().to_owned()),
                    (
                        http::header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{file}\""),
                    ),
                ],
                body,
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "report export");
            json(500, json!({"error": "internal"}))
        }
    }
}
