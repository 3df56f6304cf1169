//! The mobile booking page an SMS link opens: `GET /b/{token}` shows the offer and the free slots,
//! `POST /b/{token}` (form field `slot`) holds one through the booking use case; the advisor
//! confirms in Telegram as usual. The other answers of the messenger are there too (field
//! `answer`: «Уже обслужился», «Напомнить позже», «Не присылать» and what follows; field `km`:
//! the odometer after a service elsewhere). Russian, server-rendered, inline CSS and JS, no external assets.
//! A forged link answers 404, an expired one 410, each with a page saying so; nothing changes.

use app::booking_link::{LinkError, PAGE_PREFIX};
use app::booking_page::{
    answer_from_page, hold_from_page, km_from_page, open_page, PageError, PageStep, PageView,
};
use app::UpdateError;
use chrono::{DateTime, Utc};
use lambda_http::{http, Body, Response};
use store::Store;

use crate::{deliver, Deps, TelegramOut, WhatsAppOut};

/// The token of a booking page path (`.../b/{token}`).
pub fn token_of(path: &str) -> Option<&str> {
    let at = path.rfind(PAGE_PREFIX)?;
    let token = &path[at + PAGE_PREFIX.len()..];
    let plausible = !token.is_empty()
        && token.len() <= 64
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plausible.then_some(token)
}

/// Answers the page at `now`.
pub async fn handle_page<S: Store, T: TelegramOut, W: WhatsAppOut>(
    deps: &Deps<S, T, W>,
    method: &http::Method,
    token: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Response<Body> {
    let Some(links) = &deps.links else {
        return notice(404, "Страница не найдена", "Такой страницы нет.");
    };
    let step = match *method {
        http::Method::GET => {
            open_page(&deps.repos, &deps.policy, &deps.settings, links, token, now).await
        }
        http::Method::POST => {
            let field = |name: &str| {
                form_urlencoded::parse(body)
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            };
            let (repos, policy, settings) = (&deps.repos, &deps.policy, &deps.settings);
            if let Some(answer) = field("answer") {
                answer_from_page(repos, policy, settings, links, token, &answer, now).await
            } else if let Some(km) = field("km") {
                km_from_page(repos, policy, settings, links, token, &km, now).await
            } else {
                let slot = field("slot").unwrap_or_default();
                hold_from_page(repos, policy, settings, links, token, &slot, now).await
            }
        }
        _ => {
            return notice(405, "Запись на сервис", "Откройте ссылку из SMS ещё раз.");
        }
    };
    match step {
        Ok(step) => match finish(deps, &step, now).await {
            Ok(()) => page(200, &step.view),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), offer_id = %step.view.offer_id, "booking page");
                failed()
            }
        },
        Err(e) => error_page(e),
    }
}

/// Delivers the use case's messages to others (the advisors) and records the update.
async fn finish<S: Store, T: TelegramOut, W: WhatsAppOut>(
    deps: &Deps<S, T, W>,
    step: &PageStep,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    crate::count_bookings(&step.events);
    crate::publish(deps, &step.events).await;
    for message in &step.deliver {
        deliver(deps, message).await?;
    }
    app::finish_update(&deps.repos, &step.update, now).await?;
    Ok(())
}

fn error_page(e: PageError) -> Response<Body> {
    match e {
        PageError::Link(LinkError::Forged) => notice(
            404,
            "Ссылка недействительна",
            "Эта ссылка не работает. Проверьте, что она скопирована полностью, или дождитесь нового сообщения от нас.",
        ),
        PageError::Link(LinkError::Expired) => notice(
            410,
            "Срок действия ссылки истёк",
            "Эта ссылка больше не действует. Мы пришлём новую, когда подойдёт время ТО, или позвоните нам.",
        ),
        PageError::WrongAnswer => notice(
            422,
            "Не удалось принять ответ",
            "Этот ответ не относится к этому предложению. Откройте ссылку из SMS ещё раз.",
        ),
        PageError::WrongSlot | PageError::Update(UpdateError::Malformed) => notice(
            422,
            "Не удалось записаться",
            "Выбранное время не относится к этому предложению. Откройте ссылку из SMS ещё раз.",
        ),
        PageError::Update(UpdateError::NotFound(_)) => notice(
            404,
            "Предложение не найдено",
            "Это предложение больше не действует.",
        ),
        PageError::Update(UpdateError::Forbidden(_)) => notice(
            403,
            "Не удалось записаться",
            "Запись по этой ссылке недоступна. Позвоните нам, пожалуйста.",
        ),
        PageError::Update(UpdateError::Refused(text)) => {
            notice(410, "Предложение больше не действует", &text)
        }
        PageError::Update(UpdateError::InProgress(_)) => notice(
            409,
            "Запрос обрабатывается",
            "Ваш запрос уже обрабатывается. Обновите страницу через минуту.",
        ),
        PageError::Update(UpdateError::Store(e)) | PageError::Store(e) => {
            tracing::error!(error = %e, "booking page: storage");
            failed()
        }
    }
}

fn failed() -> Response<Body> {
    notice(
        500,
        "Что-то пошло не так",
        "Не получилось обработать запрос. Попробуйте ещё раз через минуту.",
    )
}

