//! The marketer's campaign switches (a stage or an offer rule turned off or on, with who and
//! when, effective from the next evaluation) and the preview of what the next nights would send.

use std::collections::HashSet;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use domain::policy::Policy;
use domain::triggers::{Reason, Stage, StageSet};
use domain::{ContactClass, Customer, Vehicle};
use serde::{Deserialize, Serialize};
use store::repo::Repos;
use store::{Store, StoreError};

use crate::evaluate::{decide, EvaluateError, Mode};
use crate::forecasting::night_facts;
use crate::messages::{ComposeOffer, EvaluateVehicle};
use crate::nightly::needs_evaluation;
use crate::outreach::{choose_route, Reach, Route};
use crate::reports::ru::reason_ru;

/// A stored switch: on or off, who turned it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchRecord {
    pub on: bool,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// What a campaign switch turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    /// A stage of the customer cycle: off, its messages are not sent.
    Stage,
    /// An offer rule of the policy: off, offers are priced by the next rule that matches.
    OfferRule,
}

/// A stage or an offer rule with its state (on unless switched off) and its last change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignState {
    pub name: String,
    pub kind: CampaignKind,
    pub on: bool,
    pub last_change: Option<SwitchRecord>,
}

/// The switches as read for one evaluation batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Switches {
    off_stages: StageSet,
    off_rules: Vec<String>,
}

impl Switches {
    /// Everything on.
    pub fn all_on() -> Switches {
        Switches::default()
    }

    /// Reads the stored switches (one query).
    pub async fn load<S: Store>(repos: &Repos<S>) -> Result<Switches, StoreError> {
        let mut switches = Switches::default();
        for (name, record) in repos.switches.list::<SwitchRecord>().await? {
            if record.on {
                continue;
            }
            match Stage::parse(&name) {
                Some(stage) => switches.off_stages.insert(stage),
                None => switches.off_rules.push(name),
            }
        }
        Ok(switches)
    }

    pub fn stage_on(&self, stage: Stage) -> bool {
        !self.off_stages.contains(stage)
    }

    pub fn rule_on(&self, rule_id: &str) -> bool {
        !self.off_rules.iter().any(|r| r == rule_id)
    }

    /// The policy offers are priced by: the switched-off offer rules left out.
    pub fn pricing_policy(&self, policy: &Policy) -> Policy {
        if self.off_rules.is_empty() {
            policy.clone()
        } else {
            policy.without_offer_rules(&self.off_rules)
        }
    }
}

/// Why a switch was refused.
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    /// Neither a stage nor an offer rule of the policy.
    #[error("unknown stage or offer rule: {0}")]
    Unknown(String),
    /// A switch must say who turned it.
    #[error("who turns the switch must be given")]
    NoOperator,
    /// A name, not a text: at most `OPERATOR_MAX_CHARS` characters.
    #[error("who turns the switch is at most {OPERATOR_MAX_CHARS} characters")]
    OperatorTooLong,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// The kind of a campaign name under the policy, if it names one.
fn kind_of(policy: &Policy, name: &str) -> Option<CampaignKind> {
    if Stage::parse(name).is_some() {
        Some(CampaignKind::Stage)
    } else if policy.offers().iter().any(|r| r.id == name) {
        Some(CampaignKind::OfferRule)
    } else {
        None
    }
}

/// Every stage, then every offer rule of the policy, with its state and last change.
pub async fn list<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
) -> Result<Vec<CampaignState>, StoreError> {
    let stored = repos.switches.list::<SwitchRecord>().await?;
    let names = Stage::ALL
        .into_iter()
        .map(|s| (s.as_str().to_owned(), CampaignKind::Stage))
        .chain(
            policy
                .offers()
                .iter()
                .map(|r| (r.id.clone(), CampaignKind::OfferRule)),
        );
    Ok(names
        .map(|(name, kind)| {
            let last_change = stored
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, r)| r.clone());
            CampaignState {
                on: last_change.as_ref().is_none_or(|r| r.on),
                name,
                kind,
                last_change,
            }
        })
        .collect())
}

/// Turns a stage or an offer rule on or off as `by` at `at`; the next evaluation honours it.
/// The longest name of who turns a switch (a login or a person's name).
pub const OPERATOR_MAX_CHARS: usize = 64;

