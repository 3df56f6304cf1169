//! Contact cycles (at most one open per vehicle) and their stage marks (each at most once).

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Serialize;

use super::visits::vehicle_pk;
use super::{data, query_all, string, with_data};
use crate::expr::{Condition, Update};
use crate::item::Key;
use crate::port::{Query, Store, StoreError, WriteOp};

const CYCLE: &str = "cycle";
const STAGE: &str = "stage";
const REACTION: &str = "reaction";
const OPEN: &str = "open_cycle";
const CLOSURE: &str = "closure";

fn pointer_key(vin: &str) -> Key {
    Key::new(vehicle_pk(vin), "CYCLE")
}

fn cycle_key(vin: &str, cycle_id: &str) -> Key {
    Key::new(vehicle_pk(vin), format!("CYCLE#{cycle_id}"))
}

fn stage_key(vin: &str, cycle_id: &str, stage: &str) -> Key {
    Key::new(vehicle_pk(vin), format!("CYCLE#{cycle_id}#STAGE#{stage}"))
}

fn closure_key(vin: &str, cycle_id: &str) -> Key {
    Key::new(vehicle_pk(vin), format!("CYCLE#{cycle_id}#CLOSURE"))
}

fn reaction_key(vin: &str, cycle_id: &str, stage: &str, reaction: &str) -> Key {
    Key::new(
        vehicle_pk(vin),
        format!("CYCLE#{cycle_id}#REACTION#{stage}#{reaction}"),
    )
}

/// What opening a cycle did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    /// The cycle is open now (also when it was this cycle that was open already).
    Opened,
    /// Another cycle of the vehicle is open.
    OtherOpen { cycle_id: String },
    /// This cycle was closed before; a closed cycle is not opened again.
    Closed,
}

/// What marking a stage did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageOutcome {
    Marked,
    /// The stage was marked before; nothing changed.
    AlreadyMarked,
}

/// What was sent in a cycle and how the customer reacted.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleContacts<P, R> {
    /// (stage, mark), by stage name.
    pub stages: Vec<(String, P)>,
    /// (stage, reaction name, record), by stage then reaction name.
    pub reactions: Vec<(String, String, R)>,
}

/// Contact cycles of vehicles.
#[derive(Clone)]
pub struct Cycles<S> {
    store: S,
}

impl<S: Store> Cycles<S> {
    pub fn new(store: S) -> Self {
        Cycles { store }
    }

