//! Business events for other systems (the DMS, analytics): what happened, with ids only (never a
//! name or a phone). The use cases return them with their outcomes; the handlers publish them
//! through an [`EventSink`] (EventBridge in Lambda, a JSON-lines file under `autodrive serve`).
//! Each event's id is derived from the ids it is about, so a repeated delivery of the same fact
//! carries the same id and consumers drop the duplicate. Schemas: `docs/events/<Name>.schema.json`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use domain::triggers::Stage;
use serde::Serialize;
use store::repo::Booking;

use crate::booking::BookingRecord;
use crate::messages::ComposeOffer;

/// The `source` of every event this system puts on a bus.
pub const SOURCE: &str = "autodrive";

/// Every event name (EventBridge's detail-type), in the order of `docs/events/README.md`.
pub const EVENT_NAMES: [&str; 10] = [
    "VisitRecorded",
    "OfferSent",
    "BookingHeld",
    "BookingConfirmed",
    "BookingRescheduled",
    "BookingCancelled",
    "NoShow",
    "OptedOut",
    "VehicleSold",
    "TradeInLead",
];

/// One business event: its id, when it happened and what (ids only).
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessEvent {
    /// Deterministic from the event's name and source ids (`ev_` and 32 hex digits).
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
    pub kind: EventKind,
    /// Published again for an action repeated on something already done (an advisor's second
    /// «Подтвердить»), so that a lost first publication is repaired: the bus gets it (same
    /// id), counters do not count it twice.
    pub repeat: bool,
}

/// A booking's slot: the day and the start time (dealer's local time, `HH:MM`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slot {
    pub date: NaiveDate,
    pub start: String,
}

/// The ids every booking event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookingIds {
    pub booking_id: String,
    /// 1 for the first hold of the booking, one more after each cancellation or lapse.
    pub attempt: u32,
    pub offer_id: String,
    pub vehicle_id: String,
    pub customer_id: String,
    pub slot: Slot,
    /// The messenger the customer booked through (for the metrics; not part of the event).
    #[serde(skip)]
    pub channel: crate::ports::Messenger,
}

/// Who cancelled a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelledBy {
    Customer,
    Advisor,
}

/// What a customer opted out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OptOutScope {
    /// STOP: every message on every channel.
    All,
    /// «Не присылать»: marketing about one vehicle.
    VehicleMarketing,
}

/// What happened; serialised as the event's detail (with `event_id` and `occurred_at`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EventKind {
    VisitRecorded {
        work_order_id: String,
        vehicle_id: String,
        customer_id: String,
        /// False when this work order was stored before (a repeated delivery).
        newly_stored: bool,
        /// The vehicle's next planned maintenance after the visit, when forecast.
        #[serde(skip_serializing_if = "Option::is_none")]
        next_due_date: Option<NaiveDate>,
    },
    OfferSent {
        offer_id: String,
        vehicle_id: String,
        customer_id: String,
        cycle_id: String,
        stage: Stage,
    },
    BookingHeld(BookingIds),
    BookingConfirmed(BookingIds),
    BookingRescheduled(BookingIds),
    BookingCancelled {
        #[serde(flatten)]
        booking: BookingIds,
        by: CancelledBy,
    },
    NoShow(BookingIds),
    OptedOut {
        customer_id: String,
        scope: OptOutScope,
        channel: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        vehicle_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        offer_id: Option<String>,
    },
    VehicleSold {
        vehicle_id: String,
        customer_id: String,
        offer_id: String,
        cycle_id: String,
    },
    /// A customer's car as a trade-in lead for the sales department, once per vehicle and
    /// quarter (`crate::trade_in`).
    TradeInLead {
        lead_id: String,
        vehicle_id: String,
        customer_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        offer_id: Option<String>,
        /// Why (`domain::trade_in::TradeInReason::code`): `warranty_ended`,
        /// `repeated_repairs:<system>`, `low_rating`.
        reasons: Vec<String>,
    },
}

