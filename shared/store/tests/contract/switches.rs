//! Contract of the campaign switches: the last write per name wins, the list is in name order.

use serde_json::json;
use store::repo::Repos;
use store::Store;

crate::contract!(switches:
    a_campaign_switch_is_replaced_by_the_next_and_listed_by_name,
);

pub async fn a_campaign_switch_is_replaced_by_the_next_and_listed_by_name<S: Store>(s: S) {
    let repos = Repos::new(s);
    let switches = &repos.switches;
    assert!(switches
        .list::<serde_json::Value>()
        .await
        .unwrap()
        .is_empty());
    let off = json!({"on": false, "by": "anna", "at": "2026-12-01T10:00:00Z"});
    let on = json!({"on": true, "by": "boris", "at": "2026-12-01T11:00:00Z"});
    switches.put("soft_reminder", &off).await.unwrap();
    switches.put("loyal-perks", &off).await.unwrap();
    switches.put("soft_reminder", &on).await.unwrap();
    let listed = switches.list::<serde_json::Value>().await.unwrap();
    assert_eq!(
        listed,
        [
            ("loyal-perks".to_owned(), off),
            ("soft_reminder".to_owned(), on)
        ]
    );
}
