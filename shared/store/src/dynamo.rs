//! DynamoDB backend (and DynamoDB-compatible services): the port over aws-sdk-dynamodb.
//!
//! Uses GetItem, PutItem/UpdateItem/DeleteItem with condition expressions, Query, Scan with
//! segments, TransactWriteItems and BatchWriteItem only. Retries of throttled or failed calls are
//! the SDK's (its retry config); only `UnprocessedItems` of a batch are re-sent here, with backoff.
//! TTL deletion in DynamoDB is lazy, so expired items are filtered on read and treated as absent
//! in conditions, as the embedded store does.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    self as ddb, AttributeDefinition, BillingMode, DeleteRequest, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, PutRequest, ReturnValue,
    ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;

use crate::expr::{Condition, SortKey, Update};
use crate::item::{AttrValue, Item, Key};
use crate::port::{
    now_epoch, validate_item, validate_key, validate_transaction, BatchOp, Cursor, ItemRead,
    ItemWrite, Page, Query, Scan, StoreError, WriteOp,
};
use crate::table::{GsiSpec, TableSpec, PK, SK, TABLE, TTL};

type DdbItem = HashMap<String, ddb::AttributeValue>;

/// Most requests of one BatchWriteItem call.
const BATCH_SIZE: usize = 25;
/// Rounds of re-sending `UnprocessedItems` before giving up.
const UNPROCESSED_ROUNDS: u32 = 8;

/// The port on a DynamoDB table. Clones share the client.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// The instant TTLs are checked against (epoch seconds); the wall clock when `None`.
    ttl_clock: Option<i64>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            ttl_clock: None,
        }
    }

    fn now(&self) -> i64 {
        self.ttl_clock.unwrap_or_else(now_epoch)
    }

    /// A store on `table` with the client configured from the environment (region,
    /// credentials, retries) as the SDK does by default.
    pub async fn from_env(table: impl Into<String>) -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::new(Client::new(&config), table)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }
}

fn to_ddb(item: &Item) -> DdbItem {
    item.iter()
        .map(|(k, v)| (k.clone(), to_ddb_value(v)))
        .collect()
}

fn to_ddb_value(v: &AttrValue) -> ddb::AttributeValue {
    serde_dynamo::AttributeValue::from(v).into()
}

fn from_ddb(item: DdbItem) -> Result<Item, StoreError> {
    item.into_iter()
        .map(|(k, v)| {
            let av = AttrValue::try_from(serde_dynamo::AttributeValue::from(v))?;
            Ok((k, av))
        })
        .collect()
}

fn key_map(key: &Key) -> DdbItem {
    to_ddb(&key.to_item())
}

/// Placeholders for names and values of one request's expressions.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: DdbItem,
}

impl Expr {
    fn name(&mut self, name: &str) -> String {
        if let Some((p, _)) = self.names.iter().find(|(_, n)| n.as_str() == name) {
            return p.clone();
        }
        let p = format!("#n{}", self.names.len());
        self.names.insert(p.clone(), name.to_owned());
        p
    }

