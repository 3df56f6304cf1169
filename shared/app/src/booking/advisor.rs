//! The advisors' commands in their Telegram chat: close or open a day, or one lift of a day
//! (sick leave, a lift under repair). `/close 2026-12-03`, `/close 03.12.2026 lift 2`,
//! `/open 2026-12-03`, `/open 2026-12-03 пост 2`. Only the advisors' chat may use them.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::policy::Policy;
use store::repo::{LiftClosure, Repos};
use store::Store;

use super::{BookingRecord, UpdateError, UpdateReplies};
use crate::ports::Address;

/// A parsed advisor command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    pub close: bool,
    pub date: NaiveDate,
    pub lift: Option<u32>,
}

const USAGE: &str = "Не понял команду. Примеры: /close 2026-12-03 — закрыть день, \
/close 2026-12-03 пост 2 — закрыть пост, /open 2026-12-03 — открыть снова.";

/// A date as `2026-12-03`, `03.12.2026` or `03.12` (the next such day from `today`).
fn parse_date(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    if let Ok(date) = text.parse::<NaiveDate>() {
        return Some(date);
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%d.%m.%Y") {
        return Some(date);
    }
    let (d, m) = text.split_once('.')?;
    let (d, m): (u32, u32) = (d.parse().ok()?, m.parse().ok()?);
    let this_year = NaiveDate::from_ymd_opt(today.year(), m, d)?;
    if this_year >= today {
        Some(this_year)
    } else {
        NaiveDate::from_ymd_opt(today.year() + 1, m, d)
    }
}

/// `Some` when the text is a `/close` or `/open` command (with an optional bot mention):
/// the command, or `Err` when its arguments cannot be read.
pub fn parse_command(text: &str, today: NaiveDate) -> Option<Result<Command, ()>> {
    let mut words = text.split_whitespace();
    let head = words.next()?.to_lowercase();
    let head = head.split('@').next().unwrap_or_default();
    let close = match head {
        "/close" => true,
        "/open" => false,
        _ => return None,
    };
    let rest: Vec<String> = words.map(str::to_lowercase).collect();
    let parsed = match rest.as_slice() {
        [date] => parse_date(date, today).map(|date| Command {
            close,
            date,
            lift: None,
        }),
        [date, word, n] if ["lift", "пост", "подъёмник", "подъемник"].contains(&word.as_str()) => {
            match (parse_date(date, today), n.parse::<u32>()) {
                (Some(date), Ok(lift)) => Some(Command {
                    close,
                    date,
                    lift: Some(lift),
                }),
                _ => None,
            }
        }
        _ => None,
    };
    Some(parsed.ok_or(()))
}

/// Runs an advisor's command at `now` and answers in the advisors' chat.
pub(super) async fn run<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    command: Result<Command, ()>,
    advisor: &Address,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let answer = |text: String| Ok(UpdateReplies::answer(advisor, text));
    let Ok(Command { close, date, lift }) = command else {
        return answer(USAGE.into());
    };
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let day = date.format("%d.%m.%Y");
    if date < today {
        return answer(format!("{day} уже прошло."));
    }
    let plan = policy.workshop().slots_on(date);
    let capacity = &repos.capacity;
    let text = match (close, lift) {
        (true, None) => {
            let new = capacity.close_day(date).await?;
            tracing::info!(%date, new, "day closed by an advisor");
            let mut text = if new {
                format!("{day} закрыт для записи.")
            } else {
                format!("{day} уже был закрыт.")
            };
            let booked = active_bookings(repos, date).await?;
            if !booked.is_empty() {
                text.push_str(&format!(
                    " На этот день уже записаны: {} — предупредите клиентов.",
                    booked.join(", ")
                ));
            }
            text
        }
        (false, None) => {
            if capacity.open_day(date).await? {
                tracing::info!(%date, "day opened by an advisor");
                format!("{day} снова открыт для записи.")
            } else {
                format!("{day} не был закрыт.")
            }
        }
        (true, Some(n)) => match capacity.close_lift(date, n, &plan).await? {
            LiftClosure::Closed => {
                tracing::info!(%date, lift = n, "lift closed by an advisor");
                let mut text =
                    format!("Пост {n} закрыт на {day}: в каждом слоте на одно место меньше.");
                let over = overbooked(repos, date, &plan).await?;
                if !over.is_empty() {
                    text.push_str(&format!(
                        " Записей больше, чем постов: {} — предупредите клиентов.",
                        over.join(", ")
                    ));
                }
                text
            }
            LiftClosure::AlreadyClosed => format!("Пост {n} на {day} уже был закрыт."),
            LiftClosure::NoSuchLift if plan.is_empty() => {
                format!("{day} сервис не работает: закрывать нечего.")
            }
            LiftClosure::NoSuchLift => format!(
                "Поста {n} нет: {day} работает постов — {}.",
                plan.iter().map(|p| p.lifts).max().unwrap_or(0)
            ),
        },
        (false, Some(n)) => {
            if capacity.open_lift(date, n).await? {
                tracing::info!(%date, lift = n, "lift opened by an advisor");
                format!("Пост {n} снова открыт на {day}.")
            } else {
                format!("Пост {n} на {day} не был закрыт.")
            }
        }
    };
    answer(text)
}

