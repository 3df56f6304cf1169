//! Deciding for one vehicle: triggers, then the contact policy, each stage marked once per
//! (vehicle, cycle, stage); the stages that go out become compose messages.

use chrono::{DateTime, NaiveDate, Utc};
use domain::contact::{apply_contact_policy, Recipient};
use domain::policy::Policy;
use domain::status::status_for_car;
use domain::triggers::{
    evaluate_triggers, ContactRecord, LastVisit, Reaction, Stage, StageSet, TriggerInput,
};
use domain::{ContactClass, Customer, ServiceDue, Vehicle, Visit};
use serde::{Deserialize, Serialize};
use store::repo::{MarketingClaim, OpenOutcome, Repos, StageOutcome};
use store::{Store, StoreError};

use crate::campaigns::Switches;
use crate::messages::{ComposeOffer, EvaluateVehicle};

/// The veto of a stage the marketer switched off.
pub const CAMPAIGN_OFF: &str = "campaign_off";

/// The mark stored once per (vehicle, cycle, stage): when the message goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageMark {
    pub send_at: DateTime<Utc>,
    pub decided_at: DateTime<Utc>,
}

/// A customer's reaction to a stage's message, stored once per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionMark {
    pub reaction: Reaction,
    pub at: DateTime<Utc>,
}

/// The stable name a reaction is stored under.
fn reaction_name(reaction: Reaction) -> &'static str {
    match reaction {
        Reaction::Read => "read",
        Reaction::Clicked => "clicked",
        Reaction::Replied => "replied",
        Reaction::Booked => "booked",
        Reaction::Declined => "declined",
        Reaction::OptedOut => "opted_out",
        Reaction::Rated(_) => "rated",
    }
}

/// How much a reaction says: the strongest one of a stage is what the triggers see.
fn strength(reaction: Reaction) -> u8 {
    match reaction {
        Reaction::Read => 0,
        Reaction::Clicked => 1,
        Reaction::Replied | Reaction::Rated(_) => 2,
        Reaction::Declined => 3,
        Reaction::Booked => 4,
        Reaction::OptedOut => 5,
    }
}

/// Records the customer's reaction to a stage's message of a cycle; a repeat changes nothing.
/// True the first time this kind of reaction is recorded for the stage.
pub async fn record_reaction<S: Store>(
    repos: &Repos<S>,
    vin: &str,
    cycle_id: &str,
    stage: Stage,
    reaction: Reaction,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mark = ReactionMark { reaction, at };
    let first = repos
        .cycles
        .react(
            vin,
            cycle_id,
            stage.as_str(),
            reaction_name(reaction),
            &mark,
        )
        .await?;
    if first {
        tracing::info!(vehicle_id = %vin, cycle_id = %cycle_id, %stage, reaction = reaction_name(reaction), "reaction");
    }
    Ok(first)
}

/// A contact cycle as stored: it began with the visit that opened it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleInfo {
    pub started_at: DateTime<Utc>,
}

/// What an evaluation decided. Pass `compose` on, then `commit_evaluation` marks the stages, so
/// a failure in between repeats the decision (the composer is idempotent on the offer id).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    /// The messages to compose: stages not marked in this cycle before.
    pub compose: Vec<ComposeOffer>,
    marks: Vec<(String, String, String, StageMark)>,
    /// Stages decided but vetoed, with the veto (ids and reasons only).
    pub vetoed: Vec<(Stage, String)>,
    /// Business events to publish before committing: a `TradeInLead` (at most one per vehicle
    /// and quarter; a repeat after a failure carries the same event id).
    pub events: Vec<crate::events::BusinessEvent>,
    trade_in: Option<crate::trade_in::PendingLead>,
}

