//! The buttons of a booking after its hold, and their callback data:
//! `<kind>:<booking id>:<attempt>`, with `:<YYYY-MM-DD>:<HH:MM>` for a time; at most 44 bytes
//! for a booking id of 17, inside Telegram's 64. The attempt names the hold the button was made
//! for, so a button from an older message (the booking moved, was cancelled or held again)
//! refuses itself.

use chrono::{NaiveDate, NaiveTime};

use super::UpdateReplies;
use crate::ports::Button;

/// What a button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The customer: «Перенести» (a picker of other times).
    Reschedule,
    /// The customer picked a new time for the booking.
    RescheduleTo,
    /// The customer: «Отменить».
    Cancel,
    /// The customer picked one of the times the advisor proposed.
    TakeAlternative,
    /// The advisor: «Другое время» (a picker to propose up to three times).
    OtherTime,
    /// The advisor picked (or un-picked) a time to propose.
    Propose,
    /// The advisor sends the times picked to the customer.
    SendProposal,
    /// The advisor: «Отменить».
    AdvisorCancel,
    /// The advisor: «Не приехал».
    NoShow,
}

const KINDS: [(Kind, &str, bool); 9] = [
    (Kind::Reschedule, "rs:", false),
    (Kind::RescheduleTo, "rt:", true),
    (Kind::Cancel, "cx:", false),
    (Kind::TakeAlternative, "ak:", true),
    (Kind::OtherTime, "ao:", false),
    (Kind::Propose, "ap:", true),
    (Kind::SendProposal, "as:", false),
    (Kind::AdvisorCancel, "ax:", false),
    (Kind::NoShow, "ns:", false),
];

impl Kind {
    fn prefix(self) -> &'static str {
        KINDS
            .iter()
            .find(|(k, _, _)| *k == self)
            .map_or("", |(_, p, _)| p)
    }

    /// Pressed in the advisors' chat only.
    pub fn advisors_only(self) -> bool {
        matches!(
            self,
            Kind::OtherTime
                | Kind::Propose
                | Kind::SendProposal
                | Kind::AdvisorCancel
                | Kind::NoShow
        )
    }
}

/// A pressed button of a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pressed {
    pub booking_id: String,
    pub attempt: u32,
    /// The time the button names (`HH:MM`), for the kinds that carry one.
    pub slot: Option<(NaiveDate, String)>,
}

/// `None` when `data` is no booking button of these kinds; `Some(Err)` when it is one but
/// unreadable.
pub fn parse(data: &str) -> Option<Result<(Kind, Pressed), ()>> {
    let (kind, rest, with_slot) = KINDS
        .iter()
        .find_map(|(kind, prefix, slot)| Some((*kind, data.strip_prefix(prefix)?, *slot)))?;
    Some(
        read(rest, with_slot)
            .map(|pressed| (kind, pressed))
            .ok_or(()),
    )
}

fn read(rest: &str, with_slot: bool) -> Option<Pressed> {
    let mut parts = rest.splitn(4, ':');
    let booking_id = parts.next().filter(|id| {
        !id.is_empty() && id.len() <= 40 && id.bytes().all(|b| b.is_ascii_alphanumeric())
    })?;
    let attempt: u32 = parts.next()?.parse().ok()?;
    let slot = if with_slot {
        let date: NaiveDate = parts.next()?.parse().ok()?;
        let start = parts.next()?;
        NaiveTime::parse_from_str(start, "%H:%M").ok()?;
        if start.len() != 5 {
            return None;
        }
        Some((date, start.to_owned()))
    } else {
        None
    };
    if !with_slot && parts.next().is_some() {
        return None;
    }
    Some(Pressed {
        booking_id: booking_id.to_owned(),
        attempt,
        slot,
    })
}

/// A button of `kind` for attempt `attempt` of a booking.
pub fn button(text: &str, kind: Kind, booking_id: &str, attempt: u32) -> Button {
    Button {
        text: text.into(),
        callback_data: format!("{}{booking_id}:{attempt}", kind.prefix()),
    }
}

/// A button of `kind` naming a time.
pub fn slot_button(
    text: &str,
    kind: Kind,
    booking_id: &str,
    attempt: u32,
    date: NaiveDate,
    start: &str,
) -> Button {
    Button {
        text: text.into(),
        callback_data: format!("{}{booking_id}:{attempt}:{date}:{start}", kind.prefix()),
    }
}

/// «Перенести» and «Отменить» under a message to the customer about a confirmed booking.
pub fn customer_row(booking_id: &str, attempt: u32) -> Vec<Button> {
    vec![
        button("Перенести", Kind::Reschedule, booking_id, attempt),
        button("Отменить", Kind::Cancel, booking_id, attempt),
    ]
}

/// «Не приехал» and «Отменить» under the advisors' message about a confirmed booking.
pub fn confirmed_row(booking_id: &str, attempt: u32) -> Vec<Button> {
    vec![
        button("Не приехал", Kind::NoShow, booking_id, attempt),
        button("Отменить", Kind::AdvisorCancel, booking_id, attempt),
    ]
}

/// The replies with `text` as the answer to the button press (shown by Telegram for a moment);
/// the dispatch fills in the press's id.
pub fn with_toast(mut replies: UpdateReplies, text: impl Into<String>) -> UpdateReplies {
    replies.callback_answer = Some((String::new(), text.into()));
    replies
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 11, 2).unwrap()
    }

    #[test]
    fn every_button_reads_back_and_fits_telegrams_64_bytes() {
        let id = "b0123456789abcdef";
        for (kind, _, with_slot) in KINDS {
            let b = if with_slot {
                slot_button("x", kind, id, 123, day(), "10:00")
            } else {
                button("x", kind, id, 123)
            };
            assert!(b.callback_data.len() <= 64, "{}", b.callback_data);
            let (read_kind, pressed) = parse(&b.callback_data).unwrap().unwrap();
            assert_eq!(read_kind, kind);
            assert_eq!((pressed.booking_id.as_str(), pressed.attempt), (id, 123));
            assert_eq!(pressed.slot, with_slot.then(|| (day(), "10:00".to_owned())));
        }
    }

    #[test]
    fn other_data_is_not_a_booking_button_and_broken_data_is_unreadable() {
        for data in ["book:o1", "s:o1:2027-11-02:10:00", "c:b1:1", "", "rs"] {
            assert_eq!(parse(data), None, "{data:?}");
        }
        for data in [
            "rs:",
            "rs:b1",
            "rs:b1:x",
            "rs:b1:1:extra",
            "rs:b-1:1",
            "rt:b1:1",
            "rt:b1:1:2027-13-01:10:00",
            "rt:b1:1:2027-11-02:25:00",
            "rt:b1:1:2027-11-02:9:00",
        ] {
            assert_eq!(parse(data), Some(Err(())), "{data:?}");
        }
    }
}
