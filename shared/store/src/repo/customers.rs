//! Customer profiles: the one entity holding personal data; everything else refers to its id.
//! The opt-out (STOP) is an attribute beside the profile, kept when the CRM sends the profile
//! again.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{data, new_item, string, with_data};
use crate::expr::{Condition, Update};
use crate::item::{Item, Key};
use crate::port::{Query, Store, StoreError};
use crate::table::{GSI1, GSI2, PK, SK};

use super::visits::PROFILE;

const CUSTOMER: &str = "customer";
const OPTED_OUT_AT: &str = "opted_out_at";
const WHATSAPP_INBOUND_AT: &str = "whatsapp_inbound_at";

fn customer_pk(customer_id: &str) -> String {
    format!("CUST#{customer_id}")
}

pub(crate) fn customer_key(customer_id: &str) -> Key {
    Key::new(customer_pk(customer_id), PROFILE)
}

fn telegram_key(chat_id: i64) -> String {
    format!("TG#{chat_id}")
}

fn phone_key(phone: &str) -> String {
    format!("PHONE#{phone}")
}

fn handle_text(handle: ContactHandle<'_>) -> String {
    match handle {
        ContactHandle::Telegram(chat) => telegram_key(chat),
        ContactHandle::Phone(phone) => phone_key(phone),
    }
}

/// The partition of a handle's suppression marks: a SHA-256 of the handle, so the list holds
/// no phone number or chat id.
pub(crate) fn suppression_pk(handle: ContactHandle<'_>) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(handle_text(handle).as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("SUPPRESS#{hex}")
}

fn suppression_key(handle: ContactHandle<'_>) -> Key {
    Key::new(suppression_pk(handle), SUPPRESSION)
}

/// Where STOP marks were kept before they were keyed by digest (read, and removed on erasure).
pub(crate) fn legacy_suppression_key(handle: ContactHandle<'_>) -> Key {
    Key::new(format!("SUPPRESS#{}", handle_text(handle)), SUPPRESSION)
}

pub(crate) const SUPPRESSION: &str = "SUPPRESSION";
pub(crate) const SUPPRESSED_AT: &str = "suppressed_at";
const STOP_CHANNEL: &str = "channel";

/// A STOP remembered by its handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub at: DateTime<Utc>,
    /// `telegram`, `whatsapp` or `sms`; `None` for marks kept before the channel was.
    pub channel: Option<String>,
}

/// Where a STOP came from: a Telegram chat or an E.164 phone (WhatsApp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactHandle<'a> {
    Telegram(i64),
    Phone(&'a str),
}

/// A customer profile with the contact handles messenger updates are matched by.
#[derive(Debug, Clone, Copy)]
pub struct CustomerRecord<'a, C> {
    pub customer_id: &'a str,
    pub telegram_chat_id: Option<i64>,
    /// E.164 phone (WhatsApp and SMS replies are matched by it).
    pub phone: Option<&'a str>,
    pub profile: &'a C,
}

/// A stored customer profile.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCustomer<C> {
    pub customer_id: String,
    pub profile: C,
    /// When the customer sent STOP; `None` while they may be contacted.
    pub opted_out_at: Option<DateTime<Utc>>,
    /// When the customer last wrote to the business number on WhatsApp.
    pub whatsapp_inbound_at: Option<DateTime<Utc>>,
}

impl<C> StoredCustomer<C> {
    pub fn opted_out(&self) -> bool {
        self.opted_out_at.is_some()
    }
}

/// What an opt-out did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptOutOutcome {
    /// Recorded now.
    OptedOut,
    /// The customer had opted out before; the first time is kept.
    AlreadyOptedOut,
    /// No customer with this id.
    UnknownCustomer,
}

/// The write of a profile: every attribute of the record is set and the index keys it lacks are
/// removed; attributes it does not carry (the opt-out) stay as they are.
pub(crate) fn customer_upsert<C: Serialize>(
    r: &CustomerRecord<'_, C>,
) -> Result<Update, StoreError> {
    let key = customer_key(r.customer_id);
    let mut item = with_data(&key, CUSTOMER, r.profile)?;
    item.insert("customer_id".into(), r.customer_id.into());
    let mut update = Update::new(key);
    match r.telegram_chat_id {
        Some(chat) => {
            item.insert(GSI1.pk.into(), telegram_key(chat).into());
            item.insert(GSI1.sk.into(), customer_pk(r.customer_id).into());
        }
        None => update = update.remove(GSI1.pk).remove(GSI1.sk),
    }
    match r.phone {
        Some(phone) => {
            item.insert(GSI2.pk.into(), phone_key(phone).into());
            item.insert(GSI2.sk.into(), customer_pk(r.customer_id).into());
        }
        None => update = update.remove(GSI2.pk).remove(GSI2.sk),
    }
    for (name, value) in item {
        if name != PK && name != SK {
            update = update.set(&name, value);
        }
    }
    Ok(update)
}

pub(crate) fn instant(item: &Item, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    match item.get(name).and_then(|v| v.as_s()) {
        Some(text) => Ok(Some(
            DateTime::parse_from_rfc3339(text)
                .map_err(|e| StoreError::malformed(&super::item_key(item), e))?
                .to_utc(),
        )),
        None => Ok(None),
    }
}

fn stored_customer<C: DeserializeOwned>(item: &Item) -> Result<StoredCustomer<C>, StoreError> {
    Ok(StoredCustomer {
        customer_id: string(item, "customer_id")?,
        profile: data(item)?,
        opted_out_at: instant(item, OPTED_OUT_AT)?,
        whatsapp_inbound_at: instant(item, WHATSAPP_INBOUND_AT)?,
    })
}