    /// Opens `cycle_id` for the vehicle unless another cycle is open or this one was closed.
    /// Idempotent.
    pub async fn open<P: Serialize>(
        &self,
        vin: &str,
        cycle_id: &str,
        cycle: &P,
    ) -> Result<OpenOutcome, StoreError> {
        let claim = Update::new(pointer_key(vin))
            .set(super::ENTITY, "cycle_pointer")
            .set(OPEN, cycle_id)
            .when(Condition::NotExists(OPEN.into()).or(Condition::eq(OPEN, cycle_id)));
        let mut item = with_data(&cycle_key(vin, cycle_id), CYCLE, cycle)?;
        item.insert("cycle_id".into(), cycle_id.into());
        item.insert("status".into(), "OPEN".into());
        let not_closed = Condition::NotExists("status".into()).or(Condition::eq("status", "OPEN"));
        match self
            .store
            .transact(vec![
                WriteOp::Update(claim),
                WriteOp::put_if(item, not_closed),
            ])
            .await
        {
            Ok(()) => Ok(OpenOutcome::Opened),
            Err(StoreError::TransactionConditionFailed { index: 1 }) => Ok(OpenOutcome::Closed),
            Err(StoreError::TransactionConditionFailed { index: 0 }) => {
                match self.open_cycle_id(vin).await? {
                    Some(other) if other != cycle_id => {
                        Ok(OpenOutcome::OtherOpen { cycle_id: other })
                    }
                    _ => Err(StoreError::Conflict),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn open_cycle_id(&self, vin: &str) -> Result<Option<String>, StoreError> {
        match self.store.get(&pointer_key(vin)).await? {
            Some(item) if item.contains_key(OPEN) => string(&item, OPEN).map(Some),
            _ => Ok(None),
        }
    }

    /// The open cycle of a vehicle.
    pub async fn open_cycle<P: DeserializeOwned>(
        &self,
        vin: &str,
    ) -> Result<Option<(String, P)>, StoreError> {
        let Some(id) = self.open_cycle_id(vin).await? else {
            return Ok(None);
        };
        match self.store.get(&cycle_key(vin, &id)).await? {
            Some(item) => Ok(Some((id, data(&item)?))),
            None => Ok(None),
        }
    }

    /// Closes the cycle with an outcome; returns false when it was not the open one.
    pub async fn close<O: Serialize>(
        &self,
        vin: &str,
        cycle_id: &str,
        outcome: &O,
    ) -> Result<bool, StoreError> {
        let release = Update::new(pointer_key(vin))
            .remove(OPEN)
            .when(Condition::eq(OPEN, cycle_id));
        let close = Update::new(cycle_key(vin, cycle_id))
            .set("status", "CLOSED")
            .set("outcome", crate::item::to_attr(outcome)?)
            .when(Condition::present());
        match self
            .store
            .transact(vec![WriteOp::Update(release), WriteOp::Update(close)])
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Closes the open cycle `cycle_id` because of the customer's answer, with the answer's
    /// record (the reason and when, kept under the cycle), in one transaction. False, and nothing
    /// written, when the cycle is not the open one (answered or closed before).
    pub async fn close_answered<R: Serialize>(
        &self,
        vin: &str,
        cycle_id: &str,
        reason: &str,
        record: &R,
    ) -> Result<bool, StoreError> {
        let release = Update::new(pointer_key(vin))
            .remove(OPEN)
            .when(Condition::eq(OPEN, cycle_id));
        let close = Update::new(cycle_key(vin, cycle_id))
            .set("status", "CLOSED")
            .set("outcome", reason)
            .when(Condition::present());
        let mut closure = with_data(&closure_key(vin, cycle_id), CLOSURE, record)?;
        closure.insert("cycle_id".into(), cycle_id.into());
        closure.insert("reason".into(), reason.into());
        match self
            .store
            .transact(vec![
                WriteOp::Update(release),
                WriteOp::Update(close),
                WriteOp::put_if(closure, Condition::absent()),
            ])
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether the cycle was closed (by a visit, a newer cycle or the customer's answer).
    pub async fn is_closed(&self, vin: &str, cycle_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .store
            .get(&cycle_key(vin, cycle_id))
            .await?
            .and_then(|item| {
                item.get("status")
                    .and_then(|v| v.as_s())
                    .map(|s| s == "CLOSED")
            })
            .unwrap_or(false))
    }

    /// The answer that closed a cycle, if one did.
    pub async fn closure<R: DeserializeOwned>(
        &self,
        vin: &str,
        cycle_id: &str,
    ) -> Result<Option<R>, StoreError> {
        match self.store.get(&closure_key(vin, cycle_id)).await? {
            Some(item) => data(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Every cycle of the vehicle closed by the customer's answer: (cycle id, record).
    pub async fn closures<R: DeserializeOwned>(
        &self,
        vin: &str,
    ) -> Result<Vec<(String, R)>, StoreError> {
        let items = query_all(
            &self.store,
            Query::partition(vehicle_pk(vin)).begins_with("CYCLE#"),
        )
        .await?;
        items
            .iter()
            .filter(|item| item.get(super::ENTITY).and_then(|v| v.as_s()) == Some(CLOSURE))
            .map(|item| Ok((string(item, "cycle_id")?, data(item)?)))
            .collect()
    }

    /// Marks a stage of a cycle (reminder sent, offer sent, ...) at most once.
    pub async fn mark_stage<P: Serialize>(
        &self,
        vin: &str,
        cycle_id: &str,
        stage: &str,
        mark: &P,
    ) -> Result<StageOutcome, StoreError> {
        let mut item = with_data(&stage_key(vin, cycle_id, stage), STAGE, mark)?;
        item.insert("stage".into(), stage.into());
        match self.store.put(item, Some(Condition::absent())).await {
            Ok(()) => Ok(StageOutcome::Marked),
            Err(StoreError::ConditionFailed) => Ok(StageOutcome::AlreadyMarked),
            Err(e) => Err(e),
        }
    }

    /// The marked stages of a cycle, by stage name.
    pub async fn stages<P: DeserializeOwned>(
        &self,
        vin: &str,
        cycle_id: &str,
    ) -> Result<Vec<(String, P)>, StoreError> {
        Ok(self.contacts::<P, IgnoredAny>(vin, cycle_id).await?.stages)
    }

    /// Records the customer's reaction (`reaction`, a stable name) to a stage's message, once
    /// per kind: returns false when that kind was recorded before (a repeated delivery).
    pub async fn react<P: Serialize>(
        &self,
        vin: &str,
        cycle_id: &str,
        stage: &str,
        reaction: &str,
        record: &P,
    ) -> Result<bool, StoreError> {
        let key = reaction_key(vin, cycle_id, stage, reaction);
        let mut item = with_data(&key, REACTION, record)?;
        item.insert("stage".into(), stage.into());
        item.insert(REACTION.into(), reaction.into());
        match self.store.put(item, Some(Condition::absent())).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The stage marks and the reactions of a cycle in one query (what the evaluator reads for
    /// every vehicle every night).
    pub async fn contacts<P: DeserializeOwned, R: DeserializeOwned>(
        &self,
        vin: &str,
        cycle_id: &str,
    ) -> Result<CycleContacts<P, R>, StoreError> {
        let items = query_all(
            &self.store,
            Query::partition(vehicle_pk(vin)).begins_with(format!("CYCLE#{cycle_id}#")),
        )
        .await?;
        let mut contacts = CycleContacts {
            stages: Vec::new(),
            reactions: Vec::new(),
        };
        for item in &items {
            match item.get(super::ENTITY).and_then(|v| v.as_s()) {
                Some(STAGE) => contacts.stages.push((string(item, "stage")?, data(item)?)),
                Some(REACTION) => contacts.reactions.push((
                    string(item, "stage")?,
                    string(item, REACTION)?,
                    data(item)?,
                )),
                _ => {}
            }
        }
        Ok(contacts)
    }

    /// Every reaction recorded in a cycle: (stage, reaction name, record).
    pub async fn reactions<P: DeserializeOwned>(
        &self,
        vin: &str,
        cycle_id: &str,
    ) -> Result<Vec<(String, String, P)>, StoreError> {
        Ok(self
            .contacts::<IgnoredAny, P>(vin, cycle_id)
            .await?
            .reactions)
    }
}
