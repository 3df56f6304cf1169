//! Customer-facing message texts (Russian) for each stage of the cycle.

use std::fmt::Write;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::money::Money;
use crate::pricing::Offer;
use crate::triggers::{CriticalReason, Reason, Stage};

/// What a message is about.
#[derive(Debug, Clone, Copy)]
pub struct MessageContext<'a> {
    pub first_name: &'a str,
    /// Make and model as the customer knows the car ("Toyota Camry").
    pub car: &'a str,
    pub stage: Stage,
    pub reason: &'a Reason,
    /// The priced offer, for the offer stages.
    pub offer: Option<&'a Offer>,
    /// The dealer's zone, for the dates shown.
    pub time_zone: Tz,
}

/// `1 день`, `2 дня`, `5 дней`.
pub fn days_ru(n: i64) -> String {
    let n = n.unsigned_abs();
    format!("{n} {}", plural_ru(n, ["день", "дня", "дней"]))
}

/// `1 год`, `3 года`, `5 лет`.
pub fn years_ru(n: u32) -> String {
    format!("{n} {}", plural_ru(u64::from(n), ["год", "года", "лет"]))
}

/// The Russian form of a noun after the number `n`: `forms` for 1, 2–4 and 5 (`клиент`,
/// `клиента`, `клиентов`); 11–14 take the third.
pub fn plural_ru(n: u64, forms: [&'static str; 3]) -> &'static str {
    match (n % 10, n % 100) {
        (1, x) if x != 11 => forms[0],
        (2..=4, x) if !(12..=14).contains(&x) => forms[1],
        _ => forms[2],
    }
}

/// `15.01.2025`.
fn date_ru(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

fn instant_ru(at: DateTime<Utc>, tz: Tz) -> String {
    date_ru(at.with_timezone(&tz).date_naive())
}

/// `52 000`: thousands grouped with no-break spaces, as Russian text writes numbers.
pub fn thousands_ru(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 * 2);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('\u{a0}');
        }
        grouped.push(ch);
    }
    grouped
}

/// `6 400 ₽`, `1 234,50 ₽`.
pub fn money_ru(m: Money) -> String {
    let kopecks = m.kopecks();
    let grouped = thousands_ru(kopecks / 100);
    match kopecks % 100 {
        0 => format!("{grouped}\u{a0}₽"),
        k => format!("{grouped},{k:02}\u{a0}₽"),
    }
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A weekday in Russian, Monday first: (nominative, accusative) — «вторник–четверг» is a span,
/// «в понедельник или среду» a choice.
const WEEKDAYS_RU: [(&str, &str); 7] = [
    ("понедельник", "понедельник"),
    ("вторник", "вторник"),
    ("среда", "среду"),
    ("четверг", "четверг"),
    ("пятница", "пятницу"),
    ("суббота", "субботу"),
    ("воскресенье", "воскресенье"),
];

/// `a, b или c`.
fn either_ru(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} или {last}", init.join(", ")),
    }
}

/// The days the offer's bonus is on, in words: the idle dates of the `load` mode (`03.12,
/// 04.12 или 08.12 — в эти дни в сервисе свободнее`), else the weekdays (`вторник–четверг`
/// for a run of three or more, else listed); `None` when there are none.
pub fn bonus_days_ru(offer: &Offer) -> Option<String> {
    if !offer.bonus_dates.is_empty() {
        let dates: Vec<String> = offer
            .bonus_dates
            .iter()
            .map(|d| d.format("%d.%m").to_string())
            .collect();
        return Some(format!(
            "{} — в эти дни в сервисе свободнее",
            either_ru(&dates)
        ));
    }
    let mut days: Vec<usize> = offer
        .weekday_bonus_days
        .iter()
        .filter_map(|d| d.parse::<chrono::Weekday>().ok())
        .map(|d| d.num_days_from_monday() as usize)
        .collect();
    days.sort_unstable();
    days.dedup();
    let run = days.windows(2).all(|w| w[1] == w[0] + 1);
    match days.as_slice() {
        [] => None,
        [first, .., last] if run && days.len() >= 3 => Some(format!(
            "{}–{}",
            WEEKDAYS_RU[*first].0, WEEKDAYS_RU[*last].0
        )),
        _ => Some(either_ru(
            &days
                .iter()
                .map(|&d| WEEKDAYS_RU[d].1.to_owned())
                .collect::<Vec<_>>(),
        )),
    }
}

