//! The answers under offers and reminders besides «Записаться». «Уже обслужился» asks where: у
//! нас, в другом сервисе (then the odometer, which re-times the forecast from that service) or
//! продал автомобиль (every message about the car stops); the answer closes the cycle with its
//! reason, kept under the cycle with the date (churn reasons). «Напомнить позже» puts the cycle's
//! next stage off by a week, two or a month. «Не присылать» stops marketing about this car to
//! this customer (service messages and other cars go on) until «Снова присылать».

use chrono::{DateTime, Days, Duration, Utc};
use domain::policy::Policy;
use domain::triggers::{Reaction, Stage};
use domain::{Reading, ReadingSource, Vehicle};
use serde::{Deserialize, Serialize};
use store::repo::{AwaitingKm, Repos, Snooze};
use store::Store;

use super::guard::{already_answered, offer_for, Checked, Need};
use super::{customer_at, MessengerUpdate, UpdateError, UpdateReplies};
use crate::evaluate::record_reaction;
use crate::ports::{Address, Button, OutgoingMessage};

/// «Уже обслужился»: `done:<offer id>`.
pub const DONE_PREFIX: &str = "done:";
/// «Напомнить позже»: `later:<offer id>`.
pub const LATER_PREFIX: &str = "later:";
/// «Не присылать»: `mute:<offer id>`.
pub const MUTE_PREFIX: &str = "mute:";
/// Where the car was serviced: `dw:<h|e|s>:<offer id>`.
const WHERE_PREFIX: &str = "dw:";
/// When to remind: `lt:<days>:<offer id>`.
const SNOOZE_PREFIX: &str = "lt:";
/// «Снова присылать»: `unmute:<offer id>`.
const UNMUTE_PREFIX: &str = "unmute:";

pub const DONE_BUTTON: &str = "Уже обслужился";
pub const LATER_BUTTON: &str = "Напомнить позже";
pub const MUTE_BUTTON: &str = "Не присылать";
pub const UNMUTE_BUTTON: &str = "Снова присылать";

/// The periods «Напомнить позже» offers: days and label.
pub const SNOOZE_CHOICES: [(u64, &str); 3] = [
    (7, "Через неделю"),
    (14, "Через 2 недели"),
    (30, "Через месяц"),
];

/// How long after «в другом сервисе» a number is taken as that service's odometer.
const KM_ANSWER_DAYS: i64 = 14;

/// Why the customer's answer closed a cycle (kept: churn reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosedBecause {
    ServicedHere,
    ServicedElsewhere,
    Sold,
}

impl ClosedBecause {
    pub fn as_str(self) -> &'static str {
        match self {
            ClosedBecause::ServicedHere => "serviced_here",
            ClosedBecause::ServicedElsewhere => "serviced_elsewhere",
            ClosedBecause::Sold => "sold",
        }
    }
}

/// The record under a cycle the customer's answer closed (ids only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleClosure {
    pub reason: ClosedBecause,
    pub at: DateTime<Utc>,
    /// The message answered.
    pub offer_id: String,
    pub stage: Stage,
}