/// HTML-escapes `text` (the dashboard's escaping: `& < > " '`).
pub use app::dashboard::html::escape;

const STYLE: &str = "body{margin:0;font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f4f5f7;color:#1c1e21}\
main{max-width:30rem;margin:0 auto;padding:1rem}\
h1{font-size:1.35rem;margin:.5rem 0 1rem}\
.card{background:#fff;border-radius:12px;padding:1rem;margin-bottom:1rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}\
.notice{background:#e8f4ea;border-left:4px solid #2e7d32}\
.slots{display:grid;grid-template-columns:repeat(auto-fill,minmax(8.5rem,1fr));gap:.6rem}\
.slot{font:inherit;font-weight:600;padding:.9rem .5rem;border:0;border-radius:10px;background:#0b5cad;color:#fff;cursor:pointer}\
.slot:disabled{background:#9aa5b1}\
.answer{background:#e4e8ee;color:#1c1e21}\
.muted{color:#5f6b76;font-size:.9rem}";

const SCRIPT: &str = "document.querySelectorAll('form.pick').forEach(function(f){f.addEventListener('submit',function(e){\
var b=e.submitter;if(b){var h=document.createElement('input');h.type='hidden';h.name='slot';h.value=b.value;f.appendChild(h);}\
f.querySelectorAll('button').forEach(function(x){x.disabled=true;});\
var s=document.getElementById('status');if(s){s.textContent='Отправляем заявку…';}});});";

fn document(title: &str, content: &str) -> String {
    format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<link rel=\"icon\" href=\"data:,\"><title>{title}</title><style>{STYLE}</style></head>\
<body><main><h1>{title}</h1>{content}</main><script>{SCRIPT}</script></body></html>",
        title = escape(title),
    )
}

fn html(status: u16, body: String) -> Response<Body> {
    let mut response = crate::response(status, "text/html; charset=utf-8", body);
    let headers = response.headers_mut();
    for (name, value) in [
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        (
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(name, http::HeaderValue::from_static(value));
    }
    response
}

fn notice(status: u16, title: &str, text: &str) -> Response<Body> {
    html(
        status,
        document(title, &format!("<p class=\"card\">{}</p>", escape(text))),
    )
}

/// The page of `view`.
pub fn page(status: u16, view: &PageView) -> Response<Body> {
    let mut content = String::new();
    if !view.offer_text.is_empty() {
        content.push_str(&format!(
            "<section class=\"card\"><p>{}</p></section>",
            escape(&view.offer_text)
        ));
    }
    let shown_notices: Vec<&String> = view
        .notices
        .iter()
        .filter(|n| view.slots.is_empty() || !n.starts_with("Выберите"))
        .collect();
    for text in shown_notices {
        content.push_str(&format!(
            "<p class=\"card notice\" role=\"status\">{}</p>",
            escape(text)
        ));
    }
    match &view.booking {
        Some(booking) => {
            let state = if booking.confirmed {
                "подтверждена. Ждём вас!"
            } else {
                "ждёт подтверждения мастера-консультанта. Мы сообщим, когда он её подтвердит."
            };
            content.push_str(&format!(
                "<p class=\"card\" id=\"booking\">Ваша запись на {}: {state}</p>",
                escape(&booking.when)
            ));
        }
        None if view.slots.is_empty() => {}
        None => {
            content.push_str("<section class=\"card\"><h2>Выберите удобное время</h2><form class=\"pick\" method=\"post\"><div class=\"slots\">");
            for slot in &view.slots {
                content.push_str(&format!(
                    "<button class=\"slot\" type=\"submit\" name=\"slot\" value=\"{}\">{}</button>",
                    escape(&slot.callback_data),
                    escape(&slot.text)
                ));
            }
            content.push_str("</div></form><p class=\"muted\" id=\"status\">Время указано местное. Заявку подтвердит мастер-консультант.</p></section>");
        }
    }
    if view.ask_km {
        content.push_str("<section class=\"card\"><form method=\"post\" id=\"km\"><label>Пробег, км <input name=\"km\" inputmode=\"numeric\" pattern=\"[0-9 ]{1,9}\" required></label> <button class=\"slot\" type=\"submit\">Отправить</button></form></section>");
    }
    if !view.answers.is_empty() {
        content.push_str("<section class=\"card\"><form class=\"answers\" method=\"post\" id=\"answers\"><div class=\"slots\">");
        for answer in &view.answers {
            content.push_str(&format!(
                "<button class=\"slot answer\" type=\"submit\" name=\"answer\" value=\"{}\">{}</button>",
                escape(&answer.callback_data),
                escape(&answer.text)
            ));
        }
        content.push_str("</div></form></section>");
    }
    html(status, document("Запись на сервис", &content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_the_last_path_segment_after_b() {
        assert_eq!(token_of("/b/AbC-_9"), Some("AbC-_9"));
        assert_eq!(token_of("/prod/b/AbC"), Some("AbC"));
        assert_eq!(token_of("/b/"), None);
        assert_eq!(token_of("/b/a/b"), None);
        assert_eq!(token_of("/b/<script>"), None);
        assert_eq!(token_of("/v1/telegram/webhook"), None);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
