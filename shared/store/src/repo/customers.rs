//! Customer profiles: the one entity holding personal data; everything else refers to its id.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{data, string, with_data};
use crate::item::{Item, Key};
use crate::port::{Query, Store, StoreError};
use crate::table::{GSI1, GSI2};

use super::visits::PROFILE;

const CUSTOMER: &str = "customer";

fn customer_pk(customer_id: &str) -> String {
    format!("CUST#{customer_id}")
}

fn telegram_key(chat_id: i64) -> String {
    format!("TG#{chat_id}")
}

fn phone_key(phone: &str) -> String {
    format!("PHONE#{phone}")
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
}

pub(crate) fn customer_item<C: Serialize>(r: &CustomerRecord<'_, C>) -> Result<Item, StoreError> {
    let mut item = with_data(
        &Key::new(customer_pk(r.customer_id), PROFILE),
        CUSTOMER,
        r.profile,
    )?;
    item.insert("customer_id".into(), r.customer_id.into());
    if let Some(chat) = r.telegram_chat_id {
        item.insert(GSI1.pk.into(), telegram_key(chat).into());
        item.insert(GSI1.sk.into(), customer_pk(r.customer_id).into());
    }
    if let Some(phone) = r.phone {
        item.insert(GSI2.pk.into(), phone_key(phone).into());
        item.insert(GSI2.sk.into(), customer_pk(r.customer_id).into());
    }
    Ok(item)
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

    /// Stores (replaces) a customer profile.
    pub async fn put<C: Serialize>(
        &self,
        record: &CustomerRecord<'_, C>,
    ) -> Result<(), StoreError> {
        self.store.put(customer_item(record)?, None).await
    }

    pub async fn get<C: DeserializeOwned>(
        &self,
        customer_id: &str,
    ) -> Result<Option<StoredCustomer<C>>, StoreError> {
        match self
            .store
            .get(&Key::new(customer_pk(customer_id), PROFILE))
            .await?
        {
            Some(item) => Ok(Some(StoredCustomer {
                customer_id: string(&item, "customer_id")?,
                profile: data(&item)?,
            })),
            None => Ok(None),
        }
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
        self.store
            .delete(&Key::new(customer_pk(customer_id), PROFILE), None)
            .await
    }

    async fn first_id(&self, query: Query) -> Result<Option<String>, StoreError> {
        let page = self.store.query(&query.limit(1)).await?;
        page.items
            .first()
            .map(|item| string(item, "customer_id"))
            .transpose()
    }
}