enum Answer<'a> {
    Done(&'a str),
    Where(ClosedBecause, &'a str),
    Later(&'a str),
    Snooze(u64, &'a str),
    Mute(&'a str),
    Unmute(&'a str),
}

fn parse(data: &str) -> Option<Result<Answer<'_>, UpdateError>> {
    if let Some(id) = data.strip_prefix(DONE_PREFIX) {
        return Some(Ok(Answer::Done(id)));
    }
    if let Some(id) = data.strip_prefix(LATER_PREFIX) {
        return Some(Ok(Answer::Later(id)));
    }
    if let Some(id) = data.strip_prefix(MUTE_PREFIX) {
        return Some(Ok(Answer::Mute(id)));
    }
    if let Some(id) = data.strip_prefix(UNMUTE_PREFIX) {
        return Some(Ok(Answer::Unmute(id)));
    }
    if let Some(rest) = data.strip_prefix(WHERE_PREFIX) {
        let answer = match rest.split_once(':') {
            Some(("h", id)) => Ok(Answer::Where(ClosedBecause::ServicedHere, id)),
            Some(("e", id)) => Ok(Answer::Where(ClosedBecause::ServicedElsewhere, id)),
            Some(("s", id)) => Ok(Answer::Where(ClosedBecause::Sold, id)),
            _ => Err(UpdateError::Malformed),
        };
        return Some(answer);
    }
    if let Some(rest) = data.strip_prefix(SNOOZE_PREFIX) {
        let answer = match rest.split_once(':') {
            Some((days, id)) => match days.parse::<u64>() {
                Ok(days) if SNOOZE_CHOICES.iter().any(|(d, _)| *d == days) => {
                    Ok(Answer::Snooze(days, id))
                }
                _ => Err(UpdateError::Malformed),
            },
            None => Err(UpdateError::Malformed),
        };
        return Some(answer);
    }
    None
}

fn message(to: &Address, text: impl Into<String>, buttons: Vec<Vec<Button>>) -> UpdateReplies {
    UpdateReplies {
        messages: vec![OutgoingMessage {
            to: to.clone(),
            text: text.into(),
            buttons,
        }],
        callback_answer: None,
        events: Vec::new(),
    }
}

async fn react<S: Store>(
    repos: &Repos<S>,
    checked: &Checked,
    reaction: Reaction,
    now: DateTime<Utc>,
) -> Result<(), UpdateError> {
    let offer = &checked.offer;
    record_reaction(
        repos,
        &offer.vin,
        &offer.offer.cycle_id,
        offer.offer.stage,
        reaction,
        now,
    )
    .await?;
    Ok(())
}

/// Handles the button if it is one of these answers (`None` otherwise).
pub(super) async fn on_callback<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    from: &Address,
    data: &str,
    now: DateTime<Utc>,
) -> Result<Option<UpdateReplies>, UpdateError> {
    let Some(answer) = parse(data) else {
        return Ok(None);
    };
    let replies = match answer? {
        Answer::Done(id) => {
            let checked = offer_for(repos, id, from, Need::OpenCycle).await?;
            if checked.stage() == Stage::SeasonalTires {
                react(repos, &checked, Reaction::Declined, now).await?;
                UpdateReplies::answer(
                    from,
                    "Спасибо, что сообщили! О смене шин напомним в следующий сезон.",
                )
            } else if checked.stage() == Stage::DeclinedWork {
                // The recommended work was done (here or elsewhere): its follow-ups end; the
                // maintenance cycle goes on.
                react(repos, &checked, Reaction::Declined, now).await?;
                tracing::info!(offer_id = %id, vehicle_id = %checked.offer.vin, "declined work done already");
                UpdateReplies::answer(
                    from,
                    "Спасибо, что сообщили! Больше не будем напоминать об этих работах.",
                )
            } else {
                let choice = |code: &str, text: &str| {
                    Button::new(text, format!("{WHERE_PREFIX}{code}:{id}"))
                };
                message(
                    from,
                    format!("Где обслуживался {}?", checked.car()),
                    vec![
                        vec![choice("h", "У нас")],
                        vec![choice("e", "В другом сервисе")],
                        vec![choice("s", "Продал автомобиль")],
                    ],
                )
            }
        }
        Answer::Where(reason, id) => {
            let checked = offer_for(repos, id, from, Need::OpenCycle).await?;
            serviced(repos, policy, from, &checked, reason, now).await?
        }
        Answer::Later(id) => {
            offer_for(repos, id, from, Need::OpenCycle).await?;
            let buttons = SNOOZE_CHOICES
                .iter()
                .map(|(days, label)| {
                    vec![Button::new(*label, format!("{SNOOZE_PREFIX}{days}:{id}"))]
                })
                .collect();
            message(from, "Когда напомнить?", buttons)
        }
        Answer::Snooze(days, id) => {
            let checked = offer_for(repos, id, from, Need::OpenCycle).await?;
            let today = now.with_timezone(&policy.time_zone()).date_naive();
            let until = today + Days::new(days);
            let snooze = Snooze {
                cycle_id: checked.offer.offer.cycle_id.clone(),
                stage: checked.stage().as_str().to_owned(),
                until,
                at: now,
            };
            repos
                .answers
                .snooze(&checked.offer.vin, &checked.customer_id, &snooze)
                .await?;
            react(repos, &checked, Reaction::Replied, now).await?;
            tracing::info!(offer_id = %id, vehicle_id = %checked.offer.vin, %until, "snoozed");
            UpdateReplies::answer(
                from,
                format!("Хорошо, напомним {}.", until.format("%d.%m.%Y")),
            )
        }
        Answer::Mute(id) => {
            let checked = offer_for(repos, id, from, Need::Owner).await?;
            // Kept as its own record, not as a reaction: undone, the cycle goes on as before.
            let first = repos
                .answers
                .mute_marketing(&checked.offer.vin, &checked.customer_id, now)
                .await?;
            if first {
                tracing::info!(offer_id = %id, vehicle_id = %checked.offer.vin, "marketing muted");
            }
            // «Не присылать» under a declined-work follow-up is a no to that work: its
            // follow-ups end, the safety ones (service messages) too.
            if checked.stage() == Stage::DeclinedWork {
                react(repos, &checked, Reaction::Declined, now).await?;
            }
            let undo = vec![vec![Button::new(
                UNMUTE_BUTTON,
                format!("{UNMUTE_PREFIX}{id}"),
            )]];
            let text = format!(
                "Хорошо, больше не будем присылать предложения об автомобиле {}. Напоминания о ТО \
                 и сообщения о записи останутся. Передумаете — нажмите «{UNMUTE_BUTTON}».",
                checked.car()
            );
            let mut replies = message(from, text, undo);
            if first {
                replies.events.push(crate::events::BusinessEvent::opted_out(
                    &checked.customer_id,
                    from.messenger().as_str(),
                    Some((&checked.offer.vin, id)),
                    now,
                ));
            }
            replies
        }
        Answer::Unmute(id) => {
            let checked = offer_for(repos, id, from, Need::Owner).await?;
            let undone = repos
                .answers
                .unmute_marketing(&checked.offer.vin, &checked.customer_id)
                .await?;
            if undone {
                tracing::info!(offer_id = %id, vehicle_id = %checked.offer.vin, "marketing unmuted");
            }
            UpdateReplies::answer(
                from,
                format!(
                    "Готово: снова будем присылать предложения об автомобиле {}.",
                    checked.car()
                ),
            )
        }
    };
    Ok(Some(replies))
}

/// «У нас», «В другом сервисе», «Продал автомобиль»: closes the cycle with the reason (once).
async fn serviced<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    from: &Address,
    checked: &Checked,
    reason: ClosedBecause,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let offer = &checked.offer;
    let vin = offer.vin.as_str();
    let cycle_id = &offer.offer.cycle_id;
    let record = CycleClosure {
        reason,
        at: now,
        offer_id: offer.offer_id.clone(),
        stage: offer.offer.stage,
    };
    // The answer's own effects first: they repeat harmlessly if the close below is retried.
    match reason {
        ClosedBecause::ServicedHere => {}
        ClosedBecause::ServicedElsewhere => {
            let awaiting = AwaitingKm {
                cycle_id: cycle_id.clone(),
                asked_at: now,
            };
            repos
                .answers
                .await_km(vin, &checked.customer_id, &awaiting)
                .await?;
        }
        ClosedBecause::Sold => {
            repos
                .answers
                .mark_sold(vin, &checked.customer_id, now)
                .await?;
        }
    }
    let closed = repos
        .cycles
        .close_answered(vin, cycle_id, reason.as_str(), &record)
        .await?;
    if !closed {
        let text = match repos.cycles.closure::<CycleClosure>(vin, cycle_id).await? {
            Some(closure) => already_answered(&closure),
            None => "Это сообщение устарело: воспользуйтесь, пожалуйста, последним.".to_owned(),
        };
        return Err(UpdateError::Refused(text));
    }
    react(repos, checked, Reaction::Replied, now).await?;
    tracing::info!(vehicle_id = %vin, cycle_id = %cycle_id, reason = reason.as_str(), "cycle closed by the customer's answer");
    let dealer = dealer_name(policy);
    let text = match reason {
        ClosedBecause::ServicedHere => format!(
            "Спасибо, что сообщили! Напоминаний об этом ТО больше не будет; о следующем {dealer} \
             напомнит вовремя."
        ),
        ClosedBecause::ServicedElsewhere => "Спасибо, что сообщили! Сколько километров было на \
             одометре при обслуживании? Напишите число, например 52 000, — мы рассчитаем \
             следующее ТО."
            .to_owned(),
        ClosedBecause::Sold => format!(
            "Спасибо, что сообщили! {dealer} больше не будет писать об автомобиле {}.",
            checked.car()
        ),
    };
    let mut replies = UpdateReplies::answer(from, text);
    if reason == ClosedBecause::Sold {
        replies.events.push(crate::events::BusinessEvent::new(
            crate::events::EventKind::VehicleSold {
                vehicle_id: vin.to_owned(),
                customer_id: checked.customer_id.clone(),
                offer_id: offer.offer_id.clone(),
                cycle_id: cycle_id.clone(),
            },
            now,
        ));
    }
    Ok(replies)
}

/// The dealer's name for customer texts.
pub(super) fn dealer_name(policy: &Policy) -> String {
    let name = policy.dealer().name.trim();
    if name.is_empty() {
        "Сервис".to_owned()
    } else {
        name.to_owned()
    }
}

/// A number after «в другом сервисе» (within two weeks): the odometer at that service, stored
/// as a reading on the day of the answer that counts as the last maintenance, and the car
/// re-forecast from it. `None` when no such answer awaits one (the number is an ordinary
/// odometer reply).
pub(super) async fn service_odometer<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    update: &MessengerUpdate,
    km: u32,
    now: DateTime<Utc>,
) -> Result<Option<UpdateReplies>, UpdateError> {
    let from = &update.from;
    let Some(customer_id) = customer_at(repos, from).await? else {
        return Ok(None);
    };
    let vehicles = repos.vehicles.for_customer::<Vehicle>(&customer_id).await?;
    let awaiting = vehicles
        .iter()
        .filter(|v| v.contact.sold_at.is_none())
        .filter_map(|v| Some((v, v.contact.awaiting_km.as_ref()?.asked_at)))
        .filter(|(_, asked)| *asked <= now && now - *asked <= Duration::days(KM_ANSWER_DAYS))
        .max_by_key(|(_, asked)| *asked);
    let Some((stored, asked_at)) = awaiting else {
        return Ok(None);
    };
    let vin = stored.vin.as_str();
    let tz = policy.time_zone();
    let last = repos
        .readings
        .for_vehicle(vin)
        .await?
        .iter()
        .map(|r| r.km)
        .max()
        .unwrap_or(0);
    if km < last {
        return Ok(Some(UpdateReplies::answer(
            from,
            format!(
                "Пробег {} км меньше, чем при последнем визите к нам ({} км). Проверьте, \
                 пожалуйста, и пришлите ещё раз.",
                domain::render::thousands_ru(km),
                domain::render::thousands_ru(last)
            ),
        )));
    }
    let reading = Reading {
        date: asked_at.with_timezone(&tz).date_naive(),
        km,
        source: ReadingSource::ServiceElsewhere,
    };
    let reference = format!("{}:{}", from.messenger(), update.update_id);
    repos.readings.append(vin, &reading, &reference).await?;
    repos.answers.km_received(vin).await?;
    let today = now.with_timezone(&tz).date_naive();
    let due = crate::forecasting::forecast_vehicle(repos, policy, &stored.vehicle, today).await?;
    tracing::info!(vehicle_id = %vin, "odometer of a service elsewhere reported");
    let text = match due {
        Some(due) => format!(
            "Спасибо! С обслуживанием на {} км следующее ТО — около {}. Мы напомним заранее.",
            domain::render::thousands_ru(km),
            due.due_date.format("%d.%m.%Y")
        ),
        None => "Спасибо! Пробег записали.".to_owned(),
    };
    Ok(Some(UpdateReplies::answer(from, text)))
}
