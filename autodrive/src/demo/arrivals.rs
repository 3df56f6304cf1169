//! Customers who booked come on their booked day: a confirmed booking becomes a visit at the
//! slot (a tyre change for the seasonal message, else the maintenance), recorded through the CRM webhook's use case (`record_visit`) like every
//! other visit, and the car's next sampled visit within [`COVERED_DAYS`] is not recorded (it
//! came early). [`SHOW_SHARE`] of them show up; the rest are the no-shows a workshop sees. So
//! the booking→visit show rate and the control-group uplift reflect what the messages did.

use anyhow::Result;
use app::record_visit;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use serde_json::Value;

use super::dealership::Dealership;
use super::Cycle;

/// Percent of confirmed bookings that arrive.
pub(super) const SHOW_SHARE: u64 = 85;
/// Days after an arrival in which the car's sampled visits are not recorded.
pub(super) const COVERED_DAYS: i64 = 120;
/// Km a day assumed for a car with a single sampled visit.
const DEFAULT_KM_PER_DAY: f64 = 40.0;

/// A confirmed booking the demo expects at its slot.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Arrival {
    pub vin: String,
    pub at: DateTime<Utc>,
    /// What the message invited to: a tyre change, else the maintenance.
    pub tires: bool,
}

impl Cycle {
    /// Expects the car of `offer_id` at the slot a `s:<offer>:<date>:<start>` button held.
    pub(super) async fn expect(&mut self, offer_id: &str, slot_button: &str) -> Result<()> {
        // `s:<offer>:<date>:<hh:mm>`, read as the booking webhook reads it.
        let mut parts = slot_button.splitn(4, ':');
        let (Some(_), Some(_), Some(date), Some(start)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(());
        };
        let (Ok(date), Ok(start)) = (
            date.parse::<NaiveDate>(),
            NaiveTime::parse_from_str(start, "%H:%M"),
        ) else {
            return Ok(());
        };
        let Some(offer) = self
            .repos
            .offers
            .get::<app::compose::OfferRecord>(offer_id)
            .await?
        else {
            return Ok(());
        };
        let Some(at) = self
            .policy
            .time_zone()
            .from_local_datetime(&date.and_time(start))
            .earliest()
        else {
            return Ok(());
        };
        self.arrivals.push(Arrival {
            tires: offer.offer.stage == domain::triggers::Stage::SeasonalTires,
            vin: offer.vin,
            at: at.to_utc(),
        });
        Ok(())
    }

    /// Records the expected arrivals before `until` that show up; returns how many came.
    pub(super) async fn arrive(
        &mut self,
        dealership: &Dealership,
        until: DateTime<Utc>,
    ) -> Result<usize> {
        let (due, later): (Vec<Arrival>, Vec<Arrival>) =
            self.arrivals.drain(..).partition(|a| a.at < until);
        self.arrivals = later;
        let mut came = 0;
        for arrival in due {
            let key = format!("{}{}", arrival.vin, arrival.at.timestamp());
            if self.roll(&key, "shows-up") >= SHOW_SHARE {
                continue;
            }
            let Some(body) = visit_at(dealership, &arrival) else {
                continue;
            };
            let closed = arrival.at + chrono::Duration::minutes(90);
            let bytes = serde_json::to_vec(&body)?;
            record_visit(
                &self.repos,
                &self.policy,
                &bytes,
                closed + chrono::Duration::minutes(5),
            )
            .await?;
            self.arrived.insert(arrival.vin.clone(), closed);
            came += 1;
        }
        Ok(came)
    }

    /// Whether a sampled visit of `vin` at `closed_at` is covered by an arrival before it.
    pub(super) fn covered(&self, vin: &str, closed_at: DateTime<Utc>) -> bool {
        self.arrived.get(vin).is_some_and(|&came| {
            closed_at >= came && closed_at < came + chrono::Duration::days(COVERED_DAYS)
        })
    }
}

/// The maintenance visit the car of `arrival` makes at its slot: its last sampled visit before
/// then (customer, car, consents as the CRM has them), the lines of its last maintenance, and
/// the odometer advanced at the car's own pace.
fn visit_at(dealership: &Dealership, arrival: &Arrival) -> Option<Value> {
    let history: Vec<&super::dealership::SampleVisit> = dealership
        .visits
        .iter()
        .filter(|v| v.body["vehicle"]["vin"].as_str() == Some(arrival.vin.as_str()))
        .filter(|v| v.closed_at.to_utc() < arrival.at)
        .collect();
    let last = history.last()?;
    let km = |v: &super::dealership::SampleVisit| v.body["odometer_km"].as_f64().unwrap_or(0.0);
    let pace = match history.as_slice() {
        [.., a, b] => {
            let days = (b.closed_at - a.closed_at).num_days().max(1) as f64;
            ((km(b) - km(a)) / days).max(1.0)
        }
        _ => DEFAULT_KM_PER_DAY,
    };
    let days = (arrival.at - last.closed_at.to_utc()).num_days().max(0) as f64;
    let mut body = last.body.clone();
    let work_order = format!(
        "{}-B{}",
        last.body["work_order_id"].as_str().unwrap_or("WO"),
        arrival.at.timestamp() % 100_000
    );
    body["work_order_id"] = work_order.into();
    body["closed_at"] = (arrival.at + chrono::Duration::minutes(90))
        .to_rfc3339()
        .into();
    body["odometer_km"] = ((km(last) + pace * days).round() as u64).into();
    // What was declined at the last visit is not declined again by this one.
    if let Some(fields) = body.as_object_mut() {
        fields.remove("recommendations");
    }
    if arrival.tires {
        body["kind"] = "tires".into();
        body["lines"] = serde_json::json!([{
            "kind": "labor", "code": "TIRE-4", "name": "Сезонная смена шин",
            "qty": "1", "price": "3200.00", "cost": "1100.00"
        }]);
        return Some(body);
    }
    body["kind"] = "maintenance".into();
    if let Some(maintenance) = history
        .iter()
        .rev()
        .find(|v| v.body["kind"].as_str() == Some("maintenance"))
    {
        body["lines"] = maintenance.body["lines"].clone();
    }
    Some(body)
}