/// Why a vehicle could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// The message names a vehicle the store does not know: retrying does not help.
    #[error("unknown vehicle {0}")]
    UnknownVehicle(String),
    #[error("vehicle {vin}: customer {customer_id} not found")]
    UnknownCustomer { vin: String, customer_id: String },
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// Evaluates the vehicle at `now`; no stage is marked until `commit_evaluation`. A stage marked
/// before is not decided again.
///
/// The marketing cap counts every marketing message to the customer, on any vehicle and in any
/// cycle: the evaluation reads the customer's marketing mark, and a marketing stage that passes
/// the contact policy claims the mark (a conditional write keyed by its offer id) before it is
/// handed on. Of two vehicles of one customer evaluated at once, one wins; the other's stage is
/// vetoed (`marketing_cap`) and, unmarked, is decided again on a later night.
///
/// The campaign switches are read at each call; a batch reads them once and calls
/// [`evaluate_vehicle_with`].
pub async fn evaluate_vehicle<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    message: &EvaluateVehicle,
    now: DateTime<Utc>,
) -> Result<Evaluation, EvaluateError> {
    let switches = Switches::load(repos).await?;
    evaluate_vehicle_with(repos, policy, &switches, message, now).await
}

/// [`evaluate_vehicle`] under switches read before: a switched-off stage is vetoed
/// (`campaign_off`) and left unmarked, so it may go once it is switched back on.
pub async fn evaluate_vehicle_with<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    switches: &Switches,
    message: &EvaluateVehicle,
    now: DateTime<Utc>,
) -> Result<Evaluation, EvaluateError> {
    decide(repos, policy, switches, message, None, now, Mode::Commit).await
}

/// Whether a decision may write (open the cycle, claim the marketing slot) or only reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Commit,
    DryRun,
}