    fn value(&mut self, value: &AttrValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), to_ddb_value(value));
        p
    }

    fn condition(&mut self, c: &Condition) -> String {
        let cmp = |this: &mut Expr, n: &str, op: &str, v: &AttrValue| {
            format!("{} {op} {}", this.name(n), this.value(v))
        };
        match c {
            Condition::Exists(n) => format!("attribute_exists({})", self.name(n)),
            Condition::NotExists(n) => format!("attribute_not_exists({})", self.name(n)),
            Condition::Eq(n, v) => cmp(self, n, "=", v),
            Condition::Lt(n, v) => cmp(self, n, "<", v),
            Condition::Le(n, v) => cmp(self, n, "<=", v),
            Condition::Gt(n, v) => cmp(self, n, ">", v),
            Condition::Ge(n, v) => cmp(self, n, ">=", v),
            Condition::BeginsWith(n, p) => {
                let name = self.name(n);
                let value = self.value(&AttrValue::S(p.clone()));
                format!("begins_with({name}, {value})")
            }
            Condition::And(all) | Condition::Or(all) if all.is_empty() => {
                let pk = self.name(PK);
                let always = format!("(attribute_exists({pk}) OR attribute_not_exists({pk}))");
                if matches!(c, Condition::And(_)) {
                    always
                } else {
                    format!("(NOT {always})")
                }
            }
            Condition::And(all) => self.join(all, " AND "),
            Condition::Or(any) => self.join(any, " OR "),
        }
    }

    fn join(&mut self, parts: &[Condition], sep: &str) -> String {
        let parts: Vec<String> = parts.iter().map(|c| self.condition(c)).collect();
        format!("({})", parts.join(sep))
    }

    fn sort_key(&mut self, name: &str, sk: &SortKey) -> String {
        let n = self.name(name);
        let mut v = |s: &str| self.value(&AttrValue::S(s.to_owned()));
        match sk {
            SortKey::Eq(s) => format!("{n} = {}", v(s)),
            SortKey::BeginsWith(s) => format!("begins_with({n}, {})", v(s)),
            SortKey::Between(a, b) => {
                let a = v(a);
                format!("{n} BETWEEN {a} AND {}", v(b))
            }
            SortKey::Lt(s) => format!("{n} < {}", v(s)),
            SortKey::Le(s) => format!("{n} <= {}", v(s)),
            SortKey::Gt(s) => format!("{n} > {}", v(s)),
            SortKey::Ge(s) => format!("{n} >= {}", v(s)),
        }
    }

    fn update(&mut self, u: &Update) -> String {
        let mut clauses = Vec::new();
        if !u.set.is_empty() {
            let sets: Vec<String> = u
                .set
                .iter()
                .map(|(n, v)| format!("{} = {}", self.name(n), self.value(v)))
                .collect();
            clauses.push(format!("SET {}", sets.join(", ")));
        }
        if !u.add.is_empty() {
            let adds: Vec<String> = u
                .add
                .iter()
                .map(|(n, by)| {
                    format!("{} {}", self.name(n), self.value(&AttrValue::N(by.clone())))
                })
                .collect();
            clauses.push(format!("ADD {}", adds.join(", ")));
        }
        if !u.remove.is_empty() {
            let removes: Vec<String> = u.remove.iter().map(|n| self.name(n)).collect();
            clauses.push(format!("REMOVE {}", removes.join(", ")));
        }
        clauses.join(" ")
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<DdbItem> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// The condition with expired items counting as absent, as the port requires.
fn ttl_aware(c: &Condition, now: i64) -> Condition {
    if c.holds(None) {
        c.clone().or(Condition::le(TTL, now))
    } else {
        Condition::NotExists(TTL.into())
            .or(Condition::gt(TTL, now))
            .and(c.clone())
    }
}

fn not_expired(now: i64) -> Condition {
    Condition::NotExists(TTL.into()).or(Condition::gt(TTL, now))
}

fn is_visible(item: &Item, now: i64) -> bool {
    !crate::port::is_expired(item, now)
}

/// Maps an SDK error to the port's; `ConditionalCheckFailed` becomes `ConditionFailed`.
fn map_err<E, R>(e: SdkError<E, R>, what: &'static str) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match e.code() {
        Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
        Some("TransactionConflictException" | "TransactionInProgressException") => {
            StoreError::Conflict
        }
        Some("ValidationException") => {
            StoreError::Invalid(e.message().unwrap_or("rejected by DynamoDB").to_owned())
        }
        _ => StoreError::Backend(anyhow::Error::new(e).context(what)),
    }
}