/// Customer profiles by id, Telegram chat and phone.
#[derive(Clone)]
pub struct Customers<S> {
    store: S,
}

impl<S: Store> Customers<S> {
    pub fn new(store: S) -> Self {
        Customers { store }
    }

    /// Stores a customer profile, replacing the profile and its contact handles; an opt-out
    /// recorded before stays.
    pub async fn put<C: Serialize>(
        &self,
        record: &CustomerRecord<'_, C>,
    ) -> Result<(), StoreError> {
        self.store
            .update(customer_upsert(record)?)
            .await
            .map(|_| ())
    }

    /// The profile; `None` when there is none or its personal data was erased.
    pub async fn get<C: DeserializeOwned>(
        &self,
        customer_id: &str,
    ) -> Result<Option<StoredCustomer<C>>, StoreError> {
        match self.store.get(&customer_key(customer_id)).await? {
            Some(item) if item.contains_key(super::DATA) => stored_customer(&item).map(Some),
            _ => Ok(None),
        }
    }

    /// Records that the customer sent STOP at `at`. Only the first opt-out is kept; nothing later
    /// (a new visit from the CRM included) clears it.
    pub async fn opt_out(
        &self,
        customer_id: &str,
        at: DateTime<Utc>,
    ) -> Result<OptOutOutcome, StoreError> {
        let update = Update::new(customer_key(customer_id))
            .set(OPTED_OUT_AT, at.to_rfc3339())
            .when(Condition::present().and(Condition::NotExists(OPTED_OUT_AT.into())));
        match self.store.update(update).await {
            Ok(_) => Ok(OptOutOutcome::OptedOut),
            Err(StoreError::ConditionFailed) => {
                match self.store.get(&customer_key(customer_id)).await? {
                    Some(_) => Ok(OptOutOutcome::AlreadyOptedOut),
                    None => Ok(OptOutOutcome::UnknownCustomer),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Records that the customer wrote on WhatsApp at `at`, unless a later message is recorded
    /// already (a redelivered notification does not move the time back). False if there is no
    /// such customer or the time recorded is later.
    pub async fn note_whatsapp_inbound(
        &self,
        customer_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Some(item) = self.store.get(&customer_key(customer_id)).await? else {
            return Ok(false);
        };
        if instant(&item, WHATSAPP_INBOUND_AT)?.is_some_and(|last| last >= at) {
            return Ok(false);
        }
        let update = Update::new(customer_key(customer_id))
            .set(WHATSAPP_INBOUND_AT, at.to_rfc3339())
            .when(Condition::present());
        match self.store.update(update).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Remembers that STOP came from this handle at `at`, whoever it belongs to now or later
    /// (a sender the CRM has not sent yet, a phone that changes hands); the first time is kept.
    /// True the first time.
    pub async fn suppress(
        &self,
        handle: ContactHandle<'_>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.suppress_from(handle, at, None).await
    }

    /// [`Customers::suppress`] with the channel the STOP came on (`telegram`, `whatsapp`,
    /// `sms`), kept for the opt-out event raised when the customer is known later.
    pub async fn suppress_from(
        &self,
        handle: ContactHandle<'_>,
        at: DateTime<Utc>,
        channel: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut item = new_item(&suppression_key(handle), "suppression");
        item.insert(SUPPRESSED_AT.into(), at.to_rfc3339().into());
        if let Some(channel) = channel {
            item.insert(STOP_CHANNEL.into(), channel.into());
        }
        match self.store.put(item, Some(Condition::absent())).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// When STOP first came from this handle, if it ever did (marks kept before they were
    /// keyed by digest included).
    pub async fn suppressed_since(
        &self,
        handle: ContactHandle<'_>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.suppression(handle).await?.map(|s| s.at))
    }

    /// The first STOP from this handle, if it ever came, and its channel when it was kept.
    pub async fn suppression(
        &self,
        handle: ContactHandle<'_>,
    ) -> Result<Option<Suppression>, StoreError> {
        let mut earliest: Option<Suppression> = None;
        for key in [suppression_key(handle), legacy_suppression_key(handle)] {
            let Some(item) = self.store.get(&key).await? else {
                continue;
            };
            if let Some(at) = instant(&item, SUPPRESSED_AT)? {
                let channel = item
                    .get(STOP_CHANNEL)
                    .and_then(crate::item::AttrValue::as_s)
                    .map(str::to_owned);
                if earliest.as_ref().is_none_or(|e| at < e.at) {
                    earliest = Some(Suppression { at, channel });
                }
            }
        }
        Ok(earliest)
    }

    /// The id of the customer with this Telegram chat.
    pub async fn by_telegram_chat(&self, chat_id: i64) -> Result<Option<String>, StoreError> {
        self.first_id(Query::partition(telegram_key(chat_id)).on_index(GSI1.name))
            .await
    }

    /// The id of the customer with this E.164 phone.
    pub async fn by_phone(&self, phone: &str) -> Result<Option<String>, StoreError> {
        self.first_id(Query::partition(phone_key(phone)).on_index(GSI2.name))
            .await
    }

    /// Deletes the profile (and with it all personal data).
    pub async fn forget(&self, customer_id: &str) -> Result<(), StoreError> {
        self.store.delete(&customer_key(customer_id), None).await
    }

    async fn first_id(&self, query: Query) -> Result<Option<String>, StoreError> {
        let page = self.store.query(&query.limit(1)).await?;
        page.items
            .first()
            .map(|item| string(item, "customer_id"))
            .transpose()
    }
}
