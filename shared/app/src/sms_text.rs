//! SMS texts: how many segments a text takes (GSM 7-bit or UCS-2) and the short Russian text
//! with the booking link that fits in two.

use domain::triggers::Stage;

/// Most segments an SMS of ours may take.
pub const MAX_SEGMENTS: usize = 2;

const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// The segments `text` takes: in the GSM 7-bit alphabet 160 septets alone or 153 per part
/// (extension characters take two); otherwise UCS-2, 70 code units alone or 67 per part.
pub fn segments(text: &str) -> usize {
    let gsm: Option<usize> = text.chars().try_fold(0usize, |n, c| {
        if GSM_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM_EXTENDED.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    });
    let (units, single, part) = match gsm {
        Some(septets) => (septets, 160, 153),
        None => (text.encode_utf16().count(), 70, 67),
    };
    match units {
        0 => 1,
        n if n <= single => 1,
        n => n.div_ceil(part),
    }
}

/// A reply (a confirmation, a lapse notice) as an SMS: whole if it fits in [`MAX_SEGMENTS`], else
/// its leading lines that fit, ended by "…" (the first line cut short if even it does not fit).
/// The booking page keeps the full terms; an SMS the gateway refuses tells the customer nothing.
pub fn fit_sms(text: &str) -> String {
    if segments(text) <= MAX_SEGMENTS {
        return text.to_owned();
    }
    let mut kept = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let candidate = if kept.is_empty() {
            line.trim().to_owned()
        } else {
            format!("{kept}\n{}", line.trim())
        };
        if segments(&format!("{candidate}…")) > MAX_SEGMENTS {
            break;
        }
        kept = candidate;
    }
    if kept.is_empty() {
        let mut cut: String = text.trim().chars().collect();
        while !cut.is_empty() && segments(&format!("{cut}…")) > MAX_SEGMENTS {
            cut.pop();
        }
        kept = cut;
    }
    format!("{kept}…")
}

/// The SMS of `stage` for `first_name` with the booking `link`: the fullest wording that fits
/// in [`MAX_SEGMENTS`], the name dropped if it is too long. `None` for stages that need a reply
/// (SMS replies are not received) or when even the shortest wording does not fit.
pub fn sms_text(stage: Stage, first_name: &str, link: &str) -> Option<String> {
    let line = match stage {
        Stage::SoftReminder => "пора на плановое ТО. Записаться онлайн:",
        Stage::PersonalOffer | Stage::CriticalOffer => {
            "для вас персональное предложение на ТО. Записаться:"
        }
        Stage::SeasonalTires => "пора сменить шины. Записаться онлайн:",
        Stage::DeclinedWork => "напоминаем о работах, рекомендованных мастером. Записаться:",
        Stage::AskOdometer | Stage::SatisfactionRequest => return None,
    };
    let mut capital = line.chars();
    let capitalised: String = capital
        .next()
        .map(|c| c.to_uppercase().chain(capital).collect())
        .unwrap_or_default();
    [
        format!("{first_name}, {line} {link}"),
        format!("{capitalised} {link}"),
        format!("Запись на сервис: {link}"),
    ]
    .into_iter()
    .find(|text| segments(text) <= MAX_SEGMENTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_reply_keeps_its_leading_lines_within_two_segments() {
        let short = "Запись подтверждена: 12.10 в 10:00.";
        assert_eq!(fit_sms(short), short);
        let long = "Запись подтверждена: вторник 12.10 в 10:00, ул. Ленина, 1.\n\
                    Скидка 20 % на работы: 6 400 ₽ вместо 7 700 ₽.\n\
                    Подарок: мойка автомобиля.\n\
                    Бонус: 500 баллов за визит во вторник–четверг.";
        assert!(segments(long) > MAX_SEGMENTS);
        let fitted = fit_sms(long);
        assert!(segments(&fitted) <= MAX_SEGMENTS, "{fitted}");
        assert!(fitted.starts_with("Запись подтверждена: вторник 12.10 в 10:00"));
        assert!(fitted.ends_with('…'));
        let one_line: String = "Запись ".repeat(40);
        let fitted = fit_sms(&one_line);
        assert!(segments(&fitted) <= MAX_SEGMENTS && fitted.starts_with("Запись"));
    }

    #[test]
    fn latin_text_takes_160_septets_then_153_per_part() {
        assert_eq!(segments(""), 1);
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
        assert_eq!(segments(&"€".repeat(80)), 1);
        assert_eq!(segments(&"€".repeat(81)), 2);
    }

    #[test]
    fn cyrillic_text_takes_70_then_67_per_part() {
        assert_eq!(segments(&"я".repeat(70)), 1);
        assert_eq!(segments(&"я".repeat(71)), 2);
        assert_eq!(segments(&"я".repeat(134)), 2);
        assert_eq!(segments(&"я".repeat(135)), 3);
        // One Cyrillic letter turns a whole Latin link into UCS-2.
        assert_eq!(segments(&format!("я{}", "a".repeat(100))), 2);
    }

    #[test]
    fn the_text_fits_two_segments_dropping_the_name_when_it_is_too_long() {
        let link = "https://abcdefghij.execute-api.eu-central-1.amazonaws.com/b/AAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let text = sms_text(Stage::SoftReminder, "Анна", link).unwrap();
        assert!(text.starts_with("Анна, пора на плановое ТО") && text.ends_with(link));
        assert!(segments(&text) <= 2 && text.chars().count() <= 134);
        let long = "Я".repeat(100);
        let text = sms_text(Stage::PersonalOffer, &long, link).unwrap();
        assert!(!text.contains(&long) && text.ends_with(link), "{text}");
        assert!(segments(&text) <= 2);
        assert_eq!(sms_text(Stage::AskOdometer, "Анна", link), None);
        assert_eq!(
            sms_text(Stage::SoftReminder, "Анна", &"x".repeat(200)),
            None
        );
    }
}