/// «10:00 (VIN)» for each held or confirmed booking of the day.
async fn active_bookings<S: Store>(
    repos: &Repos<S>,
    date: NaiveDate,
) -> Result<Vec<String>, store::StoreError> {
    Ok(repos
        .capacity
        .bookings_on::<BookingRecord>(date)
        .await?
        .into_iter()
        .filter(|b| b.state.is_active())
        .map(|b| format!("{} ({})", b.start, b.vin))
        .collect())
}

/// The start times of the day whose active bookings exceed the lifts left.
async fn overbooked<S: Store>(
    repos: &Repos<S>,
    date: NaiveDate,
    plan: &[domain::policy::PlannedSlot],
) -> Result<Vec<String>, store::StoreError> {
    let day = repos.capacity.day(date, plan).await?;
    let bookings = repos.capacity.bookings_on::<BookingRecord>(date).await?;
    Ok(day
        .slots
        .iter()
        .filter(|slot| {
            let taken = bookings
                .iter()
                .filter(|b| b.start == slot.start && b.state.is_active())
                .count();
            taken > slot.capacity as usize
        })
        .map(|slot| slot.start.clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn close_and_open_commands_read_a_date_and_an_optional_lift() {
        let today = day("2026-11-20");
        let close = |d: &str, lift| {
            Some(Ok(Command {
                close: true,
                date: day(d),
                lift,
            }))
        };
        assert_eq!(
            parse_command("/close 2026-12-03", today),
            close("2026-12-03", None)
        );
        assert_eq!(
            parse_command("/close@AutodriveBot 03.12.2026 lift 2", today),
            close("2026-12-03", Some(2))
        );
        assert_eq!(
            parse_command("/CLOSE 03.12 пост 3", today),
            close("2026-12-03", Some(3))
        );
        assert_eq!(
            parse_command("/close 10.01", today),
            close("2027-01-10", None)
        );
        assert_eq!(
            parse_command("/open 2026-12-03", today),
            Some(Ok(Command {
                close: false,
                date: day("2026-12-03"),
                lift: None
            }))
        );
    }

    #[test]
    fn other_texts_are_not_commands_and_bad_arguments_are_reported() {
        let today = day("2026-11-20");
        for text in [
            "",
            "close 2026-12-03",
            "/start",
            "52000",
            "/closed 2026-12-03",
        ] {
            assert_eq!(parse_command(text, today), None, "{text:?}");
        }
        for text in [
            "/close",
            "/close завтра",
            "/close 2026-12-03 lift",
            "/open 31.02.2026",
            "/close 2026-12-03 lift two",
        ] {
            assert_eq!(parse_command(text, today), Some(Err(())), "{text:?}");
        }
    }
}
