//! The dealer's words for the system's values: stages, reasons, statuses, limits, reactions.

use domain::render::days_ru;
use domain::status::CustomerStatus;
use domain::triggers::{CriticalReason, Reaction, Reason, Stage};
use domain::DueLimit;
use store::repo::BookingState;

use super::export::date_ru;

/// The stage as the advisor calls it.
pub fn stage_ru(stage: Stage) -> &'static str {
    match stage {
        Stage::AskOdometer => "запрос пробега",
        Stage::SoftReminder => "мягкое напоминание",
        Stage::PersonalOffer => "персональное предложение",
        Stage::CriticalOffer => "критическое предложение",
        Stage::SatisfactionRequest => "оценка визита",
        Stage::SeasonalTires => "сезонная смена шин",
        Stage::DeclinedWork => "отложенные работы",
    }
}

/// Customer statuses in the plural, as counted in reports.
pub fn status_ru(status: CustomerStatus) -> &'static str {
    match status {
        CustomerStatus::New => "новые",
        CustomerStatus::Loyal => "лояльные",
        CustomerStatus::Sleeping => "спящие",
        CustomerStatus::Lost => "потерянные",
        CustomerStatus::Returned => "вернувшиеся",
        CustomerStatus::Blocked => "отписавшиеся",
    }
}

/// The schedule's limit that makes the service due.
pub fn limit_ru(limit: DueLimit) -> &'static str {
    match limit {
        DueLimit::Time => "время",
        DueLimit::Distance => "пробег",
    }
}

pub fn reaction_ru(reaction: Reaction) -> String {
    match reaction {
        Reaction::Read => "прочитал".into(),
        Reaction::Clicked => "нажал «Записаться»".into(),
        Reaction::Replied => "ответил".into(),
        Reaction::Booked => "записался".into(),
        Reaction::Declined => "отказался".into(),
        Reaction::OptedOut => "отписался".into(),
        Reaction::Rated(score) => format!("оценил визит на {score} из 10"),
    }
}

pub fn booking_state_ru(state: BookingState) -> &'static str {
    match state {
        BookingState::Held => "ждёт подтверждения",
        BookingState::Confirmed => "подтверждена",
        BookingState::Cancelled => "отменена",
        BookingState::Lapsed => "не подтверждена вовремя",
        BookingState::NoShow => "клиент не приехал",
    }
}

/// Why a stage fired, in the dealer's words.
pub fn reason_ru(reason: &Reason) -> String {
    match reason {
        Reason::UncertainDue { due, interval_days } => format!(
            "ТО ожидается {}, но прогноз размыт на {}",
            date_ru(*due),
            days_ru(*interval_days)
        ),
        Reason::DueSoon { due, days_left } if *days_left >= 0 => {
            format!("ТО {} — через {}", date_ru(*due), days_ru(*days_left))
        }
        Reason::DueSoon { due, days_left } => format!(
            "ТО было нужно {} — {} назад",
            date_ru(*due),
            days_ru(*days_left)
        ),
        Reason::ReminderUnanswered { due, reminder_sent } => format!(
            "ТО {}; на напоминание от {} нет ответа",
            date_ru(*due),
            date_ru(reminder_sent.date_naive())
        ),
        Reason::Critical(c) => critical_ru(c),
        Reason::AfterVisit { visit } => format!("визит {} — просим оценку", date_ru(*visit)),
        Reason::TireSeason { window } => match window.as_str() {
            "spring" => "весенний сезон смены шин".into(),
            "autumn" => "осенний сезон смены шин".into(),
            other => format!("сезон смены шин ({other})"),
        },
        Reason::DeclinedWork {
            visit,
            step,
            codes,
            safety,
        } => format!(
            "{step}-е напоминание о работах, отложенных на визите {}: {}{}",
            date_ru(*visit),
            codes.join(", "),
            if *safety {
                " (безопасность)"
            } else {
                ""
            }
        ),
    }
}

fn critical_ru(reason: &CriticalReason) -> String {
    match reason {
        CriticalReason::Overdue { due, days_overdue } => format!(
            "критично: ТО просрочено на {} (было нужно {})",
            days_ru(*days_overdue),
            date_ru(*due)
        ),
        CriticalReason::WarrantyEnds { on } => {
            format!("критично: гарантия заканчивается {}", date_ru(*on))
        }
        CriticalReason::TurnedLost { last_visit } => format!(
            "критично: клиент потерян, последний визит {}",
            date_ru(*last_visit)
        ),
        CriticalReason::LowSatisfaction { score } => {
            format!("критично: последняя оценка визита {score} из 10")
        }
        CriticalReason::CrossedAgeLine { years, on } => format!(
            "критично: автомобилю исполнилось {years} лет ({})",
            date_ru(*on)
        ),
    }
}