fn map_transaction_err<R>(e: SdkError<TransactWriteItemsError, R>) -> StoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(service) = &e {
        if let TransactWriteItemsError::TransactionCanceledException(canceled) = service.err() {
            let reasons = canceled.cancellation_reasons();
            if let Some(index) = reasons
                .iter()
                .position(|r| r.code() == Some("ConditionalCheckFailed"))
            {
                return StoreError::TransactionConditionFailed { index };
            }
            if reasons
                .iter()
                .any(|r| matches!(r.code(), Some("TransactionConflict")))
            {
                return StoreError::Conflict;
            }
            if let Some(r) = reasons.iter().find(|r| r.code() == Some("ValidationError")) {
                return StoreError::Invalid(
                    r.message()
                        .unwrap_or("transaction rejected by DynamoDB")
                        .to_owned(),
                );
            }
        }
    }
    map_err(e, "TransactWriteItems")
}

fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Invalid(e.to_string())
}

fn gsi_of(index: Option<&'static str>) -> Result<Option<&'static GsiSpec>, StoreError> {
    index
        .map(|name| {
            TABLE
                .gsi(name)
                .ok_or_else(|| StoreError::Invalid(format!("no index named {name}")))
        })
        .transpose()
}

fn start_key(cursor: &Cursor) -> DdbItem {
    cursor
        .keys()
        .into_iter()
        .map(|(k, v)| (k, ddb::AttributeValue::S(v)))
        .collect()
}

/// Collects items from successive DynamoDB pages into one port page of `limit` items.
struct Pager {
    limit: usize,
    index: Option<&'static GsiSpec>,
    now: i64,
    page: Page,
}

impl Pager {
    /// Takes one DynamoDB page; returns the cursor to fetch the next one from, if needed.
    fn take(
        &mut self,
        items: Vec<DdbItem>,
        lek: Option<DdbItem>,
    ) -> Result<Option<DdbItem>, StoreError> {
        let count = items.len();
        for (i, raw) in items.into_iter().enumerate() {
            let item = from_ddb(raw)?;
            if !is_visible(&item, self.now) {
                continue;
            }
            self.page.items.push(item);
            if self.page.items.len() >= self.limit {
                let exhausted = i + 1 == count && lek.is_none();
                self.page.cursor = if exhausted {
                    None
                } else {
                    let last = self.page.items.last().expect("just pushed");
                    Some(Cursor::after(last, self.index))
                };
                return Ok(None);
            }
        }
        Ok(lek.filter(|m| !m.is_empty()))
    }

    fn remaining(&self) -> Option<i32> {
        (self.limit != usize::MAX)
            .then(|| (self.limit - self.page.items.len()).min(i32::MAX as usize) as i32)
    }
}

impl crate::port::TtlClock for DynamoStore {
    fn with_ttl_clock(self, at: chrono::DateTime<chrono::Utc>) -> Self {
        DynamoStore {
            ttl_clock: Some(at.timestamp()),
            ..self
        }
    }
}

impl ItemRead for DynamoStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        validate_key(key)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| map_err(e, "GetItem"))?;
        match out.item {
            Some(raw) => {
                let item = from_ddb(raw)?;
                Ok(is_visible(&item, self.now()).then_some(item))
            }
            None => Ok(None),
        }
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        let gsi = gsi_of(q.index)?;
        let now = self.now();
        let mut expr = Expr::default();
        let pk_name = expr.name(gsi.map_or(PK, |g| g.pk));
        let pk_value = expr.value(&AttrValue::S(q.pk.clone()));
        let mut key_condition = format!("{pk_name} = {pk_value}");
        if let Some(sk) = &q.sk {
            let sk = expr.sort_key(gsi.map_or(SK, |g| g.sk), sk);
            key_condition = format!("{key_condition} AND {sk}");
        }
        let filter = match &q.filter {
            Some(f) => f.clone().and(not_expired(now)),
            None => not_expired(now),
        };
        let filter = expr.condition(&filter);
        let mut pager = Pager {
            limit: q.limit.map_or(usize::MAX, |l| l.max(1) as usize),
            index: gsi,
            now,
            page: Page::default(),
        };
        let mut start = q.cursor.as_ref().map(start_key);
        loop {
            let limit = if q.filter.is_none() {
                pager.remaining()
            } else {
                None
            };
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(q.index.map(str::to_owned))
                .key_condition_expression(&key_condition)
                .filter_expression(&filter)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .scan_index_forward(!q.descending)
                .consistent_read(gsi.is_none())
                .set_limit(limit)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| map_err(e, "Query"))?;
            match pager.take(out.items.unwrap_or_default(), out.last_evaluated_key)? {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        Ok(pager.page)
    }

    async fn scan(&self, s: &Scan) -> Result<Page, StoreError> {
        s.validate()?;
        let gsi = gsi_of(s.index)?;
        let now = self.now();
        let mut expr = Expr::default();
        let filter = match &s.filter {
            Some(f) => f.clone().and(not_expired(now)),
            None => not_expired(now),
        };
        let filter = expr.condition(&filter);
        let mut pager = Pager {
            limit: s.limit.map_or(usize::MAX, |l| l.max(1) as usize),
            index: gsi,
            now,
            page: Page::default(),
        };
        let mut start = s.cursor.as_ref().map(start_key);
        loop {
            let limit = if s.filter.is_none() {
                pager.remaining()
            } else {
                None
            };
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .set_index_name(s.index.map(str::to_owned))
                .segment(s.segment as i32)
                .total_segments(s.total_segments as i32)
                .filter_expression(&filter)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .consistent_read(gsi.is_none())
                .set_limit(limit)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| map_err(e, "Scan"))?;
            match pager.take(out.items.unwrap_or_default(), out.last_evaluated_key)? {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        Ok(pager.page)
    }
}

