//! The stakeholders' defaults (see `../shared/DESIGN.md`, "Policy defaults"); `policy.toml` at the
//! repository root spells out the same values.

use chrono::{NaiveTime, Weekday, WeekdaySet};

use super::{
    AbcBasis, AgeBands, ContactLimits, Dealer, Gift, MonthDay, OfferRule, Package, Percent, Perk,
    Policy, PricingRules, ScheduleRules, SeasonWindow, SegmentRules, Thresholds, TradeInRules,
    TriggerTimings,
};
use super::{BonusMode, DayHours, Workshop};
use crate::forecast::Schedule;
use crate::money::Money;
use crate::status::{AgeBand, CustomerStatus};
use crate::values::{LineKind, Quantity, WorkOrderLine};

fn month_day(month: u32, day: u32) -> MonthDay {
    MonthDay { month, day }
}

fn time(hour: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or(NaiveTime::MIN)
}

fn hours(open: u32, close: u32) -> Option<DayHours> {
    Some(DayHours {
        open: time(open),
        close: time(close),
        lifts: WORKSHOP_LIFTS,
    })
}

const WORKSHOP_LIFTS: u32 = 4;

fn workshop() -> Workshop {
    let weekday = hours(9, 20);
    let sat = hours(10, 16);
    Workshop {
        lifts: WORKSHOP_LIFTS,
        slot_minutes: 60,
        days_ahead: 7,
        hold_minutes: 30,
        hours: [weekday, weekday, weekday, weekday, weekday, sat, None],
        production_calendar: true,
        closed_days: Vec::new(),
    }
}

fn perk(id: &str, name: &str) -> Perk {
    Perk {
        id: id.to_owned(),
        name: name.to_owned(),
    }
}

fn line(
    kind: LineKind,
    code: &str,
    name: &str,
    qty: &str,
    price: &str,
    cost: &str,
) -> WorkOrderLine {
    let qty = Quantity::parse(qty).expect("default package quantity is valid");
    let price = Money::parse(price).expect("default package price is valid");
    let cost = Money::parse(cost).expect("default package cost is valid");
    WorkOrderLine::parse(kind, code, name, qty, price, cost).expect("default package line is valid")
}

fn rule(id: &str, bands: &[AgeBand], statuses: &[CustomerStatus]) -> OfferRule {
    OfferRule {
        id: id.to_owned(),
        age_bands: bands.to_vec(),
        statuses: statuses.to_vec(),
        labor_discount: Percent::ZERO,
        package: false,
        perks: Vec::new(),
        gift: None,
    }
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            dealer: Dealer {
                time_zone: chrono_tz::Europe::Moscow,
                name: "Автодрайв".to_owned(),
                address: "Москва, Дмитровское шоссе, 163".to_owned(),
            },
            schedule: ScheduleRules {
                default: Schedule {
                    km: 15_000,
                    months: 12,
                },
                models: Vec::new(),
            },
            age_bands: AgeBands {
                middle_from_years: 3,
                old_from_years: 5,
            },
            thresholds: Thresholds {
                sleeping_after_overdue_days: 30,
                lost_after_overdue_days: 180,
                csat_recovery_days: 30,
                critical_overdue_months: 2,
                warranty_window_days: 60,
                csat_alarm_max: 6,
                age_line_window_days: 30,
            },
            triggers: TriggerTimings {
                ask_odometer_days_before_due: 45,
                ask_odometer_min_interval_days: 30,
                soft_reminder_days_before_due: 30,
                personal_offer_days_before_due: 7,
                reaction_wait_days: 3,
                satisfaction_after_days: 3,
                satisfaction_window_days: 7,
                declined_work_days: [3, 10, 30],
                declined_work_window_days: 7,
                seasonal_tires: vec![
                    SeasonWindow {
                        name: "spring".to_owned(),
                        from: month_day(3, 20),
                        to: month_day(4, 30),
                    },
                    SeasonWindow {
                        name: "autumn".to_owned(),
                        from: month_day(10, 1),
                        to: month_day(11, 15),
                    },
                ],
            },
            contact: ContactLimits {
                quiet_from: time(21),
                quiet_to: time(9),
                marketing_min_gap_days: 7,
                control_group: Percent::whole(10),
            },
            pricing: PricingRules {
                margin_floor: Percent::whole(25),
                offer_valid_days: 14,
                weekday_bonus_points: 500,
                weekday_bonus_days: WeekdaySet::from_array([
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                ]),
                bonus_mode: BonusMode::Weekdays,
                load_bonus_days: 3,
            },
            segments: SegmentRules {
                abc_basis: AbcBasis::Revenue,
                abc_a: Percent::whole(75),
                abc_b: Percent::whole(20),
            },
            trade_in: TradeInRules {
                min_age_years: 3,
                warranty_ended_within_days: 60,
                repeated_repairs: 3,
                repeated_repairs_months: 12,
                low_rating_max: 6,
                declined_estimate_min_rub: 50_000,
            },
            perks: vec![
                perk("free_check", "Бесплатная проверка автомобиля"),
                perk("taxi_home", "Такси до дома"),
                perk("car_wash", "Мойка автомобиля"),
                perk("oil_gift", "Моторное масло в подарок"),
            ],
            packages: vec![Package {
                id: "maintenance-basic".to_owned(),
                name: "ТО по фиксированной цене: масло, фильтры и работа".to_owned(),
                make: None,
                model: None,
                price: Money::from_roubles(9_900),
                lines: vec![
                    line(
                        LineKind::Labor,
                        "TO-LABOR",
                        "Работы по ТО",
                        "1",
                        "4500.00",
                        "1800.00",
                    ),
                    line(
                        LineKind::Part,
                        "OIL-5W30",
                        "Масло моторное 5W-30",
                        "4.5",
                        "900.00",
                        "600.00",
                    ),
                    line(
                        LineKind::Part,
                        "FILTER-OIL",
                        "Фильтр масляный",
                        "1",
                        "1200.00",
                        "950.00",
                    ),
                    line(
                        LineKind::Part,
                        "FILTER-AIR",
                        "Фильтр воздушный",
                        "1",
                        "1500.00",
                        "1000.00",
                    ),
                ],
            }],
            offers: vec![
                OfferRule {
                    perks: ids(&["free_check", "taxi_home", "car_wash"]),
                    ..rule("warranty-care", &[AgeBand::Warranty], &[])
                },
                OfferRule {
                    perks: ids(&["car_wash"]),
                    ..rule("loyal-perks", &[], &[CustomerStatus::Loyal])
                },
                OfferRule {
                    labor_discount: Percent::whole(20),
                    gift: Some(Gift {
                        perk: "oil_gift".to_owned(),
                        book_within_days: 7,
                    }),
                    ..rule(
                        "wake-up-3-5",
                        &[AgeBand::Middle],
                        &[CustomerStatus::Sleeping, CustomerStatus::Lost],
                    )
                },
                OfferRule {
                    package: true,
                    ..rule("risk-package", &[AgeBand::Old], &[])
                },
                rule("standard", &[], &[]),
            ],
            workshop: workshop(),
        }
    }
}
