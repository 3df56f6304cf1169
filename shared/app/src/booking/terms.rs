//! What was agreed when a slot was held: the offer's price if it was still valid, its perks,
//! the gift if booked within its window, and the mid-week bonus only for a slot on one of the
//! offer's bonus days. Stored with the booking; the confirmation names exactly this.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use domain::money::Money;
use domain::pricing::Offer;
use domain::render::money_ru;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The gift an offer promised and whether the booking came in its window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GiftTerms {
    pub name: String,
    pub book_by: DateTime<Utc>,
    pub applied: bool,
}

/// The terms of a booking, fixed when the slot is held.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BookingTerms {
    /// The offer's end of validity, when the booking came from a priced offer.
    pub offer_expires_at: Option<DateTime<Utc>>,
    /// False when the offer had expired by the hold: nothing of it applies.
    pub offer_applied: bool,
    /// The offer's price and labour discount, when applied.
    pub final_price: Option<Money>,
    pub labor_discount_percent: Option<Decimal>,
    /// Perks (not the gift) that come with the booking.
    pub perks: Vec<String>,
    pub gift: Option<GiftTerms>,
    /// Bonus points the booking earns on confirmation (0 off the bonus days).
    pub bonus_points: u32,
}

/// The terms of holding a slot on `date` at `now` for the priced offer (none for a reminder).
pub fn agree(offer: Option<&Offer>, date: NaiveDate, now: DateTime<Utc>) -> BookingTerms {
    let Some(offer) = offer else {
        return BookingTerms {
            offer_applied: true,
            ..BookingTerms::default()
        };
    };
    if now > offer.expires_at {
        return BookingTerms {
            offer_expires_at: Some(offer.expires_at),
            ..BookingTerms::default()
        };
    }
    let gift = offer
        .perks
        .iter()
        .find_map(|p| Some((p, p.expires_at?)))
        .map(|(p, book_by)| GiftTerms {
            name: p.name.clone(),
            book_by,
            applied: now <= book_by,
        });
    let bonus_day = crate::incentives::is_bonus_day(offer, date);
    BookingTerms {
        offer_expires_at: Some(offer.expires_at),
        offer_applied: true,
        final_price: Some(offer.final_price),
        labor_discount_percent: Some(offer.labor_discount_percent),
        perks: offer
            .perks
            .iter()
            .filter(|p| p.expires_at.is_none())
            .map(|p| p.name.clone())
            .collect(),
        gift,
        bonus_points: if bonus_day {
            offer.weekday_bonus_points
        } else {
            0
        },
    }
}

fn day_ru(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%d.%m.%Y").to_string()
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_lowercase().chain(chars).collect::<String>()
    })
}

/// What was agreed, in sentences for the customer; `confirmed` says the points are granted.
pub fn describe(terms: &BookingTerms, tz: Tz, confirmed: bool) -> Vec<String> {
    let mut out = Vec::new();
    if !terms.offer_applied {
        if let Some(until) = terms.offer_expires_at {
            out.push(format!(
                "Срок предложения истёк {}: скидка и подарки не действуют, работы — по обычной цене.",
                day_ru(until, tz)
            ));
        }
        return out;
    }
    if let Some(price) = terms.final_price {
        match terms.labor_discount_percent.filter(|d| !d.is_zero()) {
            Some(d) => out.push(format!(
                "Стоимость по предложению — {} (скидка {} % на работы).",
                money_ru(price),
                d.normalize().to_string().replace('.', ",")
            )),
            None => out.push(format!("Стоимость по предложению — {}.", money_ru(price))),
        }
    }
    if !terms.perks.is_empty() {
        let names: Vec<String> = terms.perks.iter().map(|p| lower_first(p)).collect();
        out.push(format!("Для вас: {}.", names.join(", ")));
    }
    if let Some(gift) = &terms.gift {
        if gift.applied {
            out.push(format!("Подарок: {}.", lower_first(&gift.name)));
        } else {
            out.push(format!(
                "{} полагался при записи до {} и не применяется.",
                gift.name,
                day_ru(gift.book_by, tz)
            ));
        }
    }
    if terms.bonus_points > 0 {
        out.push(if confirmed {
            format!("Начислили {} бонусных баллов.", terms.bonus_points)
        } else {
            format!(
                "За запись на этот день — {} бонусных баллов после подтверждения.",
                terms.bonus_points
            )
        });
    }
    out
}