impl ItemWrite for DynamoStore {
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        validate_item(&item)?;
        let mut expr = Expr::default();
        let condition = condition.map(|c| expr.condition(&ttl_aware(&c, self.now())));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_ddb(&item)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map_err(|e| map_err(e, "PutItem"))?;
        Ok(())
    }

    async fn update(&self, update: Update) -> Result<Item, StoreError> {
        validate_transaction(std::slice::from_ref(&WriteOp::Update(update.clone())))?;
        let mut expr = Expr::default();
        let update_expression = expr.update(&update);
        let condition = update
            .condition
            .as_ref()
            .map(|c| expr.condition(&ttl_aware(c, self.now())));
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(&update.key)))
            .update_expression(update_expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| map_err(e, "UpdateItem"))?;
        from_ddb(out.attributes.unwrap_or_default())
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<(), StoreError> {
        validate_key(key)?;
        let mut expr = Expr::default();
        let condition = condition.map(|c| expr.condition(&ttl_aware(&c, self.now())));
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map_err(|e| map_err(e, "DeleteItem"))?;
        Ok(())
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_transaction(&ops)?;
        let now = self.now();
        let mut items = Vec::with_capacity(ops.len());
        for op in &ops {
            let mut expr = Expr::default();
            let condition = op.condition().map(|c| expr.condition(&ttl_aware(c, now)));
            let item = match op {
                WriteOp::Put { item, .. } => TransactWriteItem::builder().put(
                    ddb::Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(to_ddb(item)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(build_err)?,
                ),
                WriteOp::Update(u) => {
                    let update_expression = expr.update(u);
                    TransactWriteItem::builder().update(
                        ddb::Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_map(&u.key)))
                            .update_expression(update_expression)
                            .set_condition_expression(condition)
                            .set_expression_attribute_names(expr.names())
                            .set_expression_attribute_values(expr.values())
                            .build()
                            .map_err(build_err)?,
                    )
                }
                WriteOp::Delete { key, .. } => TransactWriteItem::builder().delete(
                    ddb::Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(build_err)?,
                ),
                WriteOp::Check { key, .. } => TransactWriteItem::builder().condition_check(
                    ddb::ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(build_err)?,
                ),
            };
            items.push(item.build());
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(map_transaction_err)?;
        Ok(())
    }

    async fn batch_write(&self, ops: Vec<BatchOp>) -> Result<(), StoreError> {
        let mut requests = Vec::with_capacity(ops.len());
        for op in ops {
            let request = match op {
                BatchOp::Put(item) => {
                    validate_item(&item)?;
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(to_ddb(&item)))
                                .build()
                                .map_err(build_err)?,
                        )
                        .build()
                }
                BatchOp::Delete(key) => {
                    validate_key(&key)?;
                    WriteRequest::builder()
                        .delete_request(
                            DeleteRequest::builder()
                                .set_key(Some(key_map(&key)))
                                .build()
                                .map_err(build_err)?,
                        )
                        .build()
                }
            };
            requests.push(request);
        }
        while !requests.is_empty() {
            let rest = requests.split_off(requests.len().min(BATCH_SIZE));
            let mut pending = std::mem::replace(&mut requests, rest);
            let mut round = 0;
            while !pending.is_empty() {
                if round > 0 {
                    if round > UNPROCESSED_ROUNDS {
                        return Err(StoreError::Backend(anyhow::anyhow!(
                            "BatchWriteItem left {} items unprocessed after {UNPROCESSED_ROUNDS} retries",
                            pending.len()
                        )));
                    }
                    let backoff = 25u64 << round.min(6);
                    tokio::time::sleep(Duration::from_millis(backoff)).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| map_err(e, "BatchWriteItem"))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                round += 1;
            }
        }
        Ok(())
    }
}

