use chrono::{NaiveDate, Weekday};

use super::*;

const SHIPPED: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../policy.toml"));

fn errors(text: &str) -> Vec<(String, String)> {
    Policy::from_toml(text)
        .expect_err("the policy must be rejected")
        .0
        .into_iter()
        .map(|e| (e.key, e.problem))
        .collect()
}

fn keys(text: &str) -> Vec<String> {
    errors(text).into_iter().map(|(k, _)| k).collect()
}

#[test]
fn the_shipped_policy_file_equals_the_built_in_defaults() {
    let shipped = Policy::from_toml(SHIPPED).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shipped, Policy::default());
}

#[test]
fn an_empty_file_gives_the_defaults() {
    assert_eq!(Policy::from_toml("").unwrap(), Policy::default());
}

#[test]
fn the_defaults_are_the_stakeholders_numbers() {
    let p = Policy::default();
    assert_eq!(p.time_zone(), chrono_tz::Europe::Moscow);
    assert_eq!(
        p.schedules().default,
        Schedule {
            km: 15_000,
            months: 12
        }
    );
    assert_eq!(
        (
            p.age_bands().middle_from_years,
            p.age_bands().old_from_years
        ),
        (3, 5)
    );
    let t = p.thresholds();
    assert_eq!(
        (
            t.sleeping_after_overdue_days,
            t.lost_after_overdue_days,
            t.csat_recovery_days
        ),
        (30, 180, 30)
    );
    assert_eq!(
        (
            t.critical_overdue_months,
            t.warranty_window_days,
            t.csat_alarm_max
        ),
        (2, 60, 6)
    );
    let c = p.contact();
    assert_eq!(c.quiet_from, NaiveTime::from_hms_opt(21, 0, 0).unwrap());
    assert_eq!(c.quiet_to, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
    assert_eq!(
        (c.marketing_min_gap_days, c.control_group),
        (7, Percent::whole(10))
    );
    assert_eq!(p.pricing().margin_floor, Percent::whole(25));
    assert_eq!(p.pricing().weekday_bonus_points, 500);
    let days: Vec<_> = p.pricing().weekday_bonus_days.iter(Weekday::Mon).collect();
    assert_eq!(days, [Weekday::Tue, Weekday::Wed, Weekday::Thu]);
    assert_eq!(
        (p.segments().abc_a, p.segments().abc_b),
        (Percent::whole(75), Percent::whole(20))
    );
}

#[test]
fn a_value_out_of_range_is_reported_at_its_key() {
    let found = errors("[thresholds]\nlost_after_overdue_days = 0\n");
    assert_eq!(
        found,
        [(
            "thresholds.lost_after_overdue_days".to_owned(),
            "must be between 1 and 3650, got 0".to_owned()
        )]
    );
}

#[test]
fn a_value_of_the_wrong_type_is_reported_at_its_key() {
    let found = errors("[contact]\ncontrol_group_percent = \"ten\"\n");
    assert_eq!(found[0].0, "contact.control_group_percent");
    assert!(found[0].1.contains("got a string"), "{found:?}");
}

#[test]
fn an_unknown_key_is_an_error_that_lists_the_known_ones() {
    let found = errors("[pricing]\nmargin_floor = 30\n");
    assert_eq!(found[0].0, "pricing.margin_floor");
    assert!(found[0].1.contains("margin_floor_percent"), "{found:?}");
    assert_eq!(keys("colour = \"red\"\n"), ["colour"]);
}

#[test]
fn every_problem_in_a_file_is_reported_not_just_the_first() {
    let text = "[contact]\nquiet_hours_from = \"25:00\"\ncontrol_group_percent = 120\n[dealer]\ntime_zone = \"Mars/Olympus\"\n";
    let mut found = keys(text);
    found.sort();
    assert_eq!(
        found,
        [
            "contact.control_group_percent",
            "contact.quiet_hours_from",
            "dealer.time_zone"
        ]
    );
}

#[test]
fn a_file_that_is_not_toml_is_reported_with_its_line() {
    let found = errors("[pricing]\nmargin_floor_percent = = 3\n");
    assert_eq!(found.len(), 1);
    assert!(found[0].1.starts_with("line 2"), "{found:?}");
}

#[test]
fn sleeping_must_come_before_lost() {
    let text = "[thresholds]\nsleeping_after_overdue_days = 90\nlost_after_overdue_days = 60\n";
    assert_eq!(keys(text), ["thresholds.lost_after_overdue_days"]);
}

#[test]
fn the_month_count_status_keys_are_refused_with_their_replacement_named() {
    let found = errors("[thresholds]\nsleeping_after_months = 8\nlost_after_months = 12\n");
    let keys: Vec<_> = found.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "thresholds.sleeping_after_months",
            "thresholds.lost_after_months"
        ]
    );
    assert!(
        found[0].1.contains("sleeping_after_overdue_days"),
        "{found:?}"
    );
    assert!(found[1].1.contains("lost_after_overdue_days"), "{found:?}");
}

