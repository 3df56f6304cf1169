//! HTML building blocks of the dashboard: escaping, Russian number and date formats, the page
//! frame with its inline style.

use rust_decimal::Decimal;

/// `text` safe inside HTML text and quoted attributes (`& < > " '`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A path segment percent-encoded (everything but unreserved ASCII).
pub fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) use crate::reports::export::date_ru;

/// `12,5 %`, or `—` for nothing.
pub fn percent(value: Option<Decimal>) -> String {
    match value {
        Some(v) => format!("{}\u{a0}%", v.normalize()).replace('.', ","),
        None => "—".into(),
    }
}

/// A fraction in percent with one decimal and a comma: `12,5 %`.
pub fn fraction_percent(fraction: f64) -> String {
    format!("{:.1}\u{a0}%", fraction * 100.0).replace('.', ",")
}

/// Percentage points with a sign: `+3,2 п. п.`.
pub fn points_ru(points: f64) -> String {
    let sign = if points > 0.0 {
        "+"
    } else if points < 0.0 {
        "−"
    } else {
        ""
    };
    let number = format!("{:.1}", points.abs()).replace('.', ",");
    format!("{sign}{number}\u{a0}п.\u{a0}п.")
}

/// A decimal with a comma, or `—`.
pub fn decimal(value: Option<Decimal>) -> String {
    value.map_or_else(
        || "—".into(),
        |v| v.normalize().to_string().replace('.', ","),
    )
}

/// A decimal as a float for drawing (0 when it does not fit).
pub fn to_f64(value: Decimal) -> f64 {
    rust_decimal::prelude::ToPrimitive::to_f64(&value).unwrap_or(0.0)
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font-family:'DejaVu Sans','Liberation Sans',Arial,sans-serif;color:#1d2733;background:#f3f5f8;font-size:15px}\
header{background:#1f3b5a;color:#fff;padding:14px 28px;display:flex;flex-wrap:wrap;align-items:baseline;gap:24px}\
header h1{font-size:22px;margin:0}\
header a{color:#cfe3ff}\
main{max-width:1200px;margin:0 auto;padding:16px 28px 40px}\
section{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:16px 20px;margin:16px 0}\
h2{font-size:18px;margin:0 0 10px}\
p.hint{color:#5b6b7c;margin:4px 0 10px;font-size:13px}\
table{border-collapse:collapse;width:100%;margin-top:10px;font-size:14px}\
th,td{border-bottom:1px solid #e6eaef;padding:5px 8px;text-align:left;vertical-align:top}\
th{background:#f6f8fa;font-weight:600}\
td.num{white-space:nowrap;font-variant-numeric:tabular-nums}\
.warning{background:#fff4e0;border-left:4px solid #e69500;padding:8px 12px;margin:8px 0;font-size:14px}\
.error{background:#fdecea;border-left:4px solid #c0392b;padding:8px 12px;margin:8px 0}\
form.period{display:flex;flex-wrap:wrap;gap:12px;align-items:end}\
form.period label{display:flex;flex-direction:column;font-size:13px;color:#5b6b7c}\
input{font:inherit;padding:5px 8px;border:1px solid #b8c2cc;border-radius:4px}\
button{font:inherit;padding:5px 14px;border:1px solid #1f5fa0;border-radius:4px;background:#2f6fb0;color:#fff;cursor:pointer}\
button.off{background:#fff;color:#a33;border-color:#a33}\
.on{color:#1e7b34;font-weight:600}.off-state{color:#a33;font-weight:600}\
svg.chart{display:block;max-width:100%;height:auto;margin:6px 0}\
svg .chart-title{font-size:15px;font-weight:600;fill:#1d2733}\
svg .label,svg .note,svg .legend{font-size:13px;fill:#1d2733}\
svg .note{fill:#3d4b5a}\
svg .axis,svg .day{font-size:11px;fill:#5b6b7c}\
svg .day.closed{fill:#b0b8c1}\
svg .no-data{font-size:16px;fill:#8a96a3}\
svg .bar{fill:#2f6fb0}\
svg .zero{stroke:#8a96a3;stroke-dasharray:4 3}\
svg .axis-line{stroke:#8a96a3}\
svg .whisker{stroke:#c0392b;stroke-width:2}\
svg .dot{fill:#c0392b}\
svg .capacity{fill:#d6e4f2}\
svg .booked{fill:#2f6fb0}\
svg .due-line{fill:none;stroke:#e67e22;stroke-width:2}\
svg .due-dot{fill:#e67e22}\
";

/// A whole document: the title, the inline style, the header with `nav` and the body.
pub fn document(title: &str, nav: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\"><title>{title}</title><style>{STYLE}</style></head>\
         <body><header><h1>{title}</h1>{nav}</header><main>{body}</main></body></html>\n",
        title = escape(title),
    )
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn escape_makes_markup_and_quotes_text() {
        assert_eq!(
            escape("<a href=\"x\">Ольга & 'Пётр'</a>"),
            "&lt;a href=&quot;x&quot;&gt;Ольга &amp; &#39;Пётр&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("просто текст"), "просто текст");
    }

    #[test]
    fn a_path_segment_keeps_only_unreserved_characters() {
        assert_eq!(path_segment("soft_reminder"), "soft_reminder");
        assert_eq!(path_segment("a/b c?"), "a%2Fb%20c%3F");
        assert_eq!(path_segment("шины"), "%D1%88%D0%B8%D0%BD%D1%8B");
    }

    #[test]
    fn numbers_are_written_the_russian_way() {
        assert_eq!(percent(Some(Decimal::new(125, 1))), "12,5\u{a0}%");
        assert_eq!(percent(None), "—");
        assert_eq!(points_ru(3.26), "+3,3\u{a0}п.\u{a0}п.");
        assert_eq!(points_ru(-1.0), "−1,0\u{a0}п.\u{a0}п.");
        assert_eq!(fraction_percent(0.5), "50,0\u{a0}%");
        assert_eq!(
            date_ru(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
            "01.12.2026"
        );
    }

    #[test]
    fn the_document_loads_nothing_from_outside() {
        let html = document("Панель", "", "<p>x</p>");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"));
        assert!(html.contains("lang=\"ru\""));
    }
}
