//! The day after a night: deferred messages go out, and the simulated customers react through
//! the booking webhook's use case (book, rate, STOP) with the advisor confirming.

use std::collections::HashMap;

use anyhow::{Context, Result};
use app::messages::ComposeOffer;
use app::ports::{Address, Channel, OutgoingMessage};
use app::{compose_and_send, finish_update, handle_update, MessengerUpdate, UpdateKind};
use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use domain::contact::next_allowed_instant;
use domain::triggers::Stage;

use super::{note, Cycle, DayLog, ADVISOR_CHAT};

impl Cycle {
    /// The day after `night`: deferred messages go out when quiet hours end; at noon some
    /// recipients press «Записаться» (the advisor confirms) and a few say STOP.
    pub(super) async fn day(
        &mut self,
        night: DateTime<Utc>,
        pending: &mut Vec<ComposeOffer>,
        log: &mut DayLog,
    ) -> Result<()> {
        let morning = next_allowed_instant(&self.policy, night);
        let mut waiting = Vec::new();
        let mut due: Vec<ComposeOffer> = Vec::new();
        for message in pending.drain(..) {
            let ComposeOffer::V1 { send_at, .. } = &message;
            if *send_at <= morning + chrono::Duration::hours(8) {
                due.push(message);
            } else {
                waiting.push(message);
            }
        }
        *pending = waiting;
        due.sort_by_key(|m| {
            let ComposeOffer::V1 {
                send_at, offer_id, ..
            } = m;
            (*send_at, offer_id.clone())
        });
        for message in &due {
            let ComposeOffer::V1 { send_at, .. } = message;
            let now = (*send_at).max(morning);
            let outcome = compose_and_send(
                &self.repos,
                &self.policy,
                &*self.channel,
                message,
                "demo",
                now,
            )
            .await?;
            note(&self.channel, log, message, now, outcome);
        }

        let tz = self.policy.time_zone();
        let noon = tz
            .from_local_datetime(
                &log.run_date
                    .and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default()),
            )
            .earliest()
            .map(|t| t.to_utc())
            .unwrap_or(morning);
        let today: Vec<(String, String, Stage)> = log
            .sent
            .iter()
            .map(|s| (s.offer_id.clone(), s.customer_id.clone(), s.stage))
            .collect();
        let chats = self.chats_of(&today).await?;
        for (offer_id, customer_id, stage) in today {
            let Some(chat) = chats.get(&customer_id).copied() else {
                continue;
            };
            let roll = self.roll(&offer_id, "reaction");
            let books = invites(stage) && roll < booking_share(stage);
            if books {
                self.book(chat, &offer_id, noon, log).await?;
            } else if stage == Stage::SatisfactionRequest && roll < RATING_SHARE {
                self.rate(chat, &offer_id, noon, log).await?;
            } else if invites(stage) && SERVICED_ROLLS.contains(&roll) {
                let choice = usize::try_from(roll - SERVICED_ROLLS.start).unwrap_or(0);
                self.serviced(chat, &offer_id, choice, noon, log).await?;
            } else if roll >= 99 {
                self.customer_says(
                    Address::Telegram(chat),
                    UpdateKind::Text("Стоп".into()),
                    noon,
                )
                .await?;
                log.stops += 1;
            }
        }
        Ok(())
    }

    async fn chats_of(&self, sent: &[(String, String, Stage)]) -> Result<HashMap<String, i64>> {
        let mut chats = HashMap::new();
        for (_, customer_id, _) in sent {
            if chats.contains_key(customer_id) {
                continue;
            }
            if let Some(c) = self
                .repos
                .customers
                .get::<domain::Customer>(customer_id)
                .await?
            {
                if let Some(chat) = c.profile.telegram_chat_id {
                    chats.insert(customer_id.clone(), chat.get());
                }
            }
        }
        Ok(chats)
    }

    /// «Записаться» → the first free slot → the advisor confirms.
    async fn book(
        &mut self,
        chat: i64,
        offer_id: &str,
        at: DateTime<Utc>,
        log: &mut DayLog,
    ) -> Result<()> {
        log.booking_requests += 1;
        let customer = Address::Telegram(chat);
        let picker = self
            .press(
                customer.clone(),
                &format!("{}{offer_id}", app::compose::BOOK_PREFIX),
                at,
            )
            .await?;
        let Some(slot) = first_button(&picker) else {
            return Ok(());
        };
        let held = self
            .press(customer, &slot, at + chrono::Duration::minutes(1))
            .await?;
        let Some(confirm) = held
            .iter()
            .filter(|m| m.to == Address::Telegram(ADVISOR_CHAT))
            .find_map(|m| m.buttons.first()?.first().map(|b| b.callback_data.clone()))
        else {
            return Ok(());
        };
        log.bookings_held += 1;
        let before = self.channel.count();
        self.press(
            Address::Telegram(ADVISOR_CHAT),
            &confirm,
            at + chrono::Duration::minutes(7),
        )
        .await?;
        if self
            .channel
            .recipients_since(before)
            .contains(&Address::Telegram(chat))
        {
            log.bookings_confirmed += 1;
            self.expect(offer_id, &slot).await?;
        }
        Ok(())
    }

    /// «Уже обслужился», then where: at another garage, the car sold, or here (`choice` 0, 1,
    /// 2). A press the webhook refuses (the cycle closed meanwhile) is left at that.
    async fn serviced(
        &mut self,
        chat: i64,
        offer_id: &str,
        choice: usize,
        at: DateTime<Utc>,
        log: &mut DayLog,
    ) -> Result<()> {
        let customer = Address::Telegram(chat);
        let done = format!("{}{offer_id}", app::booking::answers::DONE_PREFIX);
        let Some(asked) = self.answer(customer.clone(), &done, at).await? else {
            return Ok(());
        };
        let labels = ["В другом сервисе", "Продал автомобиль", "У нас"];
        let Some(data) = asked
            .iter()
            .flat_map(|m| m.buttons.iter().flatten())
            .find(|b| b.text == labels[choice.min(labels.len() - 1)])
            .map(|b| b.callback_data.clone())
        else {
            return Ok(());
        };
        let answered = self
            .answer(customer, &data, at + chrono::Duration::minutes(1))
            .await?;
        log.serviced_answers += usize::from(answered.is_some());
        Ok(())
    }

    /// A press handled as the webhook does; `None` when refused (the refusal is answered).
    async fn answer(
        &mut self,
        from: Address,
        data: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Vec<OutgoingMessage>>> {
        match self.press(from, data, at).await {
            Ok(replies) => Ok(Some(replies)),
            Err(e) if refused(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A score from 0 to 10 in reply to the satisfaction request: mostly 9–10, now and then low.
    async fn rate(
        &mut self,
        chat: i64,
        offer_id: &str,
        at: DateTime<Utc>,
        log: &mut DayLog,
    ) -> Result<()> {
        let roll = self.roll(offer_id, "score");
        let score = match roll {
            0..=7 => roll % 7,
            8..=29 => 7 + roll % 2,
            _ => 9 + roll % 2,
        };
        let replies = self
            .customer_says(
                Address::Telegram(chat),
                UpdateKind::Text(score.to_string()),
                at + chrono::Duration::hours(2),
            )
            .await?;
        log.ratings += 1;
        if score <= u64::from(self.policy.thresholds().csat_alarm_max) {
            log.low_ratings += 1;
        }
        log.advisor_alerts += replies
            .iter()
            .filter(|m| m.to == Address::Telegram(ADVISOR_CHAT))
            .count();
        Ok(())
    }

    async fn press(
        &mut self,
        from: Address,
        data: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<OutgoingMessage>> {
        let callback_id = format!("cb{}", self.next_update);
        self.customer_says(
            from,
            UpdateKind::Callback {
                callback_id: Some(callback_id),
                data: data.to_owned(),
            },
            at,
        )
        .await
    }

    /// Handles one messenger update as the booking webhook does and sends the replies.
    pub(super) async fn customer_says(
        &mut self,
        from: Address,
        kind: UpdateKind,
        at: DateTime<Utc>,
    ) -> Result<Vec<OutgoingMessage>> {
        let update = MessengerUpdate {
            update_id: self.next_update.to_string(),
            from,
            kind,
        };
        self.next_update += 1;
        let replies = handle_update(&self.repos, &self.policy, &self.settings, &update, at)
            .await
            .with_context(|| format!("messenger update {}", update.update_id))?;
        for message in &replies.messages {
            self.channel.send(message).await?;
            self.replies_sent += 1;
        }
        finish_update(&self.repos, &update, at).await?;
        Ok(replies.messages)
    }
}

/// The rolls (of 100) with which a recipient of a reminder or an offer answers «Уже обслужился»:
/// another garage, sold, here.
const SERVICED_ROLLS: std::ops::Range<u64> = 95..98;

/// Stages whose message invites the customer in (and carries «Записаться»).
fn invites(stage: Stage) -> bool {
    matches!(
        stage,
        Stage::SoftReminder | Stage::PersonalOffer | Stage::CriticalOffer
    )
}

/// Whether the webhook refused the press (answered, nothing changed).
fn refused(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<app::UpdateError>(),
            Some(app::UpdateError::Refused(_))
        )
    })
}

/// Percent of satisfaction requests answered with a score.
const RATING_SHARE: u64 = 45;

/// Share (percent) of recipients who book from a message of this stage on the day it arrives.
fn booking_share(stage: Stage) -> u64 {
    match stage {
        Stage::SoftReminder => 6,
        Stage::PersonalOffer => 12,
        Stage::CriticalOffer => 9,
        _ => 0,
    }
}

fn first_button(messages: &[OutgoingMessage]) -> Option<String> {
    messages
        .first()?
        .buttons
        .first()?
        .first()
        .map(|b| b.callback_data.clone())
}