#[test]
fn the_reminder_must_come_before_the_personal_offer() {
    let text = "[triggers]\nsoft_reminder_days_before_due = 5\n";
    assert_eq!(keys(text), ["triggers.soft_reminder_days_before_due"]);
}

#[test]
fn a_margin_floor_of_one_hundred_percent_is_rejected() {
    assert_eq!(
        keys("[pricing]\nmargin_floor_percent = 100\n"),
        ["pricing.margin_floor_percent"]
    );
}

#[test]
fn a_fractional_percentage_is_accepted_with_two_decimals_at_most() {
    let p = Policy::from_toml("[contact]\ncontrol_group_percent = 12.5\n").unwrap();
    assert_eq!(p.contact().control_group.value(), Decimal::new(125, 1));
    assert_eq!(
        keys("[contact]\ncontrol_group_percent = 1.125\n"),
        ["contact.control_group_percent"]
    );
}

#[test]
fn an_unknown_weekday_is_reported_at_its_position() {
    let text = "[pricing]\nweekday_bonus_days = [\"tue\", \"friday\"]\n";
    assert_eq!(keys(text), ["pricing.weekday_bonus_days[1]"]);
}

#[test]
fn an_offer_rule_naming_an_unknown_perk_is_rejected() {
    let text = "[[offers]]\nid = \"x\"\nperks = [\"spa\"]\n";
    assert_eq!(keys(text), ["offers[0].perks[0]"]);
}

#[test]
fn replacing_the_perks_without_the_offers_checks_the_default_offers() {
    let text = "[[perks]]\nid = \"car_wash\"\nname = \"Мойка\"\n";
    let found = keys(text);
    assert!(
        found
            .iter()
            .any(|k| k.contains("warranty-care") && k.ends_with("perks[0]")),
        "{found:?}"
    );
}

#[test]
fn an_offer_rule_with_an_unknown_status_or_band_is_rejected() {
    let text = "[[offers]]\nid = \"x\"\nage_bands = [\"3-6\"]\nstatuses = [\"asleep\"]\n";
    assert_eq!(
        keys(text),
        ["offers[0].age_bands[0]", "offers[0].statuses[0]"]
    );
}

#[test]
fn two_offer_rules_with_the_same_id_are_rejected() {
    let text = "[[offers]]\nid = \"a\"\n[[offers]]\nid = \"a\"\n";
    assert_eq!(keys(text), ["offers[1].id"]);
}

#[test]
fn a_package_priced_below_its_parts_is_rejected() {
    let text = r#"
[[packages]]
id = "cheap"
name = "Дёшево"
price = "100.00"
lines = [
  { kind = "labor", code = "L", name = "Работа", qty = "1", price = "1000.00", cost = "400.00" },
  { kind = "part", code = "P", name = "Фильтр", qty = "1", price = "500.00", cost = "300.00" },
]
"#;
    let found = errors(text);
    assert_eq!(found[0].0, "packages[0].price");
    assert!(
        found[0].1.contains("parts are never discounted"),
        "{found:?}"
    );
}

#[test]
fn a_package_line_with_a_bad_amount_is_reported_at_its_field() {
    let text = r#"
[[packages]]
id = "p"
name = "Пакет"
price = "1000.00"
lines = [{ kind = "labor", code = "L", name = "Работа", qty = "1", price = "1000.005", cost = "1" }]
"#;
    assert_eq!(keys(text), ["packages[0].lines[0].price"]);
}

#[test]
fn money_given_as_a_number_is_rejected() {
    let text = "[[packages]]\nid = \"p\"\nname = \"P\"\nprice = 9900\nlines = [{ kind = \"labor\", code = \"L\", name = \"Работа\", qty = \"1\", price = \"9900\", cost = \"1\" }]\n";
    assert_eq!(keys(text), ["packages[0].price"]);
}

#[test]
fn a_model_schedule_overrides_the_make_which_overrides_the_default() {
    let text = r#"
[[schedule.models]]
make = "Toyota"
km = 10000
months = 12

[[schedule.models]]
make = "toyota"
model = "Land Cruiser"
km = 8000
months = 6
"#;
    let p = Policy::from_toml(text).unwrap();
    assert_eq!(
        p.schedule_for("TOYOTA", "land cruiser"),
        Schedule {
            km: 8_000,
            months: 6
        }
    );
    assert_eq!(
        p.schedule_for("Toyota", "Camry"),
        Schedule {
            km: 10_000,
            months: 12
        }
    );
    assert_eq!(
        p.schedule_for("Kia", "Rio"),
        Schedule {
            km: 15_000,
            months: 12
        }
    );
}

