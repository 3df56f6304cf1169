//! The marketer's dashboard: one server-rendered Russian HTML page with inline SVG charts and
//! inline style, nothing loaded from elsewhere, no script. The funnel, conversion by campaign,
//! retention by age band, uplift against the control group, the coming weeks' load against
//! the lifts, forecast accuracy and the campaign switches ([`page`]); the 7-day send preview
//! ([`preview_page`]); the login form and the session cookie's value for the server that
//! guards them ([`login_page`], [`session_value`]). `base_path` prefixes every link and form.

pub mod auth;
pub mod html;
pub mod load;
pub mod sections;
pub mod svg;

#[cfg(test)]
mod tests;

use std::fmt::Write;

use chrono::NaiveDate;
use domain::policy::Policy;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use store::repo::Repos;
use store::{Store, StoreError};

use crate::campaigns::{self, PreviewRow};
use crate::evaluate::EvaluateError;
use crate::kpi::{self, KpiQuery};
use crate::reports::ru::stage_ru;
use html::{date_ru, document, escape};

/// Days the send preview covers.
pub const PREVIEW_DAYS: u32 = 7;
/// The name of the dashboard's session cookie.
pub const SESSION_COOKIE: &str = "autodrive_dashboard";

/// What the dashboard is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardRequest {
    /// The report day (the dealer's today): the store is read as of it, the load starts on it.
    pub at: NaiveDate,
    /// First day of the period; by default 30 days up to `to`.
    pub from: Option<NaiveDate>,
    /// Last day of the period; by default `at`.
    pub to: Option<NaiveDate>,
    /// Prefixed to every link and form action (`""` on `autodrive serve`).
    pub base_path: String,
}

impl DashboardRequest {
    /// The request of a query string's `from`, `to` and `at` (each `dd.mm.yyyy` or
    /// `yyyy-mm-dd`; `at` defaults to `today`); other parameters are ignored. `Err` is a
    /// Russian message for a 400.
    pub fn from_query<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        today: NaiveDate,
        base_path: &str,
    ) -> Result<DashboardRequest, String> {
        let mut request = DashboardRequest {
            at: today,
            from: None,
            to: None,
            base_path: base_path.to_owned(),
        };
        for (key, value) in pairs {
            let slot = match key {
                "from" => &mut request.from,
                "to" => &mut request.to,
                "at" => {
                    request.at = parse_date(value).ok_or_else(|| bad_date("at", value))?;
                    continue;
                }
                _ => continue,
            };
            if !value.trim().is_empty() {
                *slot = Some(parse_date(value).ok_or_else(|| bad_date(key, value))?);
            }
        }
        let query = request.query();
        if query.from > query.to {
            return Err(format!(
                "Начало периода {} позже его конца {}.",
                date_ru(query.from),
                date_ru(query.to)
            ));
        }
        Ok(request)
    }

    /// The KPI period this request names.
    pub fn query(&self) -> KpiQuery {
        KpiQuery::of_period(self.from, self.to.unwrap_or(self.at), self.at)
    }
}

fn bad_date(key: &str, value: &str) -> String {
    format!("Параметр {key}: «{value}» — не дата; нужна дата вида 01.12.2026 или 2026-12-01.")
}

/// A date written `dd.mm.yyyy` or `yyyy-mm-dd`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%d.%m.%Y")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .ok()
}

