use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::status::{age_band, customer_status, StatusFacts};

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn msk(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_str(&format!("{text} +03:00"), "%Y-%m-%d %H:%M %z")
        .unwrap()
        .with_timezone(&Utc)
}

fn money(text: &str) -> Money {
    Money::parse(text).unwrap()
}

fn line(kind: LineKind, code: &str, qty: &str, price: &str, cost: &str) -> WorkOrderLine {
    let qty = Quantity::parse(qty).unwrap();
    WorkOrderLine::parse(kind, code, code, qty, money(price), money(cost)).unwrap()
}

/// The work order of the webhook contract's example: ТО-6 labour and an oil filter.
fn last_maintenance() -> Vec<WorkOrderLine> {
    vec![
        line(LineKind::Labor, "TO-60", "1", "6500.00", "2600.00"),
        line(LineKind::Part, "04152-YZZA6", "1", "1200.00", "950.00"),
    ]
}

fn offer(policy: &Policy, status: CustomerStatus, band: AgeBand, lines: &[WorkOrderLine]) -> Offer {
    let input = OfferInput {
        status,
        age_band: band,
        make: "Toyota",
        model: "Camry",
        last_maintenance: lines,
        at: msk("2024-12-11 12:00"),
    };
    price_offer(policy, &input).unwrap()
}

fn perk_ids(o: &Offer) -> Vec<&str> {
    o.perks.iter().map(|p| p.id.as_str()).collect()
}

#[test]
fn a_car_under_warranty_gets_no_discount_but_a_free_check_and_a_taxi_home() {
    let policy = Policy::default();
    let band = age_band(day("2023-05-20"), day("2024-12-11"), policy.age_bands());
    assert_eq!(band, AgeBand::Warranty);
    let o = offer(&policy, CustomerStatus::Sleeping, band, &last_maintenance());
    assert_eq!(o.labor_discount_percent, Decimal::ZERO);
    assert_eq!(o.customer_saving, Money::ZERO);
    assert_eq!(o.final_price, money("7700.00"));
    assert_eq!(perk_ids(&o), ["free_check", "taxi_home", "car_wash"]);
    assert_eq!(o.rule_ids, ["warranty-care", WEEKDAY_BONUS_RULE]);
}

/// The status of a car serviced on `visits` (12-month schedule, due a year after the last one).
fn status_on(visits: &[&str], today: NaiveDate) -> CustomerStatus {
    let days: Vec<NaiveDate> = visits.iter().map(|v| day(v)).collect();
    let facts = StatusFacts {
        visit_days: &days,
        due: None,
        interval_months: 12,
        opted_out: false,
    };
    customer_status(&facts, today, Policy::default().thresholds())
}

#[test]
fn a_3_to_5_year_old_car_two_months_past_due_is_sleeping_and_gets_20_percent_off_labour() {
    let policy = Policy::default();
    let today = day("2024-12-11");
    let status = status_on(&["2022-10-05", "2023-10-11"], today);
    assert_eq!(status, CustomerStatus::Sleeping);
    let band = age_band(day("2020-06-01"), today, policy.age_bands());
    assert_eq!(band, AgeBand::Middle);
    let o = offer(&policy, status, band, &last_maintenance());
    assert_eq!(o.labor_discount_percent, Decimal::from(20));
    assert_eq!(o.lines[0].discount, money("1300.00"));
    assert_eq!(o.customer_saving, money("1300.00"));
    assert_eq!(o.final_price, money("6400.00"));
    assert_eq!(o.lines_from, LinesFrom::LastMaintenance);
    assert_eq!(o.rule_ids[0], "wake-up-3-5");
}

#[test]
fn a_3_to_5_year_old_car_serviced_every_12_months_gets_no_discount_at_its_personal_offer() {
    let policy = Policy::default();
    // The personal offer goes out a week before the due date (2024-12-18): eight months and
    // more after the last visit, which the month-count rule called sleeping.
    let today = day("2024-12-11");
    let status = status_on(&["2022-12-15", "2023-12-18"], today);
    assert_eq!(status, CustomerStatus::Loyal);
    let band = age_band(day("2020-06-01"), today, policy.age_bands());
    let o = offer(&policy, status, band, &last_maintenance());
    assert_eq!(o.labor_discount_percent, Decimal::ZERO);
    assert_eq!(o.customer_saving, Money::ZERO);
    assert_eq!(o.rule_ids[0], "loyal-perks");
}

