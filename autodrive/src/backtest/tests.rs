use std::process::Command;

use super::*;

use crate::odometer_csv::test_support::{reading, shared_data};

fn cases(series: &[Reading]) -> Vec<Case> {
    cases_of(series, DEFAULT_SCHEDULE)
}

#[test]
fn the_true_due_is_the_interpolated_day_the_distance_is_reached() {
    let series = [
        reading("2020-01-01", 0),
        reading("2020-05-01", 10_000),
        reading("2020-09-01", 20_000),
    ];
    assert_eq!(
        cases(&series)[0].truth,
        "2020-07-02".parse::<NaiveDate>().unwrap()
    );
}

#[test]
fn a_half_day_rounds_up() {
    // 15,000 km is reached 10.5 days after the second reading
    let series = [
        reading("2020-01-01", 0),
        reading("2020-01-11", 14_000),
        reading("2020-02-01", 16_000),
    ];
    assert_eq!(
        cases(&series)[0].truth,
        "2020-01-22".parse::<NaiveDate>().unwrap()
    );
}

#[test]
fn the_true_due_of_a_slow_car_is_twelve_months_clamped_to_the_month_end() {
    let series = [reading("2020-02-29", 0), reading("2021-06-01", 5_000)];
    let cases = cases(&series);
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].truth, "2021-02-28".parse::<NaiveDate>().unwrap());
}

#[test]
fn another_schedule_changes_both_limits() {
    let series = [
        reading("2020-01-31", 0),
        reading("2020-03-01", 1_000),
        reading("2020-12-01", 20_000),
    ];
    let six = cases_of(&series, parse_schedule("5000/6").unwrap());
    // 5,000 km between March and December at 19,000 km in 275 days: day 58 after March 1
    assert_eq!(six[0].truth, "2020-04-28".parse::<NaiveDate>().unwrap());
    let slow = cases_of(&series, parse_schedule("50000/1").unwrap());
    assert_eq!(slow[0].truth, "2020-02-29".parse::<NaiveDate>().unwrap());
}

#[test]
fn cases_stop_when_no_due_is_observable() {
    let series = [reading("2020-01-01", 0), reading("2020-06-01", 3_000)];
    assert!(cases(&series).is_empty());
}

#[test]
fn a_schedule_is_km_slash_months_and_anything_else_is_refused_with_the_reason() {
    assert_eq!(
        parse_schedule("7500/12").unwrap(),
        Schedule {
            km: 7_500,
            months: 12
        }
    );
    for bad in ["7500", "7500/0", "x/12", "0/6", "7500/12/1"] {
        let err = parse_schedule(bad).unwrap_err();
        assert!(format!("{err:#}").contains(bad), "{bad}: {err:#}");
    }
}

