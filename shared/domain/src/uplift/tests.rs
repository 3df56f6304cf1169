use proptest::prelude::*;

use super::*;

/// Wilson's interval found the long way: the two roots of the score equation
/// `(p̂ − p)² = z²·p(1−p)/n`, each by bisection on its side of `p̂`.
fn wilson_by_bisection(x: u64, n: u64, z: f64) -> (f64, f64) {
    let p_hat = x as f64 / n as f64;
    let score = |p: f64| (p_hat - p).powi(2) - z * z * p * (1.0 - p) / n as f64;
    let root = |mut outside: f64, mut inside: f64| {
        // score(outside) >= 0 >= score(inside)
        for _ in 0..200 {
            let mid = (outside + inside) / 2.0;
            if score(mid) >= 0.0 {
                outside = mid;
            } else {
                inside = mid;
            }
        }
        (outside + inside) / 2.0
    };
    let lower = if x == 0 { 0.0 } else { root(0.0, p_hat) };
    let upper = if x == n { 1.0 } else { root(1.0, p_hat) };
    (lower, upper)
}

/// Newcombe's method 10 from the bisection Wilson intervals.
fn newcombe_reference(x1: u64, n1: u64, x2: u64, n2: u64) -> (f64, f64) {
    let (l1, u1) = wilson_by_bisection(x1, n1, Z_95);
    let (l2, u2) = wilson_by_bisection(x2, n2, Z_95);
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let d = p1 - p2;
    (
        d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(),
        d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt(),
    )
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[test]
fn newcombes_published_examples_come_out_to_four_places() {
    // Newcombe (1998), Statistics in Medicine 17:873–890, Table II, method 10.
    let cases = [
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((0, 10, 0, 10), (-0.2775, 0.2775)),
        ((10, 10, 0, 20), (0.6791, 1.0000)),
        ((10, 10, 0, 10), (0.6075, 1.0000)),
    ];
    for ((x1, n1, x2, n2), (lower, upper)) in cases {
        let i = newcombe_difference(x1, n1, x2, n2, Z_95).unwrap();
        assert_eq!(
            (round4(i.lower), round4(i.upper)),
            (lower, upper),
            "{x1}/{n1} − {x2}/{n2}"
        );
    }
}

#[test]
fn an_empty_arm_has_no_interval_and_no_rate() {
    assert_eq!(newcombe_difference(0, 0, 3, 10, Z_95), None);
    assert_eq!(wilson(1, 0, Z_95), None);
    assert_eq!(wilson(11, 10, Z_95), None);
    assert_eq!(Arm::default().rate(), None);
    let u = measure_uplift(
        Arm {
            customers: 10,
            visited: 3,
        },
        Arm::default(),
    );
    assert_eq!(
        (u.difference, u.interval, u.relative_lift),
        (None, None, None)
    );
    assert!(u.underpowered);
    assert!(u
        .warning_ru()
        .unwrap()
        .contains("в контрольной группе 0 клиентов"));
}

#[test]
fn the_customers_per_arm_follow_the_two_proportion_formula() {
    // 50 % against 60 % at α = 0.05 two-sided and power 0.8: 388 per arm (Fleiss, no
    // continuity correction).
    assert_eq!(customers_per_arm(0.5, 0.2), Some(388));
    assert_eq!(customers_per_arm(0.3, 0.2), Some(963));
    assert!(customers_per_arm(0.1, 0.2).unwrap() > customers_per_arm(0.3, 0.2).unwrap());
    assert_eq!(customers_per_arm(0.0, 0.2), None);
    assert_eq!(customers_per_arm(1.0, 0.2), None);
    assert_eq!(customers_per_arm(0.3, 0.0), None);
}

#[test]
fn small_arms_get_a_plain_warning_with_the_customers_needed() {
    let u = measure_uplift(
        Arm {
            customers: 900,
            visited: 300,
        },
        Arm {
            customers: 100,
            visited: 30,
        },
    );
    assert_eq!(u.needed_per_arm, Some(963));
    assert!(u.underpowered);
    let warning = u.warning_ru().unwrap();
    assert!(warning.contains("не меньше 963 клиентов"), "{warning}");
    assert!(
        warning.contains("сейчас 900 с рассылкой и 100 в контрольной"),
        "{warning}"
    );
    assert!(warning.contains("30,0\u{a0}%"), "{warning}");

    let big = measure_uplift(
        Arm {
            customers: 20_000,
            visited: 7_000,
        },
        Arm {
            customers: 2_000,
            visited: 600,
        },
    );
    assert!(!big.underpowered);
    assert_eq!(big.warning_ru(), None);
    let lift = big.relative_lift.unwrap();
    assert!((lift - (0.35 - 0.3) / 0.3).abs() < 1e-12, "{lift}");
}

proptest! {
    #[test]
    fn wilson_matches_the_roots_of_the_score_equation(n in 1u64..2_000, share in 0.0f64..=1.0) {
        let x = (share * n as f64).round() as u64;
        let w = wilson(x, n, Z_95).unwrap();
        let (lower, upper) = wilson_by_bisection(x, n, Z_95);
        prop_assert!((w.lower - lower).abs() < 1e-9, "{} vs {}", w.lower, lower);
        prop_assert!((w.upper - upper).abs() < 1e-9, "{} vs {}", w.upper, upper);
        prop_assert!(w.contains(x as f64 / n as f64));
    }

    #[test]
    fn newcombe_matches_the_reference_and_holds_the_estimate(
        n1 in 1u64..3_000,
        n2 in 1u64..3_000,
        s1 in 0.0f64..=1.0,
        s2 in 0.0f64..=1.0,
    ) {
        let (x1, x2) = ((s1 * n1 as f64).round() as u64, (s2 * n2 as f64).round() as u64);
        let i = newcombe_difference(x1, n1, x2, n2, Z_95).unwrap();
        let (lower, upper) = newcombe_reference(x1, n1, x2, n2);
        prop_assert!((i.lower - lower.max(-1.0)).abs() < 1e-9, "{} vs {}", i.lower, lower);
        prop_assert!((i.upper - upper.min(1.0)).abs() < 1e-9, "{} vs {}", i.upper, upper);
        let d = x1 as f64 / n1 as f64 - x2 as f64 / n2 as f64;
        prop_assert!(i.lower <= d + 1e-12 && d <= i.upper + 1e-12);
        prop_assert!(-1.0 <= i.lower && i.upper <= 1.0);
        let swapped = newcombe_difference(x2, n2, x1, n1, Z_95).unwrap();
        prop_assert!((swapped.lower + i.upper).abs() < 1e-12);
        prop_assert!((swapped.upper + i.lower).abs() < 1e-12);
    }
}