#[test]
fn a_car_on_a_six_month_schedule_that_skipped_one_service_is_sleeping_and_gets_the_discount() {
    let policy = Policy::default();
    // Due on 2025-01-10, skipped; six weeks later.
    let today = day("2025-02-20");
    let days = [day("2024-01-10"), day("2024-07-10")];
    let facts = StatusFacts {
        visit_days: &days,
        due: None,
        interval_months: 6,
        opted_out: false,
    };
    let status = customer_status(&facts, today, policy.thresholds());
    assert_eq!(status, CustomerStatus::Sleeping);
    let band = age_band(day("2020-06-01"), today, policy.age_bands());
    let o = offer(&policy, status, band, &last_maintenance());
    assert_eq!(o.labor_discount_percent, Decimal::from(20));
}

#[test]
fn a_5_plus_year_old_car_gets_the_maintenance_package_price() {
    let policy = Policy::default();
    let band = age_band(day("2018-03-01"), day("2024-12-11"), policy.age_bands());
    assert_eq!(band, AgeBand::Old);
    let o = offer(&policy, CustomerStatus::Sleeping, band, &last_maintenance());
    assert_eq!(o.package_price, Some(money("9900.00")));
    assert_eq!(o.final_price, money("9900.00"));
    assert_eq!(o.list_price, money("11250.00"));
    assert_eq!(o.customer_saving, money("1350.00"));
    assert_eq!(o.labor_discount_percent, Decimal::from(30));
    assert_eq!(
        o.lines_from,
        LinesFrom::Package {
            id: "maintenance-basic".into()
        }
    );
    assert_eq!(o.rule_ids[0], "risk-package");
}

#[test]
fn a_loyal_customer_gets_perks_and_no_discount() {
    let policy = Policy::default();
    for band in [AgeBand::Middle, AgeBand::Old] {
        let o = offer(&policy, CustomerStatus::Loyal, band, &last_maintenance());
        assert_eq!(o.customer_saving, Money::ZERO, "{band}");
        assert_eq!(o.labor_discount_percent, Decimal::ZERO);
        assert_eq!(o.package_price, None);
        assert_eq!(perk_ids(&o), ["car_wash"]);
    }
}

#[test]
fn booking_on_tuesday_to_thursday_adds_500_bonus_points() {
    let policy = Policy::default();
    let o = offer(
        &policy,
        CustomerStatus::Loyal,
        AgeBand::Middle,
        &last_maintenance(),
    );
    assert_eq!(o.weekday_bonus_points, 500);
    assert_eq!(o.weekday_bonus_days, ["tue", "wed", "thu"]);
    assert!(o.rule_ids.iter().any(|r| r == WEEKDAY_BONUS_RULE));
    let week = [
        "2024-12-09",
        "2024-12-10",
        "2024-12-11",
        "2024-12-12",
        "2024-12-13",
        "2024-12-14",
        "2024-12-15",
    ];
    let points: Vec<u32> = week
        .iter()
        .map(|d| weekday_bonus(&policy, day(d)))
        .collect();
    assert_eq!(points, [0, 500, 500, 500, 0, 0, 0]);
}

#[test]
fn parts_are_never_discounted() {
    let policy =
        Policy::from_toml("[[offers]]\nid = \"all\"\nlabor_discount_percent = 100\n").unwrap();
    let lines = vec![
        line(LineKind::Part, "OIL", "4.5", "900.00", "100.00"),
        line(LineKind::Labor, "TO", "1", "5000.00", "100.00"),
        line(LineKind::Part, "FILTER", "1", "1200.00", "100.00"),
    ];
    let o = offer(&policy, CustomerStatus::Lost, AgeBand::Middle, &lines);
    assert_eq!(o.parts_discount, Money::ZERO);
    for l in o.lines.iter().filter(|l| l.kind == LineKind::Part) {
        assert_eq!(
            (l.discount, l.price),
            (Money::ZERO, l.list_price),
            "{}",
            l.code
        );
    }
    assert!(o.lines[1].discount > Money::ZERO);
}

