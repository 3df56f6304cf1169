//! The funnel of the messages sent in the period, followed wherever they went (a booking or a
//! visit after the period still counts for its message):
//!
//! - sent: the composer marked it sent (the dealer's day it went out is in the period);
//! - delivered: the messenger reported it delivered or read (a Telegram message counts as
//!   delivered once the Bot API accepted it: Telegram reports nothing later; SMS reports
//!   nothing, so an SMS counts only when answered); failed: reported failed, never delivered;
//! - read: reported read on WhatsApp, or answered in any way; an answer (a press, a booking, a
//!   reply) also makes a message delivered, whatever the messenger reported;
//! - clicked: the customer pressed «Записаться» (a held slot implies the press);
//! - held: a slot was held for it (a booking in any state);
//! - confirmed: an advisor confirmed the booking (even if it was moved, cancelled later or
//!   marked a no-show);
//! - visited: the visit it led to, as credited by the conversion rule (`crate::conversions`);
//! - no-show: its confirmed booking was marked «Не приехал»;
//! - revenue: what the credited visits were invoiced.
//!
//! Reminder → booking is held over sent; the show rate is, of the confirmed bookings whose day
//! has come by the report day, the share whose message was credited with a visit.

use std::collections::HashMap;

use chrono::NaiveDate;
use domain::triggers::Reaction;
use domain::Money;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use store::repo::BookingState;

use super::breakdown::{Breakdown, Figures, Tally};
use super::facts::Facts;
use super::share_percent;

/// The funnel of one slice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Funnel {
    pub sent: u64,
    pub delivered: u64,
    pub read: u64,
    pub failed: u64,
    pub clicked: u64,
    pub held: u64,
    pub confirmed: u64,
    pub visited: u64,
    pub no_show: u64,
    /// Confirmed bookings whose day has come by the report day: the show rate's base.
    pub bookings_due: u64,
    /// Of them, credited with a visit.
    pub shown: u64,
    /// Held over sent.
    pub booking_percent: Option<Decimal>,
    /// Shown over bookings due.
    pub show_percent: Option<Decimal>,
    /// Visited over sent.
    pub visit_percent: Option<Decimal>,
    /// What the credited visits were invoiced (their work orders' total price).
    pub revenue: Money,
}

impl Figures for Funnel {
    fn finish(&mut self) {
        self.booking_percent = share_percent(self.held, self.sent);
        self.show_percent = share_percent(self.shown, self.bookings_due);
        self.visit_percent = share_percent(self.visited, self.sent);
    }
}

/// The funnel of every message of the period, broken down (with the stage-and-rule slices).
pub fn funnel(facts: &Facts<'_>, at: NaiveDate) -> Breakdown<Funnel> {
    let revenue_of: HashMap<&str, Money> = facts
        .base
        .customers
        .iter()
        .flat_map(|c| &c.visits)
        .map(|v| (v.work_order_id.as_str(), v.revenue))
        .collect();
    let mut tally = Tally::<Funnel>::default();
    for row in &facts.offers {
        let mut tags = facts.message_tags(row);
        tags.stage_rule = true;
        let delivery = facts.deliveries.get(&row.offer_id);
        let answered = row.reactions.iter().any(|r| r.is_response()) || row.booking.is_some();
        let read = answered
            || row.reactions.contains(&Reaction::Read)
            || delivery.is_some_and(|d| d.read());
        let delivered = read || delivery.is_some_and(|d| d.delivered());
        let failed = !delivered && delivery.is_some_and(|d| d.failed());
        let state = row.booking.as_ref().map(|b| b.state);
        let confirmed = row.reactions.contains(&Reaction::Booked)
            || matches!(state, Some(BookingState::Confirmed | BookingState::NoShow));
        let clicked = row.reactions.contains(&Reaction::Clicked) || row.booking.is_some();
        let credit = facts.credits.get(&row.offer_id);
        let visited = credit.is_some();
        let revenue = credit
            .and_then(|c| revenue_of.get(c.work_order_id.as_str()))
            .copied()
            .unwrap_or(Money::ZERO);
        let due = confirmed && row.booking.as_ref().is_some_and(|b| b.date <= at);
        tally.add(&tags, |f| {
            f.sent += 1;
            f.delivered += u64::from(delivered);
            f.read += u64::from(read);
            f.failed += u64::from(failed);
            f.clicked += u64::from(clicked);
            f.held += u64::from(row.booking.is_some());
            f.confirmed += u64::from(confirmed);
            f.visited += u64::from(visited);
            f.no_show += u64::from(state == Some(BookingState::NoShow));
            f.bookings_due += u64::from(due);
            f.shown += u64::from(due && visited);
            f.revenue = f.revenue + revenue;
        });
    }
    tally.finish()
}