impl EventKind {
    /// The event's name (EventBridge's detail-type).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::VisitRecorded { .. } => "VisitRecorded",
            EventKind::OfferSent { .. } => "OfferSent",
            EventKind::BookingHeld(_) => "BookingHeld",
            EventKind::BookingConfirmed(_) => "BookingConfirmed",
            EventKind::BookingRescheduled(_) => "BookingRescheduled",
            EventKind::BookingCancelled { .. } => "BookingCancelled",
            EventKind::NoShow(_) => "NoShow",
            EventKind::OptedOut { .. } => "OptedOut",
            EventKind::VehicleSold { .. } => "VehicleSold",
            EventKind::TradeInLead { .. } => "TradeInLead",
        }
    }

    /// The ids that make one occurrence of this event (what its id is derived from). An opt-out
    /// counts with its time: the same customer may opt out again after undoing it.
    fn key(&self, occurred_at: DateTime<Utc>) -> String {
        let booking = |b: &BookingIds| {
            format!(
                "{}#{}#{}#{}",
                b.booking_id, b.attempt, b.slot.date, b.slot.start
            )
        };
        match self {
            EventKind::VisitRecorded { work_order_id, .. } => work_order_id.clone(),
            EventKind::OfferSent { offer_id, .. } => offer_id.clone(),
            EventKind::BookingHeld(b)
            | EventKind::BookingConfirmed(b)
            | EventKind::BookingRescheduled(b)
            | EventKind::NoShow(b) => booking(b),
            EventKind::BookingCancelled { booking: b, .. } => booking(b),
            EventKind::OptedOut {
                customer_id,
                scope,
                vehicle_id,
                ..
            } => format!(
                "{customer_id}#{scope:?}#{}#{}",
                vehicle_id.as_deref().unwrap_or_default(),
                occurred_at.timestamp()
            ),
            EventKind::VehicleSold {
                vehicle_id,
                customer_id,
                ..
            } => format!("{vehicle_id}#{customer_id}"),
            EventKind::TradeInLead { lead_id, .. } => lead_id.clone(),
        }
    }
}

/// The id of an event named `name` about `key`: `ev_` and the first 32 hex digits of a SHA-256.
pub fn event_id(name: &str, key: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{name}#{key}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("ev_{hex}")
}

impl BusinessEvent {
    /// The event of `kind` at `occurred_at`, its id derived from the kind's ids.
    pub fn new(kind: EventKind, occurred_at: DateTime<Utc>) -> Self {
        BusinessEvent {
            event_id: event_id(kind.name(), &kind.key(occurred_at)),
            occurred_at,
            kind,
            repeat: false,
        }
    }

    /// The same event, marked as a repeat of one published before.
    pub fn repeated(self) -> Self {
        BusinessEvent {
            repeat: true,
            ..self
        }
    }

    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The detail as JSON: `event_id`, `occurred_at` (RFC 3339, UTC) and the kind's ids.
    pub fn detail(&self) -> serde_json::Value {
        let mut detail = serde_json::to_value(&self.kind).unwrap_or_default();
        if let Some(map) = detail.as_object_mut() {
            map.insert("event_id".into(), self.event_id.clone().into());
            map.insert("occurred_at".into(), self.time().into());
        }
        detail
    }