#[test]
fn the_margin_floor_shrinks_the_discount_and_the_offer_says_why() {
    let policy = Policy::default();
    let lines = vec![
        line(LineKind::Labor, "TO", "1", "4000.00", "2200.00"),
        line(LineKind::Part, "KIT", "1", "6000.00", "5000.00"),
    ];
    let o = offer(&policy, CustomerStatus::Sleeping, AgeBand::Middle, &lines);
    assert_eq!(o.margin_before.percent, Decimal::from(28));
    assert_eq!(o.final_price, money("9600.00"));
    assert_eq!(
        o.margin_after,
        Margin {
            amount: Decimal::new(240_000, 2),
            percent: Decimal::from(25)
        }
    );
    assert_eq!(o.labor_discount_percent, Decimal::from(10));
    assert_eq!(
        o.rule_ids,
        ["wake-up-3-5", MARGIN_FLOOR_RULE, WEEKDAY_BONUS_RULE]
    );
    assert_eq!(
        o.adjustments,
        [Adjustment::MarginFloor {
            wanted_percent: Decimal::from(20),
            granted_percent: Decimal::from(10),
            floor_percent: Percent::whole(25),
        }]
    );
}

#[test]
fn a_shrunk_discount_is_a_whole_percent_of_labour_and_still_holds_the_floor() {
    let policy = Policy::default();
    let lines = vec![
        line(LineKind::Labor, "TO", "1", "4000.00", "2200.00"),
        line(LineKind::Part, "KIT", "1", "6000.00", "4990.00"),
    ];
    let o = offer(&policy, CustomerStatus::Sleeping, AgeBand::Middle, &lines);
    assert_eq!(o.labor_discount_percent, Decimal::from(10));
    assert_eq!(o.final_price, money("9600.00"));
    assert!(o.margin_after.percent >= Decimal::from(25), "{o:?}");
    assert!(matches!(
        o.adjustments[..],
        [Adjustment::MarginFloor { .. }]
    ));
}

#[test]
fn when_even_the_list_price_is_below_the_margin_floor_there_is_no_discount() {
    let policy = Policy::default();
    let lines = vec![
        line(LineKind::Labor, "TO", "1", "1000.00", "900.00"),
        line(LineKind::Part, "KIT", "1", "1000.00", "900.00"),
    ];
    let o = offer(&policy, CustomerStatus::Sleeping, AgeBand::Middle, &lines);
    assert_eq!(o.customer_saving, Money::ZERO);
    assert_eq!(o.margin_before.percent, Decimal::from(10));
    assert_eq!(o.margin_after, o.margin_before);
    assert!(matches!(
        o.adjustments[..],
        [Adjustment::MarginFloor { .. }]
    ));
}

#[test]
fn a_wake_up_offer_carries_a_gift_for_booking_within_7_days_and_expires_in_14() {
    let policy = Policy::default();
    let o = offer(
        &policy,
        CustomerStatus::Lost,
        AgeBand::Middle,
        &last_maintenance(),
    );
    let gift = o.perks.iter().find(|p| p.id == "oil_gift").unwrap();
    assert_eq!(gift.name, "Моторное масло в подарок");
    assert_eq!(
        gift.expires_at,
        Some(msk("2024-12-18 23:59") + chrono::Duration::seconds(59))
    );
    assert_eq!(
        o.expires_at,
        msk("2024-12-25 23:59") + chrono::Duration::seconds(59)
    );
}

#[test]
fn a_package_for_the_model_is_the_proposed_work_order_even_at_list_price() {
    let policy = Policy::from_toml(
        r#"
[[packages]]
id = "camry"
name = "ТО Camry"
make = "Toyota"
model = "Camry"
price = "7500.00"
lines = [
  { kind = "labor", code = "TO-CAMRY", name = "ТО Camry", qty = "1", price = "7000.00", cost = "2800.00" },
  { kind = "part", code = "FILTER", name = "Фильтр", qty = "1", price = "1000.00", cost = "700.00" },
]
"#,
    )
    .unwrap();
    let o = offer(
        &policy,
        CustomerStatus::New,
        AgeBand::Middle,
        &last_maintenance(),
    );
    assert_eq!(o.lines_from, LinesFrom::Package { id: "camry".into() });
    assert_eq!((o.final_price, o.package_price), (money("8000.00"), None));
}