/// The follow-up on declined work: what the advisor recommended (the offer's labour lines), and
/// for safety work why not to wait.
fn declined_work_intro(name: &str, car: &str, reason: &Reason, offer: Option<&Offer>) -> String {
    let (visit, safety) = match reason {
        Reason::DeclinedWork { visit, safety, .. } => (Some(*visit), *safety),
        _ => (None, false),
    };
    let jobs: Vec<String> = offer
        .map(|o| {
            o.lines
                .iter()
                .filter(|l| l.kind == crate::values::LineKind::Labor)
                .map(|l| lower_first(&l.name))
                .collect()
        })
        .unwrap_or_default();
    let when = visit.map_or_else(String::new, |d| format!(" {}", date_ru(d)));
    let mut out = if jobs.is_empty() {
        format!(
            "{name}, на визите{when} мастер рекомендовал работы для вашего {car}, которые мы \
             не выполнили."
        )
    } else {
        format!(
            "{name}, на визите{when} мастер рекомендовал для вашего {car}: {}.",
            jobs.join(", ")
        )
    };
    if safety {
        out.push_str(" Это влияет на безопасность — лучше не откладывать.");
    }
    out
}

fn offer_details(out: &mut String, offer: &Offer, tz: Tz) {
    if let Some(price) = offer.package_price {
        let _ = write!(out, " ТО по фиксированной цене {}", money_ru(price));
        if offer.customer_saving > Money::ZERO {
            let _ = write!(out, " вместо {}", money_ru(offer.list_price));
        }
        out.push('.');
    } else if offer.customer_saving > Money::ZERO {
        let _ = write!(
            out,
            " Скидка {} % на работы: {} вместо {}.",
            offer
                .labor_discount_percent
                .normalize()
                .to_string()
                .replace('.', ","),
            money_ru(offer.final_price),
            money_ru(offer.list_price)
        );
    } else if offer.lines_from == crate::pricing::LinesFrom::DeclinedWork {
        let _ = write!(out, " Стоимость работ — {}.", money_ru(offer.final_price));
    } else {
        let _ = write!(out, " Стоимость ТО — {}.", money_ru(offer.final_price));
    }
    let free: Vec<String> = offer
        .perks
        .iter()
        .filter(|p| p.expires_at.is_none())
        .map(|p| lower_first(&p.name))
        .collect();
    if !free.is_empty() {
        let _ = write!(out, " Для вас: {}.", free.join(", "));
    }
    for gift in offer.perks.iter().filter(|p| p.expires_at.is_some()) {
        if let Some(until) = gift.expires_at {
            let _ = write!(
                out,
                " {} при записи до {}.",
                gift.name,
                instant_ru(until, tz)
            );
        }
    }
    if offer.weekday_bonus_points > 0 {
        if let Some(days) = bonus_days_ru(offer) {
            let _ = write!(
                out,
                " +{} бонусных баллов при записи на {days}.",
                offer.weekday_bonus_points
            );
        }
    }
    let _ = write!(
        out,
        " Предложение действует до {}.",
        instant_ru(offer.expires_at, tz)
    );
}

fn critical_intro(reason: &Reason, car: &str) -> String {
    match reason {
        Reason::Critical(CriticalReason::Overdue { days_overdue, .. }) => {
            format!(
                "плановое ТО вашего {car} просрочено на {}.",
                days_ru(*days_overdue)
            )
        }
        Reason::Critical(CriticalReason::WarrantyEnds { on }) => {
            format!("гарантия на ваш {car} заканчивается {}.", date_ru(*on))
        }
        Reason::Critical(CriticalReason::TurnedLost { .. }) => {
            format!("давно не видели ваш {car} у нас в сервисе.")
        }
        Reason::Critical(CriticalReason::LowSatisfaction { .. }) => {
            "нам жаль, что прошлый визит вас не порадовал. Хотим это исправить.".to_owned()
        }
        Reason::Critical(CriticalReason::CrossedAgeLine { years, .. }) => {
            format!(
                "вашему {car} исполнилось {} — самое время проверить его у нас.",
                years_ru(*years)
            )
        }
        _ => format!("для вашего {car} есть предложение."),
    }
}