/// Decides for the vehicle; `forecast`, when given, stands in for the stored one.
pub(crate) async fn decide<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    switches: &Switches,
    message: &EvaluateVehicle,
    forecast: Option<&ServiceDue>,
    now: DateTime<Utc>,
    mode: Mode,
) -> Result<Evaluation, EvaluateError> {
    let EvaluateVehicle::V1 { vin, .. } = message;
    let tz = policy.time_zone();
    let today = now.with_timezone(&tz).date_naive();
    let vehicle = repos
        .vehicles
        .get::<Vehicle>(vin)
        .await?
        .ok_or_else(|| EvaluateError::UnknownVehicle(vin.clone()))?;
    if vehicle.contact.sold_at.is_some() {
        tracing::info!(vehicle_id = %vin, "sold: nothing to decide");
        return Ok(Evaluation::default());
    }
    let due = match forecast {
        Some(due) => due.clone(),
        None => match repos.forecasts.get(vin).await? {
            Some(due) => due,
            None => return Ok(Evaluation::default()),
        },
    };
    let Some(stored) = repos
        .customers
        .get::<Customer>(&vehicle.customer_id)
        .await?
    else {
        if repos
            .erasure
            .erased_at(&vehicle.customer_id)
            .await?
            .is_some()
        {
            tracing::info!(vehicle_id = %vin, "owner's personal data erased: nothing to decide");
            return Ok(Evaluation::default());
        }
        return Err(EvaluateError::UnknownCustomer {
            vin: vin.clone(),
            customer_id: vehicle.customer_id.clone(),
        });
    };
    let opted_out = stored.opted_out();
    let customer = stored.profile;
    let own = repos.visits.for_vehicle::<Visit>(vin).await?;
    let Some(last) = own.iter().rev().find(|v| v.visit.closed_at() <= now) else {
        return Ok(Evaluation::default());
    };
    let visit = LastVisit {
        closed_at: last.visit.closed_at().to_utc(),
        kind: last.visit.kind(),
    };
    let cycle = crate::contact_state::current_cycle(policy, &last.work_order_id, visit, &due);
    let cycle_id = cycle.id.clone();
    let started_at = cycle.started_at;
    let open = match mode {
        Mode::Commit => open_cycle(repos, vin, &cycle_id, started_at).await?,
        Mode::DryRun => !repos.cycles.is_closed(vin, &cycle_id).await?,
    };
    // The car as a trade-in lead for sales, judged on committed runs only, and never for a
    // customer who sent STOP.
    let leads = mode == Mode::Commit && !opted_out;
    let trade_in = |rating| {
        crate::trade_in::consider(
            repos,
            policy,
            &vehicle.vehicle,
            customer.id.as_str(),
            &own,
            rating,
            now,
        )
    };
    if !open {
        tracing::info!(vehicle_id = %vin, cycle_id = %cycle_id, "cycle closed by the customer's answer");
        let mut evaluation = Evaluation::default();
        if leads
            && domain::trade_in::old_enough(policy, vehicle.vehicle.first_registration(), today)
        {
            let reactions = repos
                .cycles
                .reactions::<ReactionMark>(vin, &cycle_id)
                .await?;
            evaluation.raise(trade_in(last_rating(&reactions)).await?);
        }
        return Ok(evaluation);
    }

    let store::repo::CycleContacts {
        stages: marks,
        reactions,
    } = repos
        .cycles
        .contacts::<StageMark, ReactionMark>(vin, &cycle_id)
        .await?;
    // Reactions are kept by stage; a stage marked once per step (declined work) shares them.
    let strongest = |key: &str| {
        let stage = Stage::from_mark_key(key);
        reactions
            .iter()
            .filter(|(s, _, _)| stage.is_some() && Stage::from_mark_key(s) == stage)
            .map(|(_, _, mark)| mark.reaction)
            .max_by_key(|r| strength(*r))
    };
    let contacts: Vec<ContactRecord> = marks
        .iter()
        .filter_map(|(stage, mark)| {
            Some(ContactRecord {
                stage: Stage::from_mark_key(stage)?,
                sent_at: mark.send_at,
                reaction: strongest(stage),
            })
        })
        .collect();
    let sent: StageSet = contacts.iter().map(|c| c.stage).collect();
    let visit_days: Vec<NaiveDate> = repos
        .visits
        .for_customer::<Visit>(customer.id.as_str())
        .await?
        .iter()
        .map(|v| v.closed_on)
        .filter(|d| *d <= today)
        .collect();
    let status = status_for_car(
        policy,
        &vehicle.vehicle,
        Some(due.due_date),
        &visit_days,
        opted_out,
        today,
    );
    let last_marketing_at = last_marketing_elsewhere(repos, vin, &cycle_id, &customer).await?;
    let input = TriggerInput {
        at: now,
        due: &due,
        last_visit: cycle.last_visit,
        sent,
        contacts: &contacts,
        status,
        first_registration: vehicle.vehicle.first_registration(),
        warranty_until: vehicle.vehicle.warranty_until(),
        declined: last.visit.recommendations(),
    };
    let decisions = evaluate_triggers(policy, &input);
    let decisions =
        crate::contact_state::after_answers(policy, &input, &vehicle.contact, &cycle, decisions);
    let (decisions, switched_off): (Vec<_>, Vec<_>) = decisions
        .into_iter()
        .partition(|d| switches.stage_on(d.stage));
    let mut consents = customer.consents;
    if crate::contact_state::marketing_muted(repos, vin, customer.id.as_str()).await? {
        consents.marketing = false;
    }
    let recipient = Recipient {
        customer_id: &customer.id,
        consents,
        opted_out,
        last_marketing_at,
    };
    let checked = apply_contact_policy(policy, &recipient, &contacts, started_at, decisions);

    let mut evaluation = Evaluation::default();
    if leads {
        evaluation.raise(trade_in(last_rating(&reactions)).await?);
    }
    for d in switched_off {
        let stage = d.stage;
        tracing::info!(vehicle_id = %vin, cycle_id = %cycle_id, %stage, veto = CAMPAIGN_OFF, "vetoed: stage switched off");
        evaluation.vetoed.push((stage, CAMPAIGN_OFF.to_owned()));
    }
    let gap = chrono::Duration::days(i64::from(policy.contact().marketing_min_gap_days));
    for c in checked {
        let stage = c.decision.stage;
        let Some(send_at) = c.verdict.send_at() else {
            let veto = c.verdict.veto().map(|v| v.to_string()).unwrap_or_default();
            tracing::info!(vehicle_id = %vin, cycle_id = %cycle_id, %stage, %veto, "vetoed");
            evaluation.vetoed.push((stage, veto));
            continue;
        };
        let key = stage.mark_key(&c.decision.reason);
        let offer_id = crate::messages::offer_id_for(vin, &cycle_id, &key);
        if c.decision.class == ContactClass::Marketing && mode == Mode::Commit {
            let claim = repos
                .marketing
                .claim(customer.id.as_str(), &offer_id, send_at, gap)
                .await?;
            if let MarketingClaim::Taken { .. } = claim {
                let veto = "marketing_cap".to_owned();
                tracing::info!(vehicle_id = %vin, cycle_id = %cycle_id, %stage, %veto, "vetoed: lost the customer's marketing slot");
                evaluation.vetoed.push((stage, veto));
                continue;
            }
        }
        let mark = StageMark {
            send_at,
            decided_at: now,
        };
        tracing::info!(vehicle_id = %vin, cycle_id = %cycle_id, %stage, "stage decided");
        evaluation.compose.push(ComposeOffer::V1 {
            offer_id,
            vin: vin.clone(),
            customer_id: customer.id.as_str().to_owned(),
            cycle_id: cycle_id.clone(),
            stage,
            reason: c.decision.reason.clone(),
            send_at,
        });
        evaluation
            .marks
            .push((vin.clone(), cycle_id.clone(), key, mark));
    }
    Ok(evaluation)
}