#[test]
fn without_a_package_or_a_maintenance_on_record_there_is_nothing_to_price() {
    let policy = Policy::from_toml("packages = []\n[[offers]]\nid = \"any\"\n").unwrap();
    let input = OfferInput {
        status: CustomerStatus::New,
        age_band: AgeBand::Middle,
        make: "Kia",
        model: "Rio",
        last_maintenance: &[],
        at: msk("2024-12-11 12:00"),
    };
    assert_eq!(
        price_offer(&policy, &input),
        Err(PricingError::NothingToPrice)
    );
}

#[test]
fn a_package_rule_without_a_package_for_the_car_is_priced_at_list_and_says_so() {
    let policy = Policy::from_toml(
        r#"
[[packages]]
id = "kia"
name = "ТО Kia"
make = "Kia"
price = "1000.00"
lines = [{ kind = "labor", code = "TO", name = "ТО", qty = "1", price = "1500.00", cost = "100.00" }]

[[offers]]
id = "pkg"
package = true
"#,
    )
    .unwrap();
    let o = offer(
        &policy,
        CustomerStatus::New,
        AgeBand::Old,
        &last_maintenance(),
    );
    assert_eq!(o.adjustments, [Adjustment::NoPackageForCar]);
    assert_eq!(o.customer_saving, Money::ZERO);
    assert_eq!(o.lines_from, LinesFrom::LastMaintenance);
}

prop_compose! {
    fn any_line()(
        labor in any::<bool>(),
        qty_tenths in 1u32..50,
        price_kopecks in 0u64..2_000_000,
        cost_share in 0u64..150,
    ) -> WorkOrderLine {
        let kind = if labor { LineKind::Labor } else { LineKind::Part };
        let qty = Quantity::from_decimal(Decimal::new(i64::from(qty_tenths), 1)).unwrap();
        let price = Money::from_kopecks(price_kopecks);
        let cost = Money::from_kopecks(price_kopecks * cost_share / 100);
        WorkOrderLine::parse(kind, "L-1", "Строка", qty, price, cost).unwrap()
    }
}

prop_compose! {
    fn any_policy()(floor in 0u32..90, discount in 0u32..=100, frac in 0u32..100) -> Policy {
        Policy::from_toml(&format!(
            "[pricing]\nmargin_floor_percent = {floor}.{frac:02}\n[[offers]]\nid = \"x\"\nlabor_discount_percent = {discount}\n"
        ))
        .unwrap()
    }
}

fn any_status() -> impl Strategy<Value = CustomerStatus> {
    proptest::sample::select(CustomerStatus::ALL.to_vec())
}

fn any_band() -> impl Strategy<Value = AgeBand> {
    proptest::sample::select(AgeBand::ALL.to_vec())
}

fn price_any(
    policy: &Policy,
    status: CustomerStatus,
    band: AgeBand,
    lines: &[WorkOrderLine],
) -> Offer {
    let input = OfferInput {
        status,
        age_band: band,
        make: "Lada",
        model: "Vesta",
        last_maintenance: lines,
        at: msk("2024-12-11 12:00"),
    };
    price_offer(policy, &input).unwrap()
}