/// The session cookie's value for an admin token: an HMAC of a fixed label keyed by the token,
/// so the cookie is not the token and changes when the token does.
pub fn session_value(admin_token: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(admin_token.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"autodrive dashboard session v1");
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `given` equals `expected`, in time independent of where they differ.
pub fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn nav(base: &str) -> String {
    let base = escape(base);
    format!(
        "<nav><a href=\"{base}/dashboard\">Панель</a> · <a href=\"{base}/dashboard/preview\">\
         Рассылки на 7 дней</a> · <a href=\"#campaigns\">Переключатели</a></nav>"
    )
}

fn period_form(request: &DashboardRequest, query: &KpiQuery) -> String {
    format!(
        "<section><form class=\"period\" method=\"get\" action=\"{base}/dashboard\">\
         <label>С <input name=\"from\" value=\"{from}\" size=\"10\"></label>\
         <label>По <input name=\"to\" value=\"{to}\" size=\"10\"></label>\
         <label>На дату <input name=\"at\" value=\"{at}\" size=\"10\"></label>\
         <button type=\"submit\">Показать</button></form>\
         <p class=\"hint\">Период {from} – {to}, данные на {at}. Даты в виде 01.12.2026.</p>\
         </section>",
        base = escape(&request.base_path),
        from = date_ru(query.from),
        to = date_ru(query.to),
        at = date_ru(query.at),
    )
}

/// The whole dashboard document of `request`'s period.
pub async fn page<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    request: &DashboardRequest,
) -> Result<String, StoreError> {
    let query = request.query();
    let report = kpi::compute(repos, policy, &query).await?;
    let days = load::coming_load(repos, policy, request.at, load::LOAD_DAYS).await?;
    let states = campaigns::list(repos, policy).await?;
    let body = [
        period_form(request, &query),
        sections::funnel(&report),
        sections::conversion(&report),
        sections::retention(&report),
        sections::uplift(&report),
        sections::load(&days),
        sections::accuracy(&report),
        sections::campaigns(&states, &request.base_path, policy.time_zone()),
    ]
    .concat();
    Ok(document(
        "Панель маркетолога",
        &nav(&request.base_path),
        &body,
    ))
}

fn preview_table(rows: &[PreviewRow], tz: chrono_tz::Tz) -> String {
    if rows.is_empty() {
        return "<p class=\"no-data\">За 7 дней ничего не уйдёт.</p>".into();
    }
    let mut out = String::from(
        "<table><tr><th>Ночь</th><th>Отправка</th><th>Клиент</th><th>Автомобиль (VIN)</th>\
         <th>Этап</th><th>Почему</th><th>Канал</th></tr>",
    );
    for r in rows {
        let channel = match r.channel {
            "telegram" => "Telegram",
            "whatsapp" => "WhatsApp",
            "sms" => "SMS",
            _ => "нет канала",
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            date_ru(r.day),
            r.send_at.with_timezone(&tz).format("%d.%m %H:%M"),
            escape(&r.customer_id),
            escape(&r.vin),
            escape(stage_ru(r.stage)),
            escape(&r.why),
            channel,
        );
    }
    out.push_str("</table>");
    out
}

/// What the next [`PREVIEW_DAYS`] nights from `request.at` would send, with why each goes out.
pub async fn preview_page<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    request: &DashboardRequest,
) -> Result<String, StoreError> {
    let table = match campaigns::preview(repos, policy, request.at, PREVIEW_DAYS).await {
        Ok(rows) => {
            let total = format!("<p>Сообщений: {}.</p>", rows.len());
            total + &preview_table(&rows, policy.time_zone())
        }
        Err(EvaluateError::Store(e)) => return Err(e),
        Err(e) => format!(
            "<div class=\"error\">Предпросмотр не построен: {}</div>",
            escape(&e.to_string())
        ),
    };
    let body = format!(
        "<section><h2>Что уйдёт за 7 дней с {}</h2><p class=\"hint\">Та же оценка, что ночью: \
         окно прогноза, правила контакта и переключатели кампаний; ничего не записывается.</p>\
         {table}</section>",
        date_ru(request.at)
    );
    Ok(document(
        "Рассылки на 7 дней",
        &nav(&request.base_path),
        &body,
    ))
}

/// The login form (its POST goes to `{base_path}/dashboard/login`), with `message` above it.
pub fn login_page(base_path: &str, message: Option<&str>) -> String {
    let message = message.map_or_else(String::new, |m| {
        format!("<div class=\"error\">{}</div>", escape(m))
    });
    let body = format!(
        "<section><h2>Вход</h2>{message}<form method=\"post\" action=\"{}/dashboard/login\">\
         <p><label>Токен администратора <input type=\"password\" name=\"token\" \
         autocomplete=\"current-password\" required></label></p>\
         <p><button type=\"submit\">Войти</button></p></form></section>",
        escape(base_path)
    );
    document("Панель маркетолога — вход", "", &body)
}

/// A short page with a Russian message (a bad request, an error).
pub fn message_page(base_path: &str, title: &str, message: &str) -> String {
    let body = format!(
        "<section><h2>{}</h2><p>{}</p><p><a href=\"{}/dashboard\">К панели</a></p></section>",
        escape(title),
        escape(message),
        escape(base_path)
    );
    document("Панель маркетолога", "", &body)
}