pub async fn switch<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    name: &str,
    on: bool,
    by: &str,
    at: DateTime<Utc>,
) -> Result<CampaignState, SwitchError> {
    let kind = kind_of(policy, name).ok_or_else(|| SwitchError::Unknown(name.to_owned()))?;
    let by = by.trim();
    if by.is_empty() {
        return Err(SwitchError::NoOperator);
    }
    if by.chars().count() > OPERATOR_MAX_CHARS {
        return Err(SwitchError::OperatorTooLong);
    }
    let record = SwitchRecord {
        on,
        by: by.to_owned(),
        at,
    };
    repos.switches.put(name, &record).await?;
    tracing::info!(campaign = %name, on, "campaign switched");
    Ok(CampaignState {
        name: name.to_owned(),
        kind,
        on,
        last_change: Some(record),
    })
}

/// The dealer's local time the preview evaluates each night at (the schedule's 01:00 UTC is
/// 04:00 in Moscow).
pub const NIGHT_RUN_LOCAL: NaiveTime = match NaiveTime::from_hms_opt(4, 0, 0) {
    Some(t) => t,
    None => panic!("a valid time"),
};

/// One message a night of the preview would queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewRow {
    pub day: NaiveDate,
    pub customer_id: String,
    pub vin: String,
    pub stage: Stage,
    pub reason: Reason,
    /// The reason in the dealer's words.
    pub why: String,
    pub send_at: DateTime<Utc>,
    /// `telegram`, `whatsapp` or `sms`; `none` when the customer cannot be reached.
    pub channel: &'static str,
}

/// What the nights of `days` days from `from_day` would queue, by the same trigger evaluation
/// as the night (its window picks the vehicles, the contact policy and the switches apply),
/// without writing anything. A stage listed on one day is not listed again on a later one.
/// The channel assumes every channel is deployed and no open WhatsApp session.
pub async fn preview<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    from_day: NaiveDate,
    days: u32,
) -> Result<Vec<PreviewRow>, EvaluateError> {
    let switches = Switches::load(repos).await?;
    let mut vehicles = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = repos.vehicles.scan::<Vehicle>(0, 1, cursor, 500).await?;
        vehicles.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let tz = policy.time_zone();
    let mut listed = HashSet::new();
    let mut rows = Vec::new();
    for day in (0..days).filter_map(|n| from_day.checked_add_days(Days::new(u64::from(n)))) {
        let Some(at) = day
            .and_time(NIGHT_RUN_LOCAL)
            .and_local_timezone(tz)
            .earliest()
        else {
            continue;
        };
        let at = at.to_utc();
        for stored in &vehicles {
            if stored.contact.sold_at.is_some() {
                continue;
            }
            let facts = night_facts(repos, policy, &stored.vehicle, day).await?;
            let Some(due) = facts.due else {
                continue;
            };
            let snooze_ends = stored
                .contact
                .snooze
                .as_ref()
                .is_some_and(|s| s.until == day);
            if !snooze_ends
                && !needs_evaluation(
                    policy,
                    &stored.vehicle,
                    &due,
                    facts.last_visit,
                    facts.declined_work,
                    day,
                )
            {
                continue;
            }
            let message = EvaluateVehicle::V1 {
                run_date: day,
                vin: stored.vin.clone(),
            };
            let evaluation = decide(
                repos,
                policy,
                &switches,
                &message,
                Some(&due),
                at,
                Mode::DryRun,
            )
            .await?;
            for ComposeOffer::V1 {
                vin,
                customer_id,
                stage,
                reason,
                send_at,
                ..
            } in evaluation.compose
            {
                if !listed.insert((vin.clone(), stage)) {
                    continue;
                }
                let channel =
                    channel_of(repos, &customer_id, stage.class_for(&reason), send_at).await?;
                rows.push(PreviewRow {
                    day,
                    customer_id,
                    vin,
                    stage,
                    why: reason_ru(&reason),
                    reason,
                    send_at,
                    channel,
                });
            }
        }
    }
    Ok(rows)
}

async fn channel_of<S: Store>(
    repos: &Repos<S>,
    customer_id: &str,
    class: ContactClass,
    at: DateTime<Utc>,
) -> Result<&'static str, StoreError> {
    let Some(stored) = repos.customers.get::<Customer>(customer_id).await? else {
        return Ok("none");
    };
    let reach = Reach {
        telegram: true,
        whatsapp: true,
        sms: true,
    };
    Ok(
        match choose_route(&stored.profile, class, None, reach, at) {
            Ok(Route::Telegram(_)) => "telegram",
            Ok(Route::WhatsAppSession(_) | Route::WhatsAppTemplate(_)) => "whatsapp",
            Ok(Route::Sms(_)) => "sms",
            Err(_) => "none",
        },
    )
}