proptest! {
    #[test]
    fn no_part_is_ever_discounted(
        policy in prop_oneof![Just(Policy::default()), any_policy()],
        lines in proptest::collection::vec(any_line(), 1..8),
        status in any_status(),
        band in any_band(),
    ) {
        let o = price_any(&policy, status, band, &lines);
        prop_assert_eq!(o.parts_discount, Money::ZERO);
        for l in &o.lines {
            if l.kind == LineKind::Part {
                prop_assert_eq!(l.discount, Money::ZERO);
                prop_assert_eq!(l.price, l.list_price);
            }
        }
    }

    #[test]
    fn the_margin_floor_always_holds_when_a_discount_is_given(
        policy in prop_oneof![Just(Policy::default()), any_policy()],
        lines in proptest::collection::vec(any_line(), 1..8),
        status in any_status(),
        band in any_band(),
    ) {
        let o = price_any(&policy, status, band, &lines);
        if o.customer_saving > Money::ZERO {
            let price = o.final_price.amount();
            let base = match &o.lines_from {
                LinesFrom::LastMaintenance | LinesFrom::DeclinedWork => lines.clone(),
                LinesFrom::Package { id } => {
                    policy.packages().iter().find(|p| &p.id == id).unwrap().lines.clone()
                }
            };
            let cost: Decimal = base.iter().map(|l| l.total_cost().amount()).sum();
            let floor = policy.pricing().margin_floor.fraction();
            prop_assert!(price - cost >= floor * price, "price {} cost {} floor {}", price, cost, floor);
            prop_assert!(o.margin_after.percent >= policy.pricing().margin_floor.value());
        }
    }

    #[test]
    fn the_lines_add_up_to_the_offer(
        policy in prop_oneof![Just(Policy::default()), any_policy()],
        lines in proptest::collection::vec(any_line(), 1..8),
        status in any_status(),
        band in any_band(),
    ) {
        let o = price_any(&policy, status, band, &lines);
        let line_prices: Money = o.lines.iter().map(|l| l.price).sum();
        let discounts: Money = o.lines.iter().map(|l| l.discount).sum();
        prop_assert_eq!(line_prices, o.final_price);
        prop_assert_eq!(discounts, o.customer_saving);
        prop_assert_eq!(o.list_price, o.final_price + o.customer_saving);
        for l in &o.lines {
            prop_assert!(l.discount <= l.list_price);
        }
    }
}

fn brake_pads() -> Recommendation {
    Recommendation {
        code: "BRK-F".into(),
        name: "Замена передних тормозных колодок".into(),
        urgency: crate::values::Urgency::Safety,
        labor_estimate: money("2400.00"),
        parts_estimate: money("5600.00"),
    }
}

#[test]
fn declined_work_is_costed_at_the_recommending_visits_cost_shares() {
    let pads = brake_pads();
    let lines = declined_work_lines(&[&pads], &last_maintenance());
    assert_eq!(lines.len(), 2);
    // Labour there cost 2600 of 6500 (40 %), the filter 950 of 1200.
    assert_eq!(
        (lines[0].kind, lines[0].total_cost()),
        (LineKind::Labor, money("960.00"))
    );
    assert_eq!(
        (lines[1].kind, lines[1].total_cost()),
        (LineKind::Part, money("4433.33"))
    );
    assert_eq!(lines[1].name, "Запчасти: Замена передних тормозных колодок");
    // A name at the contract's limit keeps its parts line, the name cut to fit.
    let long = Recommendation {
        name: "к".repeat(200),
        ..brake_pads()
    };
    let lines = declined_work_lines(&[&long], &last_maintenance());
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[1].name.chars().count(), 200);
    assert_eq!(lines[1].total_price(), money("5600.00"));
    // Without lines of a kind the estimate is taken at cost: no room for a discount.
    let labour_only = [line(LineKind::Labor, "TO-60", "1", "6500.00", "2600.00")];
    let lines = declined_work_lines(&[&pads], &labour_only);
    assert_eq!(lines[1].total_cost(), money("5600.00"));
}

#[test]
fn declined_work_takes_the_rules_labour_discount_within_the_margin_floor() {
    let policy = Policy::default();
    let pads = brake_pads();
    let lines = declined_work_lines(&[&pads], &last_maintenance());
    let input = OfferInput {
        status: CustomerStatus::Sleeping,
        age_band: AgeBand::Middle,
        make: "Toyota",
        model: "Camry",
        last_maintenance: &[],
        at: msk("2024-12-11 12:00"),
    };
    let o = price_declined_work(&policy, &input, &lines).unwrap();
    assert_eq!(o.lines_from, LinesFrom::DeclinedWork);
    assert_eq!(o.list_price, money("8000.00"));
    assert_eq!(o.customer_saving, money("480.00"));
    assert_eq!(o.lines[1].discount, Money::ZERO);
    assert!(o.margin_after.percent >= Decimal::from(25));
    // Parts estimated at cost: the floor takes the whole discount away.
    let at_cost = declined_work_lines(&[&pads], &[]);
    let o = price_declined_work(&policy, &input, &at_cost).unwrap();
    assert_eq!(o.customer_saving, Money::ZERO);
    assert!(o.rule_ids.iter().any(|r| r == MARGIN_FLOOR_RULE));
    assert_eq!(
        price_declined_work(&policy, &input, &[]),
        Err(PricingError::NothingToPrice)
    );
}