impl Evaluation {
    fn raise(
        &mut self,
        lead: Option<(crate::events::BusinessEvent, crate::trade_in::PendingLead)>,
    ) {
        if let Some((event, pending)) = lead {
            self.events.push(event);
            self.trade_in = Some(pending);
        }
    }
}

/// The satisfaction score of the cycle's visit, if the owner gave one.
fn last_rating(reactions: &[(String, String, ReactionMark)]) -> Option<u8> {
    reactions
        .iter()
        .filter(|(stage, _, _)| stage == Stage::SatisfactionRequest.as_str())
        .find_map(|(_, _, mark)| match mark.reaction {
            Reaction::Rated(score) => Some(score),
            _ => None,
        })
}

/// The customer's last marketing message on any vehicle, from the per-customer mark (one read).
/// A mark held by a stage of this vehicle's current cycle is left out: either that stage is
/// marked (and in the cycle's contacts already) or it is this evaluation repeated after a
/// failure, which may go ahead with the slot it holds.
async fn last_marketing_elsewhere<S: Store>(
    repos: &Repos<S>,
    vin: &str,
    cycle_id: &str,
    customer: &Customer,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let last = repos.marketing.last(customer.id.as_str()).await?;
    Ok(last
        .filter(|(_, holder)| {
            !Stage::ALL
                .into_iter()
                .flat_map(Stage::mark_keys)
                .any(|key| crate::messages::offer_id_for(vin, cycle_id, &key) == *holder)
        })
        .map(|(at, _)| at))
}

/// Marks the evaluation's stages once per (vehicle, cycle, stage), and its trade-in lead once
/// per (vehicle, quarter); returns how many stages were new.
pub async fn commit_evaluation<S: Store>(
    repos: &Repos<S>,
    evaluation: &Evaluation,
) -> Result<usize, StoreError> {
    if let Some(lead) = &evaluation.trade_in {
        crate::trade_in::mark(repos, lead).await?;
    }
    let mut marked = 0;
    for (vin, cycle_id, key, mark) in &evaluation.marks {
        let outcome = repos.cycles.mark_stage(vin, cycle_id, key, mark).await?;
        marked += usize::from(outcome == StageOutcome::Marked);
    }
    Ok(marked)
}

/// Opens the current cycle, closing an older one still open; false when the customer's answer
/// closed it (nothing more is decided in it).
async fn open_cycle<S: Store>(
    repos: &Repos<S>,
    vin: &str,
    cycle_id: &str,
    started_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let info = CycleInfo { started_at };
    let outcome = match repos.cycles.open(vin, cycle_id, &info).await? {
        OpenOutcome::OtherOpen { cycle_id: older } => {
            repos.cycles.close(vin, &older, &"superseded").await?;
            repos.cycles.open(vin, cycle_id, &info).await?
        }
        outcome => outcome,
    };
    Ok(outcome != OpenOutcome::Closed)
}
