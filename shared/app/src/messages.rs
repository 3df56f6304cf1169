//! Messages between the functions, versioned and defined once. Each is an enum tagged by `v`, so
//! a consumer rejects a version it does not know instead of misreading it.

use chrono::{DateTime, NaiveDate, Utc};
use domain::triggers::{Reason, Stage};
use serde::{Deserialize, Serialize};

/// One shard of a nightly run, from the planner to the forecast workers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum NightlyShard {
    #[serde(rename = "1")]
    V1 {
        run_date: NaiveDate,
        shard: u32,
        total_shards: u32,
    },
}

/// A vehicle that needs a decision, from the nightly run (or a recorded visit) to the evaluator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum EvaluateVehicle {
    #[serde(rename = "1")]
    V1 { run_date: NaiveDate, vin: String },
}

/// A stage that goes out, from the evaluator to the composer; `offer_id` is the idempotency key
/// of the send (one per vehicle, cycle and stage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum ComposeOffer {
    #[serde(rename = "1")]
    V1 {
        offer_id: String,
        vin: String,
        customer_id: String,
        cycle_id: String,
        stage: Stage,
        reason: Reason,
        /// Not before this instant (after quiet hours).
        send_at: DateTime<Utc>,
    },
}

impl ComposeOffer {
    pub fn offer_id(&self) -> &str {
        let ComposeOffer::V1 { offer_id, .. } = self;
        offer_id
    }

    pub fn customer_id(&self) -> &str {
        let ComposeOffer::V1 { customer_id, .. } = self;
        customer_id
    }

    pub fn cycle_id(&self) -> &str {
        let ComposeOffer::V1 { cycle_id, .. } = self;
        cycle_id
    }

    pub fn stage(&self) -> Stage {
        let ComposeOffer::V1 { stage, .. } = self;
        *stage
    }

    pub fn reason(&self) -> &Reason {
        let ComposeOffer::V1 { reason, .. } = self;
        reason
    }
}

/// A confirmed booking's day-before reminder, from the nightly run to the composer (on the
/// compose queue): sent once, not before `send_at`, if the booking is still confirmed at hold
/// `attempt` (a booking moved or cancelled since is not reminded of by this message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum RemindBooking {
    #[serde(rename = "booking-reminder/1")]
    V1 {
        booking_id: String,
        attempt: u32,
        send_at: DateTime<Utc>,
    },
}

/// The offer id of a stage: short (it travels in button callback data), the same for every
/// evaluation of the same (vehicle, cycle, stage). FNV-1a 64 of the three.
pub fn offer_id(vin: &str, cycle_id: &str, stage: Stage) -> String {
    offer_id_for(vin, cycle_id, stage.as_str())
}

/// [`offer_id`] of a stage's mark key ([`Stage::mark_key`]): the declined-work follow-ups are
/// one offer per step.
pub fn offer_id_for(vin: &str, cycle_id: &str, mark_key: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in [vin, cycle_id, mark_key].join("\u{1f}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("o{hash:016x}")
}

/// Why a queue message could not be read.
#[derive(Debug, thiserror::Error)]
#[error("unreadable message: {0}")]
pub struct MessageError(#[from] serde_json::Error);

macro_rules! wire {
    ($t:ty) => {
        impl $t {
            pub fn to_json(&self) -> String {
                serde_json::to_string(self).unwrap_or_default()
            }

            pub fn from_json(text: &str) -> Result<Self, MessageError> {
                Ok(serde_json::from_str(text)?)
            }
        }
    };
}

wire!(NightlyShard);
wire!(EvaluateVehicle);
wire!(ComposeOffer);
wire!(RemindBooking);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_message_carries_its_version_and_reads_back() {
        let run_date = NaiveDate::from_ymd_opt(2026, 11, 12).unwrap();
        let msg = NightlyShard::V1 {
            run_date,
            shard: 3,
            total_shards: 64,
        };
        let json = msg.to_json();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&json).unwrap()["v"],
            "1"
        );
        assert_eq!(NightlyShard::from_json(&json).unwrap(), msg);
    }

    #[test]
    fn a_booking_reminder_is_no_compose_message_and_reads_back() {
        let msg = RemindBooking::V1 {
            booking_id: "b0123456789abcdef".into(),
            attempt: 2,
            send_at: "2027-11-01T07:00:00Z".parse().unwrap(),
        };
        let json = msg.to_json();
        assert!(ComposeOffer::from_json(&json).is_err());
        assert_eq!(RemindBooking::from_json(&json).unwrap(), msg);
    }

    #[test]
    fn a_message_of_an_unknown_version_is_rejected() {
        let json = r#"{"v":"2","run_date":"2026-11-12","vin":"XW7BE40K70S025476"}"#;
        assert!(EvaluateVehicle::from_json(json).is_err());
    }
}