    /// `occurred_at` as RFC 3339 in UTC, to the second.
    pub fn time(&self) -> String {
        self.occurred_at.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// The event in EventBridge's envelope (`id`, `detail-type`, `source`, `time`, `detail`), as
    /// `autodrive serve` writes and posts it.
    pub fn envelope(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.event_id,
            "detail-type": self.name(),
            "source": SOURCE,
            "time": self.time(),
            "detail": self.detail(),
        })
    }

    /// VisitRecorded for a work order.
    pub fn visit_recorded(
        work_order_id: &str,
        vehicle_id: &str,
        customer_id: &str,
        newly_stored: bool,
        next_due_date: Option<NaiveDate>,
        at: DateTime<Utc>,
    ) -> Self {
        Self::new(
            EventKind::VisitRecorded {
                work_order_id: work_order_id.to_owned(),
                vehicle_id: vehicle_id.to_owned(),
                customer_id: customer_id.to_owned(),
                newly_stored,
                next_due_date,
            },
            at,
        )
    }

    /// OfferSent for a compose message sent (or found sent before) at `at`.
    pub fn offer_sent(message: &ComposeOffer, at: DateTime<Utc>) -> Self {
        let ComposeOffer::V1 {
            offer_id,
            vin,
            customer_id,
            cycle_id,
            stage,
            ..
        } = message;
        Self::new(
            EventKind::OfferSent {
                offer_id: offer_id.clone(),
                vehicle_id: vin.clone(),
                customer_id: customer_id.clone(),
                cycle_id: cycle_id.clone(),
                stage: *stage,
            },
            at,
        )
    }

    /// A customer's opt-out: STOP (`vehicle` none) or «Не присылать» (vehicle and offer).
    pub fn opted_out(
        customer_id: &str,
        channel: &str,
        vehicle: Option<(&str, &str)>,
        at: DateTime<Utc>,
    ) -> Self {
        Self::new(
            EventKind::OptedOut {
                customer_id: customer_id.to_owned(),
                scope: if vehicle.is_some() {
                    OptOutScope::VehicleMarketing
                } else {
                    OptOutScope::All
                },
                channel: channel.to_owned(),
                vehicle_id: vehicle.map(|(vin, _)| vin.to_owned()),
                offer_id: vehicle.map(|(_, offer)| offer.to_owned()),
            },
            at,
        )
    }
}

/// The ids of a stored booking, as booking events carry them.
pub fn booking_ids(booking: &Booking<BookingRecord>) -> BookingIds {
    BookingIds {
        booking_id: booking.booking_id.clone(),
        attempt: booking.attempt,
        offer_id: booking.booking.offer_id.clone(),
        vehicle_id: booking.vin.clone(),
        customer_id: booking.customer_id.clone(),
        slot: Slot {
            date: booking.date,
            start: booking.start.clone(),
        },
        channel: booking.booking.channel,
    }
}

/// A boxed future, so sinks can sit behind `dyn` in the handlers' dependencies.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where business events go (EventBridge in Lambda, a file and a URL locally).
///
/// `publish` MUST either deliver every event (retrying what failed) or return `Err`; it MAY
/// deliver an event more than once (consumers deduplicate on `event_id`).
pub trait EventSink: Send + Sync + 'static {
    fn publish<'a>(&'a self, events: &'a [BusinessEvent]) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// The sink a handler publishes through; [`Events::none`] drops every event (tests that do not
/// look at them).
#[derive(Clone, Default)]
pub struct Events(Option<Arc<dyn EventSink>>);

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Events(sink)"
        } else {
            "Events(none)"
        })
    }
}

impl Events {
    pub fn new(sink: impl EventSink) -> Self {
        Events(Some(Arc::new(sink)))
    }

    pub fn from_arc(sink: Arc<dyn EventSink>) -> Self {
        Events(Some(sink))
    }

    pub fn none() -> Self {
        Events(None)
    }

    /// Publishes the events (nothing to do for none).
    pub async fn publish(&self, events: &[BusinessEvent]) -> anyhow::Result<()> {
        match &self.0 {
            Some(sink) if !events.is_empty() => sink.publish(events).await,
            _ => Ok(()),
        }
    }
}

/// Refuses every publication, as a bus that is down (tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct RefusingEvents;

impl EventSink for RefusingEvents {
    fn publish<'a>(&'a self, _: &'a [BusinessEvent]) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Err(anyhow::anyhow!("the bus is down")) })
    }
}

/// Keeps every event published (tests).
#[derive(Debug, Default, Clone)]
pub struct CollectedEvents(Arc<Mutex<Vec<BusinessEvent>>>);