#[test]
fn a_model_schedule_without_km_is_rejected() {
    let text = "[[schedule.models]]\nmake = \"Kia\"\nmonths = 6\n";
    assert_eq!(keys(text), ["schedule.models[0].km"]);
}

#[test]
fn the_most_specific_package_is_chosen() {
    let line = r#"{ kind = "labor", code = "L", name = "Работа", qty = "1", price = "5000.00", cost = "1000.00" }"#;
    let text = format!(
        "[[packages]]\nid = \"any\"\nname = \"A\"\nprice = \"4000\"\nlines = [{line}]\n\
         [[packages]]\nid = \"camry\"\nname = \"C\"\nmake = \"Toyota\"\nmodel = \"Camry\"\nprice = \"4500\"\nlines = [{line}]\n\
         [[packages]]\nid = \"toyota\"\nname = \"T\"\nmake = \"Toyota\"\nprice = \"4200\"\nlines = [{line}]\n"
    );
    let p = Policy::from_toml(&text).unwrap();
    assert_eq!(
        p.package_for("toyota", "camry").map(|x| x.id.as_str()),
        Some("camry")
    );
    assert_eq!(
        p.package_for("Toyota", "RAV4").map(|x| x.id.as_str()),
        Some("toyota")
    );
    assert_eq!(
        p.package_for("Kia", "Rio").map(|x| x.id.as_str()),
        Some("any")
    );
}

#[test]
fn the_first_matching_offer_rule_applies() {
    let p = Policy::default();
    let id = |s, b| p.offer_rule(s, b).map(|r| r.id.as_str());
    assert_eq!(
        id(CustomerStatus::Sleeping, AgeBand::Warranty),
        Some("warranty-care")
    );
    assert_eq!(
        id(CustomerStatus::Loyal, AgeBand::Middle),
        Some("loyal-perks")
    );
    assert_eq!(
        id(CustomerStatus::Sleeping, AgeBand::Middle),
        Some("wake-up-3-5")
    );
    assert_eq!(id(CustomerStatus::Lost, AgeBand::Old), Some("risk-package"));
    assert_eq!(id(CustomerStatus::New, AgeBand::Middle), Some("standard"));
}

#[test]
fn a_season_window_across_the_new_year_contains_its_january_days() {
    let w = SeasonWindow {
        name: "winter".into(),
        from: MonthDay::parse("12-15").unwrap(),
        to: MonthDay::parse("01-15").unwrap(),
    };
    let day = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert_eq!(
        w.start_containing(day("2025-01-10")),
        Some(day("2024-12-15"))
    );
    assert_eq!(
        w.start_containing(day("2024-12-20")),
        Some(day("2024-12-15"))
    );
    assert_eq!(w.start_containing(day("2025-02-01")), None);
}

#[test]
fn a_bad_season_day_is_rejected() {
    let text = "[[triggers.seasonal_tires]]\nname = \"spring\"\nfrom = \"02-30\"\nto = \"04-01\"\n";
    assert_eq!(keys(text), ["triggers.seasonal_tires[0].from"]);
}

#[test]
fn an_offer_rule_may_not_take_a_built_in_rule_id() {
    assert_eq!(
        keys("[[offers]]\nid = \"margin_floor\"\n"),
        ["offers[0].id"]
    );
}

#[test]
fn the_dealers_name_and_address_are_read_and_checked() {
    let policy = Policy::from_toml(
        "[dealer]\nname = \" Автодрайв Север \"\naddress = \"Химки, ул. Ленина, 1\"\n",
    )
    .unwrap();
    assert_eq!(policy.dealer().name, "Автодрайв Север");
    assert_eq!(policy.dealer().address, "Химки, ул. Ленина, 1");
    assert!(!Policy::default().dealer().address.is_empty());
    let long = format!("[dealer]\naddress = \"{}\"\nname = \"\"\n", "д".repeat(201));
    let mut found = keys(&long);
    found.sort();
    assert_eq!(found, ["dealer.address", "dealer.name"]);
}

#[test]
fn trade_in_rules_default_to_the_stakeholders_numbers_and_are_checked() {
    let rules = Policy::default().trade_in().clone();
    assert_eq!(
        (
            rules.min_age_years,
            rules.warranty_ended_within_days,
            rules.repeated_repairs,
            rules.repeated_repairs_months,
            rules.low_rating_max
        ),
        (3, 60, 3, 12, 6)
    );
    let found = errors("[trade_in]\nrepeated_repairs = 1\nlow_rating_max = 11\n");
    assert_eq!(
        found,
        [
            (
                "trade_in.repeated_repairs".to_owned(),
                "must be between 2 and 100, got 1".to_owned()
            ),
            (
                "trade_in.low_rating_max".to_owned(),
                "must be between 0 and 9, got 11".to_owned()
            ),
        ]
    );
}