/// Creates the table described by `spec` (on-demand billing, TTL on) and waits until it is
/// active. For tests and local emulators; the deployed table comes from `infra/template.yaml`.
pub async fn create_table(client: &Client, name: &str, spec: &TableSpec) -> Result<(), StoreError> {
    let key = |attr: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(attr)
            .key_type(kind)
            .build()
            .map_err(build_err)
    };
    let mut attributes = vec![spec.pk, spec.sk];
    for g in spec.gsis {
        attributes.extend([g.pk, g.sk]);
    }
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(spec.pk, KeyType::Hash)?)
        .key_schema(key(spec.sk, KeyType::Range)?);
    for attr in attributes {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attr)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_err)?,
        );
    }
    for g in spec.gsis {
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(g.name)
                .key_schema(key(g.pk, KeyType::Hash)?)
                .key_schema(key(g.sk, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(build_err)?,
        );
    }
    create.send().await.map_err(|e| map_err(e, "CreateTable"))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(spec.ttl)
                .enabled(true)
                .build()
                .map_err(build_err)?,
        )
        .send()
        .await
        .map_err(|e| map_err(e, "UpdateTimeToLive"))?;
    for _ in 0..120 {
        let out = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| map_err(e, "DescribeTable"))?;
        let status = out.table.and_then(|t| t.table_status);
        if status == Some(ddb::TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(StoreError::Backend(anyhow::anyhow!(
        "table {name} did not become active"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_item_counts_as_absent_in_a_condition() {
        let now = 1_000;
        let mut expired = Key::new("P", "S").to_item();
        expired.insert(TTL.into(), 999.into());
        expired.insert("state".into(), "DONE".into());
        let absent = ttl_aware(&Condition::absent(), now);
        assert!(absent.holds(Some(&expired)));
        let done = ttl_aware(&Condition::eq("state", "DONE"), now);
        assert!(!done.holds(Some(&expired)));
        expired.insert(TTL.into(), 1_001.into());
        assert!(!absent.holds(Some(&expired)));
        assert!(ttl_aware(&Condition::eq("state", "DONE"), now).holds(Some(&expired)));
    }

    #[test]
    fn expressions_use_placeholders_for_every_name_and_value() {
        let mut e = Expr::default();
        let c = Condition::absent()
            .or(Condition::eq("state", "PENDING").and(Condition::lt("lease", 5)));
        let text = e.condition(&c);
        assert_eq!(
            text,
            "(attribute_not_exists(#n0) OR (#n1 = :v0 AND #n2 < :v1))"
        );
        assert_eq!(
            e.names().unwrap().get("#n2").map(String::as_str),
            Some("lease")
        );
    }
}