impl CollectedEvents {
    /// Every event published so far, removed.
    pub fn take(&self) -> Vec<BusinessEvent> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The names of the events published so far (kept).
    pub fn names(&self) -> Vec<&'static str> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(BusinessEvent::name)
            .collect()
    }
}

impl EventSink for CollectedEvents {
    fn publish<'a>(&'a self, events: &'a [BusinessEvent]) -> BoxFuture<'a, anyhow::Result<()>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(events);
        Box::pin(async { Ok(()) })
    }
}

/// One constructed event of every kind (schema tests, docs).
pub fn samples() -> Vec<BusinessEvent> {
    let at = DateTime::parse_from_rfc3339("2026-11-12T12:40:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    let ids = BookingIds {
        booking_id: "b1a2b3c4d5e6f7a8b".into(),
        attempt: 1,
        offer_id: "o1a2b3c4d5e6f7a8b".into(),
        vehicle_id: "XTA210990Y2765432".into(),
        customer_id: "C-000123".into(),
        slot: Slot {
            date: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap_or_default(),
            start: "09:30".into(),
        },
        channel: crate::ports::Messenger::Telegram,
    };
    let compose = ComposeOffer::V1 {
        offer_id: ids.offer_id.clone(),
        vin: ids.vehicle_id.clone(),
        customer_id: ids.customer_id.clone(),
        cycle_id: "A3C0001116+2027-11-01".into(),
        stage: Stage::PersonalOffer,
        reason: domain::triggers::Reason::DueSoon {
            due: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default(),
            days_left: 8,
        },
        send_at: at,
    };
    vec![
        BusinessEvent::visit_recorded(
            "A3C0001116",
            &ids.vehicle_id,
            &ids.customer_id,
            true,
            NaiveDate::from_ymd_opt(2027, 5, 10),
            at,
        ),
        BusinessEvent::offer_sent(&compose, at),
        BusinessEvent::new(EventKind::BookingHeld(ids.clone()), at),
        BusinessEvent::new(EventKind::BookingConfirmed(ids.clone()), at),
        BusinessEvent::new(EventKind::BookingRescheduled(ids.clone()), at),
        BusinessEvent::new(
            EventKind::BookingCancelled {
                booking: ids.clone(),
                by: CancelledBy::Customer,
            },
            at,
        ),
        BusinessEvent::new(EventKind::NoShow(ids.clone()), at),
        BusinessEvent::opted_out(&ids.customer_id, "telegram", None, at),
        BusinessEvent::new(
            EventKind::VehicleSold {
                vehicle_id: ids.vehicle_id.clone(),
                customer_id: ids.customer_id.clone(),
                offer_id: ids.offer_id.clone(),
                cycle_id: "A3C0001116+2027-11-01".into(),
            },
            at,
        ),
        BusinessEvent::new(
            EventKind::TradeInLead {
                lead_id: "L-2026-0001".into(),
                vehicle_id: ids.vehicle_id.clone(),
                customer_id: ids.customer_id.clone(),
                offer_id: Some(ids.offer_id.clone()),
                reasons: vec!["warranty_ended".into(), "repeated_repairs:BRK".into()],
            },
            at,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_fact_gets_the_same_id_and_another_fact_another() {
        let samples = samples();
        let again = super::samples();
        assert_eq!(samples[0].event_id, again[0].event_id);
        let ids: std::collections::HashSet<_> = samples.iter().map(|e| &e.event_id).collect();
        assert_eq!(ids.len(), samples.len());
        let names: Vec<_> = samples.iter().map(BusinessEvent::name).collect();
        assert_eq!(names, EVENT_NAMES);
    }

    #[test]
    fn a_detail_carries_its_id_and_time_and_no_personal_data() {
        for event in samples() {
            let detail = event.detail();
            assert_eq!(detail["event_id"], event.event_id.as_str());
            assert_eq!(detail["occurred_at"], "2026-11-12T12:40:00Z");
            let text = detail.to_string();
            for word in ["name", "phone", "first_name", "chat"] {
                assert!(!text.contains(&format!("\"{word}")), "{text}");
            }
        }
    }
}