/// The text of one message. Marketing messages end with how to unsubscribe.
pub fn render_message(cx: &MessageContext<'_>) -> String {
    let name = cx.first_name;
    let car = cx.car;
    let mut out = match (cx.stage, cx.reason) {
        (Stage::AskOdometer, _) => format!(
            "{name}, подскажите, пожалуйста, текущий пробег вашего {car}? Ответьте числом, \
             например 45000, — так мы точнее напомним о ТО."
        ),
        (Stage::SoftReminder, Reason::DueSoon { due, days_left }) if *days_left > 0 => format!(
            "{name}, через {} ({}) вашему {car} пора на плановое ТО. Записаться можно прямо \
             здесь — нажмите «Записаться».",
            days_ru(*days_left),
            date_ru(*due)
        ),
        (Stage::SoftReminder, _) => format!(
            "{name}, вашему {car} пора на плановое ТО. Записаться можно прямо здесь — нажмите \
             «Записаться»."
        ),
        (Stage::PersonalOffer, _) => {
            format!("{name}, мы подготовили для вашего {car} персональное предложение на ТО.")
        }
        (Stage::CriticalOffer, reason) => format!("{name}, {}", critical_intro(reason, car)),
        (Stage::SatisfactionRequest, Reason::AfterVisit { visit }) => format!(
            "{name}, спасибо, что были у нас {}! Оцените, пожалуйста, визит от 0 до 10 — \
             ответьте одной цифрой.",
            date_ru(*visit)
        ),
        (Stage::SatisfactionRequest, _) => format!(
            "{name}, спасибо, что были у нас! Оцените, пожалуйста, визит от 0 до 10 — ответьте \
             одной цифрой."
        ),
        (Stage::SeasonalTires, reason) => {
            let tyres = match reason {
                Reason::TireSeason { window } if window == "autumn" => "зимние",
                Reason::TireSeason { window } if window == "spring" => "летние",
                _ => "сезонные",
            };
            format!(
                "{name}, пора менять шины на {tyres}. Запишитесь на шиномонтаж — нажмите \
                 «Записаться»."
            )
        }
        (Stage::DeclinedWork, reason) => declined_work_intro(name, car, reason, cx.offer),
    };
    if let (true, Some(offer)) = (cx.stage.is_offer(), cx.offer) {
        offer_details(&mut out, offer, cx.time_zone);
        out.push_str(" Записаться — кнопка «Записаться».");
    }
    if cx.stage.class_for(cx.reason) == crate::values::ContactClass::Marketing {
        out.push_str(" Отписаться от предложений: ответьте СТОП.");
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::policy::Policy;
    use crate::pricing::{price_offer, OfferInput};
    use crate::status::{AgeBand, CustomerStatus};
    use crate::values::{LineKind, Quantity, WorkOrderLine};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// «1 клиент», «2 клиента», «5 клиентов» (the uplift's warning said «1 клиентов»).
    #[test]
    fn a_noun_takes_the_form_its_number_asks_for() {
        let forms = ["клиент", "клиента", "клиентов"];
        let got: Vec<&str> = [1, 2, 5, 11, 12, 21, 22, 111, 1001]
            .map(|n| plural_ru(n, forms))
            .to_vec();
        assert_eq!(
            got,
            [
                "клиент",
                "клиента",
                "клиентов",
                "клиентов",
                "клиентов",
                "клиент",
                "клиента",
                "клиентов",
                "клиент"
            ]
        );
    }

    fn cx<'a>(stage: Stage, reason: &'a Reason, offer: Option<&'a Offer>) -> MessageContext<'a> {
        MessageContext {
            first_name: "Михаил",
            car: "Toyota Camry",
            stage,
            reason,
            offer,
            time_zone: chrono_tz::Europe::Moscow,
        }
    }

    #[test]
    fn year_counts_take_the_russian_plural() {
        let got: Vec<String> = [1, 3, 5, 11, 21, 22, 25].map(years_ru).to_vec();
        assert_eq!(
            got,
            [
                "1 год",
                "3 года",
                "5 лет",
                "11 лет",
                "21 год",
                "22 года",
                "25 лет"
            ]
        );
    }

    #[test]
    fn day_counts_take_the_russian_plural() {
        let got: Vec<String> = [1, 2, 5, 11, 12, 21, 22, 25, 30, 101, 111]
            .map(days_ru)
            .to_vec();
        assert_eq!(
            got,
            [
                "1 день",
                "2 дня",
                "5 дней",
                "11 дней",
                "12 дней",
                "21 день",
                "22 дня",
                "25 дней",
                "30 дней",
                "101 день",
                "111 дней"
            ]
        );
    }

    #[test]
    fn roubles_are_grouped_by_thousands() {
        assert_eq!(money_ru(Money::from_roubles(6_400)), "6\u{a0}400\u{a0}₽");
        assert_eq!(
            money_ru(Money::from_kopecks(123_456_750)),
            "1\u{a0}234\u{a0}567,50\u{a0}₽"
        );
        assert_eq!(money_ru(Money::from_roubles(900)), "900\u{a0}₽");
    }

    #[test]
    fn the_soft_reminder_says_when_the_service_is_due() {
        let reason = Reason::DueSoon {
            due: day(2025, 1, 15),
            days_left: 30,
        };
        let text = render_message(&cx(Stage::SoftReminder, &reason, None));
        assert_eq!(
            text,
            "Михаил, через 30 дней (15.01.2025) вашему Toyota Camry пора на плановое ТО. \
             Записаться можно прямо здесь — нажмите «Записаться»."
        );
    }

    #[test]
    fn a_personal_offer_lists_the_discount_the_gift_the_bonus_and_how_to_unsubscribe() {
        let lines = [
            WorkOrderLine::parse(
                LineKind::Labor,
                "TO-60",
                "ТО-6",
                Quantity::ONE,
                Money::from_roubles(6_500),
                Money::from_roubles(2_600),
            )
            .unwrap(),
            WorkOrderLine::parse(
                LineKind::Part,
                "F",
                "Фильтр",
                Quantity::ONE,
                Money::from_roubles(1_200),
                Money::from_roubles(950),
            )
            .unwrap(),
        ];
        let at = Utc.with_ymd_and_hms(2025, 1, 9, 9, 0, 0).unwrap();
        let input = OfferInput {
            status: CustomerStatus::Sleeping,
            age_band: AgeBand::Middle,
            make: "Toyota",
            model: "Camry",
            last_maintenance: &lines,
            at,
        };
        let offer = price_offer(&Policy::default(), &input).unwrap();
        let reason = Reason::ReminderUnanswered {
            due: day(2025, 1, 15),
            reminder_sent: at,
        };
        let text = render_message(&cx(Stage::PersonalOffer, &reason, Some(&offer)));
        for part in [
            "персональное предложение",
            "Скидка 20 % на работы: 6\u{a0}400\u{a0}₽ вместо 7\u{a0}700\u{a0}₽.",
            "Моторное масло в подарок при записи до 16.01.2025.",
            "+500 бонусных баллов при записи на вторник–четверг.",
            "Предложение действует до 23.01.2025.",
            "ответьте СТОП.",
        ] {
            assert!(text.contains(part), "{part:?} missing in {text:?}");
        }
    }

    #[test]
    fn the_bonus_names_the_policys_weekdays_or_the_idle_dates_it_was_priced_with() {
        let lines = [WorkOrderLine::parse(
            LineKind::Labor,
            "TO-60",
            "ТО-6",
            Quantity::ONE,
            Money::from_roubles(10_000),
            Money::from_roubles(4_000),
        )
        .unwrap()];
        let input = OfferInput {
            status: CustomerStatus::Sleeping,
            age_band: AgeBand::Middle,
            make: "Toyota",
            model: "Camry",
            last_maintenance: &lines,
            at: Utc.with_ymd_and_hms(2025, 1, 9, 9, 0, 0).unwrap(),
        };
        let mut offer = price_offer(&Policy::default(), &input).unwrap();
        let days = |offer: &Offer| bonus_days_ru(offer);
        assert_eq!(days(&offer).as_deref(), Some("вторник–четверг"));
        offer.weekday_bonus_days = vec!["wed".into(), "mon".into()];
        assert_eq!(days(&offer).as_deref(), Some("понедельник или среду"));
        offer.weekday_bonus_days = vec!["fri".into(), "sat".into(), "sun".into()];
        assert_eq!(days(&offer).as_deref(), Some("пятница–воскресенье"));
        offer.bonus_dates = vec![day(2025, 1, 14), day(2025, 1, 15), day(2025, 1, 20)];
        assert_eq!(
            days(&offer).as_deref(),
            Some("14.01, 15.01 или 20.01 — в эти дни в сервисе свободнее")
        );
        let text = render_message(&cx(
            Stage::PersonalOffer,
            &Reason::ReminderUnanswered {
                due: day(2025, 1, 15),
                reminder_sent: input.at,
            },
            Some(&offer),
        ));
        assert!(
            text.contains("+500 бонусных баллов при записи на 14.01, 15.01 или 20.01"),
            "{text}"
        );
        let policy =
            Policy::from_toml("[pricing]\nbonus_mode = \"load\"\nload_bonus_days = 2").unwrap();
        let load = price_offer(&policy, &input).unwrap();
        assert!(load.weekday_bonus_days.is_empty() && load.bonus_dates.is_empty());
        assert_eq!(
            load.weekday_bonus_points, 500,
            "the caller sets the dates or drops it"
        );
        assert_eq!(policy.pricing().load_bonus_days, 2);
        assert!(Policy::from_toml("[pricing]\nbonus_mode = \"busy\"").is_err());
    }

    #[test]
    fn a_fractional_discount_of_a_policy_rule_is_written_with_a_decimal_comma() {
        let lines = [WorkOrderLine::parse(
            LineKind::Labor,
            "TO-60",
            "ТО-6",
            Quantity::ONE,
            Money::from_roubles(10_000),
            Money::from_roubles(4_000),
        )
        .unwrap()];
        let at = Utc.with_ymd_and_hms(2025, 1, 9, 9, 0, 0).unwrap();
        let input = OfferInput {
            status: CustomerStatus::Sleeping,
            age_band: AgeBand::Middle,
            make: "Toyota",
            model: "Camry",
            last_maintenance: &lines,
            at,
        };
        let mut offer = price_offer(&Policy::default(), &input).unwrap();
        offer.labor_discount_percent = rust_decimal::Decimal::new(125, 1);
        let reason = Reason::ReminderUnanswered {
            due: day(2025, 1, 15),
            reminder_sent: at,
        };
        let text = render_message(&cx(Stage::PersonalOffer, &reason, Some(&offer)));
        assert!(text.contains("Скидка 12,5 % на работы"), "{text}");
    }

    #[test]
    fn a_critical_offer_opens_with_its_reason() {
        let reason = Reason::Critical(CriticalReason::WarrantyEnds {
            on: day(2025, 3, 1),
        });
        let text = render_message(&cx(Stage::CriticalOffer, &reason, None));
        assert!(text.starts_with("Михаил, гарантия на ваш Toyota Camry заканчивается 01.03.2025."));
    }

    #[test]
    fn a_warranty_offer_lists_its_perks() {
        let lines = [WorkOrderLine::parse(
            LineKind::Labor,
            "TO",
            "ТО",
            Quantity::ONE,
            Money::from_roubles(5_000),
            Money::from_roubles(2_000),
        )
        .unwrap()];
        let input = OfferInput {
            status: CustomerStatus::New,
            age_band: AgeBand::Warranty,
            make: "Kia",
            model: "Rio",
            last_maintenance: &lines,
            at: Utc.with_ymd_and_hms(2025, 1, 9, 9, 0, 0).unwrap(),
        };
        let offer = price_offer(&Policy::default(), &input).unwrap();
        let reason = Reason::Critical(CriticalReason::WarrantyEnds {
            on: day(2025, 3, 1),
        });
        let text = render_message(&cx(Stage::CriticalOffer, &reason, Some(&offer)));
        assert!(
            text.contains(
                "Стоимость ТО — 5\u{a0}000\u{a0}₽. Для вас: бесплатная проверка автомобиля, \
                 такси до дома, мойка автомобиля."
            ),
            "{text}"
        );
    }

    #[test]
    fn service_messages_carry_no_unsubscribe_line() {
        let reason = Reason::AfterVisit {
            visit: day(2024, 1, 10),
        };
        let text = render_message(&cx(Stage::SatisfactionRequest, &reason, None));
        assert!(text.contains("10.01.2024"));
        assert!(!text.contains("СТОП"));
    }
}
