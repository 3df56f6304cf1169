//! Contact policy: may a decided message go out, and when. Consent by class, opt-out, quiet
//! hours (deferred, not dropped), the marketing frequency cap, one open cycle per vehicle, one
//! due-stage message per evaluation and the control group.

use std::fmt;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::policy::{Percent, Policy};
use crate::triggers::{ContactRecord, Decision, Stage};
use crate::values::{Consents, ContactClass, CustomerId};

/// Why a decision must not go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Veto {
    /// The customer sent STOP.
    OptedOut,
    /// The customer has not consented to messages of this class.
    NoConsent { class: ContactClass },
    /// The customer is in the control group, which gets no marketing.
    ControlGroup,
    /// A marketing message went out less than the minimum gap ago.
    MarketingCap {
        last_sent_at: DateTime<Utc>,
        next_allowed_at: DateTime<Utc>,
    },
    /// The decision belongs to a cycle a later visit has closed.
    CycleClosed,
    /// Another message about the car goes out the same day (a more important one, or one sent
    /// earlier that day): a due stage after a due stage, or a service request (satisfaction,
    /// safety follow-up) after any message; it may go on a later night.
    Superseded { by: Stage },
}

impl fmt::Display for Veto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Veto::OptedOut => f.write_str("opted_out"),
            Veto::NoConsent {
                class: ContactClass::Service,
            } => f.write_str("no_service_consent"),
            Veto::NoConsent {
                class: ContactClass::Marketing,
            } => f.write_str("no_marketing_consent"),
            Veto::ControlGroup => f.write_str("control_group"),
            Veto::MarketingCap { .. } => f.write_str("marketing_cap"),
            Veto::CycleClosed => f.write_str("cycle_closed"),
            Veto::Superseded { by } => write!(f, "superseded_by_{by}"),
        }
    }
}

/// Why a decision goes out later than decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Deferral {
    /// Decided at `from`, inside the dealer's quiet hours.
    QuietHours { from: DateTime<Utc> },
}

/// What the contact policy says about one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Verdict {
    Send {
        at: DateTime<Utc>,
    },
    Defer {
        at: DateTime<Utc>,
        because: Deferral,
    },
    Veto {
        because: Veto,
    },
}

impl Verdict {
    /// When the message goes out, if it does.
    pub fn send_at(&self) -> Option<DateTime<Utc>> {
        match *self {
            Verdict::Send { at } | Verdict::Defer { at, .. } => Some(at),
            Verdict::Veto { .. } => None,
        }
    }

    pub fn veto(&self) -> Option<Veto> {
        match *self {
            Verdict::Veto { because } => Some(because),
            _ => None,
        }
    }
}

/// A decision with the contact policy's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checked {
    pub decision: Decision,
    pub verdict: Verdict,
}

/// Who the messages are for.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub customer_id: &'a CustomerId,
    pub consents: Consents,
    pub opted_out: bool,
    /// The customer's latest marketing message on any vehicle and in any cycle (the store keeps
    /// it per customer), so the frequency cap holds across a customer's fleet.
    pub last_marketing_at: Option<DateTime<Utc>>,
}

/// FNV-1a, 64 bit: stable across platforms and releases.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Whether a customer is in the control group of the given share: a fixed hash of the id,
/// so the same customer is always in or always out, on every machine.
pub fn in_control_group(customer_id: &CustomerId, share: Percent) -> bool {
    let bucket = fnv1a64(customer_id.as_str().as_bytes()) % 10_000;
    let limit = (share.value() * rust_decimal::Decimal::ONE_HUNDRED)
        .trunc()
        .to_u64()
        .unwrap_or(0)
        .min(10_000);
    bucket < limit
}

/// Whether `at` falls in the dealer's quiet hours.
pub fn in_quiet_hours(policy: &Policy, at: DateTime<Utc>) -> bool {
    let c = policy.contact();
    let local = at.with_timezone(&policy.time_zone()).time();
    quiet(c.quiet_from, c.quiet_to, local)
}

fn quiet(from: NaiveTime, to: NaiveTime, t: NaiveTime) -> bool {
    if from < to {
        from <= t && t < to
    } else {
        t >= from || t < to
    }
}

/// The first instant at or after `at` outside quiet hours.
pub fn next_allowed_instant(policy: &Policy, at: DateTime<Utc>) -> DateTime<Utc> {
    if !in_quiet_hours(policy, at) {
        return at;
    }
    let tz = policy.time_zone();
    let end = policy.contact().quiet_to;
    let local = at.with_timezone(&tz);
    let day = if local.time() < end {
        local.date_naive()
    } else {
        local.date_naive() + Days::new(1)
    };
    local_instant(tz, day, end).max(at)
}