/// The baselines of an independent implementation of the protocol
/// (`scripts/backtest_reference.py`, written from BACKTEST.md alone).
fn reference_sweep() -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/backtest_reference.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg("--data")
        .arg(shared_data())
        .arg("--sweep")
        .output()
        .expect("python3 must be installed to run the reference backtest");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_baselines_agree_with_an_independent_implementation_on_every_schedule() {
    let ours =
        serde_json::to_value(run_sweep(&shared_data(), Options::default()).unwrap()).unwrap();
    let theirs = reference_sweep();
    assert_eq!(ours["vehicles"], theirs["vehicles"]);
    let mut compared = 0;
    let schedules = SWEEP.map(schedule_name);
    for (path, of_ours, of_theirs) in schedules
        .iter()
        .map(|s| (s.as_str(), &ours["sweep"][s], &theirs["sweep"][s]))
        .chain([("pooled", &ours["pooled"], &theirs["pooled"])])
    {
        for (kind, predictors) in theirs_kinds(of_theirs) {
            for predictor in predictors {
                let a = &of_ours[kind][predictor];
                let b = &of_theirs[kind][predictor];
                assert_eq!(a["cases"], b["cases"], "{path} {kind} {predictor}");
                let gap = (a["mae_days"].as_f64().unwrap() - b["mae_days"].as_f64().unwrap()).abs();
                assert!(gap <= 0.6, "{path} {kind} {predictor}: {a} vs {b}");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 5 * 8);
}

fn theirs_kinds(kinds: &serde_json::Value) -> Vec<(&str, Vec<&str>)> {
    ["warm", "cold", "self_report"]
        .into_iter()
        .map(|kind| {
            let names = kinds[kind]
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            (kind, names)
        })
        .collect()
}

#[test]
fn the_json_report_has_the_protocols_shape_with_the_schedule_in_each_kind() {
    let report = run(&shared_data(), Options::default()).unwrap();
    let json = serde_json::to_value(&report).unwrap();
    for kind in ["warm", "cold", "self_report"] {
        assert_eq!(json[kind]["schedule"], "15000/12");
        for key in [
            "cases",
            "mae_days",
            "within_14d",
            "coverage_80",
            "coverage_80_distance",
            "distance_cases",
        ] {
            assert!(json[kind]["model"].get(key).is_some(), "{kind}.model.{key}");
        }
    }
    assert!(json["cold"]["lifetime_avg"]["cases"].is_u64());
    assert!(json["warm"].get("lifetime_avg").is_none());
    let text =
        serde_json::to_string(&run_sweep(&shared_data(), Options::default()).unwrap()).unwrap();
    let at = |name: &str| text.find(&format!("\"{name}\":{{")).unwrap();
    assert!(at("5000/6") < at("7500/12") && at("7500/12") < at("10000/12"));
    assert!(at("10000/12") < at("15000/12") && at("15000/12") < at("pooled"));
    let sweep: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(sweep["pooled"]["warm"]["schedule"], "pooled");
}

/// Targets of the forecaster on the public logs that hold (README: what does not, and why).
fn check_targets(report: &SweepReport, label: &str) {
    let pooled = &report.pooled;
    let warm = &pooled.warm;
    assert!(
        warm.model.mae_days <= 0.95 * warm.best_baseline(),
        "{label}: warm pooled {} vs best baseline {}",
        warm.model.mae_days,
        warm.best_baseline()
    );
    for (name, kinds) in &report.sweep {
        let w = &kinds.warm;
        let bound = if name == "15000/12" {
            // the calendar is nearly exact for slow cars; the model must beat the rates
            w.last_two.mae_days.min(w.all_history_avg.unwrap().mae_days)
        } else {
            1.25 * w.best_baseline()
        };
        assert!(w.model.mae_days <= bound, "{label} {name}: {w:?}");
    }
    let sr = &pooled.self_report;
    assert!(
        sr.model.mae_days <= 0.95 * sr.last_two.mae_days,
        "{label}: self-report {sr:?}"
    );
    let cold = &pooled.cold;
    assert!(
        cold.model.mae_days <= 0.9 * cold.calendar_12m.unwrap().mae_days,
        "{label}: cold {cold:?}"
    );
    for kind in [&pooled.warm, &pooled.self_report] {
        let coverage = kind.model.coverage_80_distance.unwrap();
        assert!(
            kind.model.distance_cases.unwrap() >= 100,
            "{label}: {kind:?}"
        );
        assert!((0.70..=0.90).contains(&coverage), "{label}: {kind:?}");
    }
}

#[test]
fn on_the_sweep_the_model_beats_the_baselines_clean_and_raw() {
    let clean = run_sweep(&shared_data(), Options::default()).unwrap();
    check_targets(&clean, "clean");
    let raw = run_sweep(
        &shared_data(),
        Options {
            raw: true,
            ..Options::default()
        },
    )
    .unwrap();
    check_targets(&raw, "raw");
    assert_eq!(raw.pooled.warm.model.cases, clean.pooled.warm.model.cases);
    assert!(raw.pooled.warm.model.mae_days <= 1.15 * clean.pooled.warm.model.mae_days);
}

/// The held-out fleets drive farther than the public logs: the same logs driven 2 and 2.5
/// times as far must still find the model ahead of every baseline at 15000/12 and over
/// the sweep. A model fitted to where the public logs' paces lie loses here (a fleet-pace
/// shrinkage tuned on them, 0.84 of the best baseline pooled as they are, is 1.07 and 1.22
/// of `last_two` at 15000/12 on these).
#[test]
fn on_the_logs_driven_farther_the_model_still_beats_the_baselines() {
    for scale in [2.0, 2.5] {
        let options = Options {
            scale,
            ..Options::default()
        };
        let report = run_sweep(&shared_data(), options).unwrap();
        assert_eq!(report.scale, scale);
        for (name, kinds) in report
            .sweep
            .iter()
            .filter(|(name, _)| name == "15000/12")
            .chain([&("pooled".to_owned(), report.pooled.clone())])
        {
            let warm = &kinds.warm;
            assert!(
                warm.model.mae_days <= 0.97 * warm.best_baseline(),
                "×{scale} {name}: {warm:?}"
            );
        }
    }
    assert!(parse_scale("0.05").is_err() && parse_scale("x").is_err());
    assert_eq!(parse_scale("2.5"), Ok(2.5));
}

#[test]
fn with_parameters_measured_on_the_other_logs_the_model_still_beats_the_baselines() {
    let report = run_sweep(
        &shared_data(),
        Options {
            cross_validate: true,
            ..Options::default()
        },
    )
    .unwrap();
    let warm = &report.pooled.warm;
    assert!(
        warm.model.mae_days <= 0.96 * warm.best_baseline(),
        "{} vs {}",
        warm.model.mae_days,
        warm.best_baseline()
    );
    let sr = &report.pooled.self_report;
    assert!(sr.model.mae_days <= sr.last_two.mae_days, "{sr:?}");
}
