//! Contract of the per-customer marketing mark: the frequency cap's lock, on both backends.

use chrono::{DateTime, Duration, TimeZone, Utc};
use store::repo::{MarketingClaim, Repos};
use store::Store;

crate::contract!(marketing:
    of_twenty_concurrent_marketing_claims_within_the_gap_exactly_one_wins,
    a_claim_a_full_gap_later_wins_and_a_repeat_by_the_holder_changes_nothing,
);

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

fn week() -> Duration {
    Duration::days(7)
}

pub async fn of_twenty_concurrent_marketing_claims_within_the_gap_exactly_one_wins<S: Store>(s: S) {
    let repos = Repos::new(s);
    let mut tasks = Vec::new();
    for i in 0..20u32 {
        let repos = repos.clone();
        tasks.push(tokio::spawn(async move {
            let offer = format!("VIN{i}:cycle:seasonal_tires");
            let claim = repos
                .marketing
                .claim(
                    "C-1",
                    &offer,
                    at(10, 9) + Duration::minutes(i64::from(i)),
                    week(),
                )
                .await
                .unwrap();
            (offer, claim)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (offer, claim) = task.await.unwrap();
        match claim {
            MarketingClaim::Claimed => winners.push(offer),
            MarketingClaim::Taken { .. } => {}
            MarketingClaim::AlreadyHeld => panic!("{offer} never held the mark"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let (_, holder) = repos.marketing.last("C-1").await.unwrap().unwrap();
    assert_eq!(holder, winners[0]);
    // Another customer is not affected.
    assert_eq!(
        repos
            .marketing
            .claim("C-2", "other", at(10, 9), week())
            .await
            .unwrap(),
        MarketingClaim::Claimed
    );
}

pub async fn a_claim_a_full_gap_later_wins_and_a_repeat_by_the_holder_changes_nothing<S: Store>(
    s: S,
) {
    let repos = Repos::new(s);
    let m = &repos.marketing;
    assert_eq!(m.last("C-1").await.unwrap(), None);
    assert_eq!(
        m.claim("C-1", "a", at(10, 9), week()).await.unwrap(),
        MarketingClaim::Claimed
    );
    assert_eq!(
        m.claim("C-1", "a", at(11, 9), week()).await.unwrap(),
        MarketingClaim::AlreadyHeld
    );
    assert_eq!(
        m.claim("C-1", "b", at(17, 8), week()).await.unwrap(),
        MarketingClaim::Taken { last_at: at(10, 9) }
    );
    // Earlier than the mark is refused too: the gap holds both ways.
    assert_eq!(
        m.claim("C-1", "c", at(5, 9), week()).await.unwrap(),
        MarketingClaim::Taken { last_at: at(10, 9) }
    );
    assert_eq!(
        m.claim("C-1", "b", at(17, 9), week()).await.unwrap(),
        MarketingClaim::Claimed
    );
    assert_eq!(
        m.last("C-1").await.unwrap(),
        Some((at(17, 9), "b".to_owned()))
    );
}