/// `time` on `day` in `tz`; a time skipped by a clock change moves to the next existing minute.
pub(crate) fn local_instant(tz: Tz, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut naive = day.and_time(time);
    for _ in 0..180 {
        if let Some(t) = tz.from_local_datetime(&naive).earliest() {
            return t.with_timezone(&Utc);
        }
        naive += chrono::Duration::minutes(1);
    }
    Utc.from_utc_datetime(&day.and_time(time))
}

/// The contact policy's verdict on each decision, in the order given (most important first, as
/// [`crate::triggers::evaluate_triggers`] returns them). `history` is every message sent to the
/// vehicle (its current cycle at least); the customer's marketing on other vehicles comes in
/// through `recipient.last_marketing_at`; `current_cycle` is when the vehicle's open cycle
/// began.
pub fn apply_contact_policy(
    policy: &Policy,
    recipient: &Recipient<'_>,
    history: &[ContactRecord],
    current_cycle: DateTime<Utc>,
    decisions: Vec<Decision>,
) -> Vec<Checked> {
    let limits = policy.contact();
    let gap = Days::new(u64::from(limits.marketing_min_gap_days));
    let control = in_control_group(recipient.customer_id, limits.control_group);
    let opted_out = recipient.opted_out
        || history
            .iter()
            .any(|c| c.reaction == Some(crate::triggers::Reaction::OptedOut));
    let mut last_marketing = history
        .iter()
        .filter(|c| c.stage.class() == ContactClass::Marketing)
        .map(|c| c.sent_at)
        .chain(recipient.last_marketing_at)
        .max();
    // The message about the car going out on a day: one sent earlier that day counts.
    let today = |at: DateTime<Utc>| at.with_timezone(&policy.time_zone()).date_naive();
    let mut due_stage_going: Option<Stage> = None;
    let mut going: Option<(Stage, NaiveDate)> = history
        .iter()
        .max_by_key(|c| c.sent_at)
        .map(|c| (c.stage, today(c.sent_at)));

    decisions
        .into_iter()
        .map(|decision| {
            let verdict = verdict(
                policy,
                recipient,
                &decision,
                Context {
                    opted_out,
                    control,
                    current_cycle,
                    gap,
                    last_marketing,
                    due_stage_going,
                    going,
                },
            );
            if let Some(at) = verdict.send_at() {
                if decision.stage.is_due_stage() {
                    due_stage_going = Some(decision.stage);
                }
                going = Some((decision.stage, today(at)));
                if decision.class == ContactClass::Marketing {
                    last_marketing = Some(last_marketing.map_or(at, |l| l.max(at)));
                }
            }
            Checked { decision, verdict }
        })
        .collect()
}

#[derive(Clone, Copy)]
struct Context {
    opted_out: bool,
    control: bool,
    current_cycle: DateTime<Utc>,
    gap: Days,
    last_marketing: Option<DateTime<Utc>>,
    due_stage_going: Option<Stage>,
    /// The latest message about the car going out (or sent) and its local day.
    going: Option<(Stage, NaiveDate)>,
}

fn verdict(policy: &Policy, recipient: &Recipient<'_>, d: &Decision, cx: Context) -> Verdict {
    let veto = |because| Verdict::Veto { because };
    if cx.opted_out {
        return veto(Veto::OptedOut);
    }
    if !recipient.consents.allows(d.class) {
        return veto(Veto::NoConsent { class: d.class });
    }
    if d.cycle != cx.current_cycle {
        return veto(Veto::CycleClosed);
    }
    let marketing = d.class == ContactClass::Marketing;
    if marketing && cx.control {
        return veto(Veto::ControlGroup);
    }
    if let (true, Some(by)) = (d.stage.is_due_stage(), cx.due_stage_going) {
        return veto(Veto::Superseded { by });
    }
    let at = next_allowed_instant(policy, d.at);
    if marketing {
        if let Some(last) = cx.last_marketing {
            let next = last
                .checked_add_days(cx.gap)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            if at < next {
                return veto(Veto::MarketingCap {
                    last_sent_at: last,
                    next_allowed_at: next,
                });
            }
        }
    }
    // A request about the car outside the due stages (the satisfaction request, a safety
    // follow-up) does not stack on another message the same day: it waits for the next night.
    let request = d.class == ContactClass::Service && !d.stage.is_due_stage();
    if let (true, Some((by, day))) = (request, cx.going) {
        if day == at.with_timezone(&policy.time_zone()).date_naive() {
            return veto(Veto::Superseded { by });
        }
    }
    if at == d.at {
        Verdict::Send { at }
    } else {
        Verdict::Defer {
            at,
            because: Deferral::QuietHours { from: d.at },
        }
    }
}

#[cfg(test)]
mod tests;
