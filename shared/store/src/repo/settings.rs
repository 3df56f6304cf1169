//! Campaign counters (atomic ADD) and policy overrides (optimistic versions).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{data, integer, query_all, string, with_data};
use crate::expr::{Condition, Update};
use crate::item::{AttrValue, Key};
use crate::port::{Query, Store, StoreError};

fn counters_key(campaign: &str, period: &str) -> Key {
    Key::new(format!("CAMPAIGN#{campaign}"), format!("COUNTERS#{period}"))
}

/// Counters per campaign and period (e.g. `2026-11` or `total`): sent, booked, visited, ...
#[derive(Clone)]
pub struct CampaignCounters<S> {
    store: S,
}

impl<S: Store> CampaignCounters<S> {
    pub fn new(store: S) -> Self {
        CampaignCounters { store }
    }

    /// Adds `by` to a metric and returns its new value.
    pub async fn add(
        &self,
        campaign: &str,
        period: &str,
        metric: &str,
        by: i64,
    ) -> Result<i64, StoreError> {
        let key = counters_key(campaign, period);
        let name = format!("m_{metric}");
        let item = self
            .store
            .update(
                Update::new(key)
                    .set(super::ENTITY, "campaign_counters")
                    .add(&name, by),
            )
            .await?;
        integer(&item, &name)
    }

    /// All metrics of a campaign in a period.
    pub async fn get(
        &self,
        campaign: &str,
        period: &str,
    ) -> Result<BTreeMap<String, i64>, StoreError> {
        let Some(item) = self.store.get(&counters_key(campaign, period)).await? else {
            return Ok(BTreeMap::new());
        };
        item.iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("m_")?, v)))
            .map(|(metric, v)| {
                let n = v.as_n().and_then(|n| n.to_i64()).ok_or_else(|| {
                    StoreError::malformed(
                        &counters_key(campaign, period),
                        format!("metric {metric}"),
                    )
                })?;
                Ok((metric.to_owned(), n))
            })
            .collect()
    }
}

const POLICY_PK: &str = "POLICY";
const VERSION: &str = "version";

fn policy_key(name: &str) -> Key {
    Key::new(POLICY_PK, format!("OVERRIDE#{name}"))
}

/// Named overrides of the dealer policy, each with a version for optimistic updates.
#[derive(Clone)]
pub struct PolicyOverrides<S> {
    store: S,
}

impl<S: Store> PolicyOverrides<S> {
    pub fn new(store: S) -> Self {
        PolicyOverrides { store }
    }

    /// Stores an override if its version is still `expected` (`None`: it must not exist yet);
    /// returns the new version. MUST fail with `ConditionFailed` if someone changed it meanwhile.
    pub async fn put<P: Serialize>(
        &self,
        name: &str,
        value: &P,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let version = expected.map_or(1, |v| v + 1);
        let mut item = with_data(&policy_key(name), "policy_override", value)?;
        item.insert("name".into(), name.into());
        item.insert(VERSION.into(), AttrValue::from(version));
        let condition = match expected {
            None => Condition::absent(),
            Some(v) => Condition::eq(VERSION, v),
        };
        self.store.put(item, Some(condition)).await?;
        Ok(version)
    }

    /// An override and its version.
    pub async fn get<P: DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<(P, u64)>, StoreError> {
        match self.store.get(&policy_key(name)).await? {
            Some(item) => Ok(Some((data(&item)?, integer(&item, VERSION)? as u64))),
            None => Ok(None),
        }
    }

    /// Every override by name.
    pub async fn list<P: DeserializeOwned>(&self) -> Result<Vec<(String, P)>, StoreError> {
        let items = query_all(
            &self.store,
            Query::partition(POLICY_PK).begins_with("OVERRIDE#"),
        )
        .await?;
        items
            .iter()
            .map(|item| Ok((string(item, "name")?, data(item)?)))
            .collect()
    }
}

const SWITCHES_PK: &str = "CAMPAIGN_SWITCH";

fn switch_key(name: &str) -> Key {
    Key::new(SWITCHES_PK, format!("SWITCH#{name}"))
}

/// The marketer's switches of stages and offer rules, one item per name; the last write wins.
#[derive(Clone)]
pub struct CampaignSwitches<S> {
    store: S,
}

impl<S: Store> CampaignSwitches<S> {
    pub fn new(store: S) -> Self {
        CampaignSwitches { store }
    }

    /// Stores the switch of `name`, replacing the one before.
    pub async fn put<P: Serialize>(&self, name: &str, value: &P) -> Result<(), StoreError> {
        let mut item = with_data(&switch_key(name), "campaign_switch", value)?;
        item.insert("name".into(), name.into());
        self.store.put(item, None).await
    }

    /// Every stored switch by name, in name order.
    pub async fn list<P: DeserializeOwned>(&self) -> Result<Vec<(String, P)>, StoreError> {
        let items = query_all(
            &self.store,
            Query::partition(SWITCHES_PK).begins_with("SWITCH#"),
        )
        .await?;
        let mut switches = items
            .iter()
            .map(|item| Ok((string(item, "name")?, data(item)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        switches.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(switches)
    }
}
