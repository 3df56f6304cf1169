//! An export held compactly: each distinct text once, work orders and their lines as small
//! records of text ids, dates and amounts in blocks that grow without copying; a work order
//! becomes a visit of the webhook contract only when it is validated or recorded.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::{Index, IndexMut};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use chrono_tz::Tz;
use domain::values::{
    CustomerDto, LineDto, Make, Model, Plate, Recommendation, RecommendationDto, Urgency,
    VehicleDto, VisitDto, VisitParts, WorkOrderId,
};
use domain::{
    AdvisorId, Consents, Customer, CustomerId, FieldError, FirstName, LineKind, Money, Odometer,
    PhoneE164, Quantity, Vehicle, Vin, Visit, VisitErrors, VisitKind, WorkOrderLine,
};
use rust_decimal::Decimal;

use super::decode::TextEncoding;
use super::fields::work_order_code;

/// The dealer-local hour a work order is taken to have closed at: the DMS gives only the day.
pub const CLOSING_HOUR: u32 = 18;

/// The instant a work order closed on `day` is taken to be: [`CLOSING_HOUR`]:00 dealer time.
pub fn closing_instant(day: NaiveDate, tz: Tz) -> DateTime<FixedOffset> {
    let local = day.and_hms_opt(CLOSING_HOUR, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&local)
        .earliest()
        .unwrap_or_else(|| tz.from_utc_datetime(&local))
        .fixed_offset()
}

/// The id of a text in [`Texts`]; [`NONE`] for none.
pub(crate) type TextId = u32;

/// No text, no line, no work order.
pub(crate) const NONE: u32 = u32::MAX;

/// The export's distinct texts (names, VINs, phones, codes), each stored once.
#[derive(Debug, Default)]
pub(crate) struct Texts {
    ids: HashMap<Arc<str>, TextId>,
    all: Vec<Arc<str>>,
}

impl Texts {
    /// The id of `text`, added if new.
    pub fn id(&mut self, text: &str) -> TextId {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.all.len() as TextId;
        let text: Arc<str> = Arc::from(text);
        self.ids.insert(Arc::clone(&text), id);
        self.all.push(text);
        id
    }

    pub fn get(&self, id: TextId) -> &str {
        self.all.get(id as usize).map_or("", |text| text)
    }

    /// Drops the lookup table once no text is added any more.
    pub fn freeze(&mut self) {
        self.ids = HashMap::new();
    }
}

/// A value that would not need checking if hashes never collided: found by a 64-bit hash, with
/// `same` telling apart the entries that share one. `Ok` is the entry, `Err` the free slot.
pub(crate) fn probe(
    slots: &HashMap<u64, u32>,
    mut hash: u64,
    same: impl Fn(u32) -> bool,
) -> Result<u32, u64> {
    loop {
        match slots.get(&hash) {
            Some(&entry) if same(entry) => return Ok(entry),
            Some(_) => hash = hash.wrapping_add(1),
            None => return Err(hash),
        }
    }
}

/// The work-order numbers as written, one per work order (a work order's number has its
/// index), in one buffer.
#[derive(Debug, Default)]
pub(crate) struct Numbers {
    text: String,
    ends: Vec<u32>,
    slots: HashMap<u64, u32>,
    hasher: std::collections::hash_map::RandomState,
}

impl Numbers {
    pub fn get(&self, order: u32) -> &str {
        let i = order as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.ends
            .get(i)
            .and_then(|&end| self.text.get(start..end as usize))
            .unwrap_or("")
    }

    /// The work order with this number, if there is one yet.
    pub fn find(&self, number: &str) -> Option<u32> {
        probe(&self.slots, self.hasher.hash_one(number), |o| {
            self.get(o) == number
        })
        .ok()
    }

    /// Adds the number of the next work order (one found before keeps its work order).
    pub fn add(&mut self, number: &str) -> u32 {
        let hash = self.hasher.hash_one(number);
        let slot = match probe(&self.slots, hash, |o| self.get(o) == number) {
            Ok(found) => return found,
            Err(slot) => slot,
        };
        let order = self.ends.len() as u32;
        self.text.push_str(number);
        self.ends.push(self.text.len() as u32);
        self.slots.insert(slot, order);
        order
    }

    /// Drops the lookup table once no number is added any more.
    pub fn freeze(&mut self) {
        self.slots = HashMap::new();
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// Items per block of [`Blocks`].
const BLOCK: usize = 1 << 14;

/// A vector kept in fixed-size blocks: it grows without copying what it holds.
#[derive(Debug)]
pub(crate) struct Blocks<T> {
    blocks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Blocks<T> {
    fn default() -> Self {
        Blocks {
            blocks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Blocks<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends `value`; its index.
    pub fn push(&mut self, value: T) -> u32 {
        if self.len.is_multiple_of(BLOCK) {
            self.blocks.push(Vec::with_capacity(BLOCK));
        }
        if let Some(block) = self.blocks.last_mut() {
            block.push(value);
        }
        self.len += 1;
        (self.len - 1) as u32
    }

    pub fn get(&self, i: u32) -> Option<&T> {
        let i = i as usize;
        self.blocks.get(i / BLOCK)?.get(i % BLOCK)
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.blocks.iter().flatten()
    }
}

impl<T> Index<u32> for Blocks<T> {
    type Output = T;
    fn index(&self, i: u32) -> &T {
        let i = i as usize;
        &self.blocks[i / BLOCK][i % BLOCK]
    }
}

impl<T> IndexMut<u32> for Blocks<T> {
    fn index_mut(&mut self, i: u32) -> &mut T {
        let i = i as usize;
        &mut self.blocks[i / BLOCK][i % BLOCK]
    }
}

/// One work-order line as the contract accepted it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item {
    pub line: u64,
    /// Kopecks.
    pub price: u64,
    pub cost: u64,
    pub code: TextId,
    pub name: TextId,
    /// Thousandths.
    pub qty: u32,
    /// The work order's next line, or [`NONE`].
    pub next: u32,
    pub kind: LineKind,
}

impl Item {
    pub fn of(line: u64, item: &WorkOrderLine, texts: &mut Texts) -> Item {
        let qty = item.qty.value();
        let thousandths = qty.mantissa() * 10i128.pow(3u32.saturating_sub(qty.scale()));
        Item {
            line,
            price: item.price.kopecks(),
            cost: item.cost.kopecks(),
            code: texts.id(&item.code),
            name: texts.id(&item.name),
            qty: u32::try_from(thousandths).unwrap_or(u32::MAX),
            next: NONE,
            kind: item.kind,
        }
    }

    fn quantity(&self) -> Result<Quantity, domain::values::QuantityError> {
        Quantity::from_decimal(Decimal::new(i64::from(self.qty), 3))
    }

    fn dto(&self, texts: &Texts) -> LineDto {
        let qty = self
            .quantity()
            .map_or_else(|_| String::new(), |q| q.to_string());
        LineDto {
            kind: self.kind.as_str().to_owned(),
            code: texts.get(self.code).to_owned(),
            name: texts.get(self.name).to_owned(),
            qty,
            price: Money::from_kopecks(self.price).to_string(),
            cost: Money::from_kopecks(self.cost).to_string(),
        }
    }
}

/// Work the advisor recommended at a work order and the customer declined: a row of
/// `Рекомендованная работа` and the rows of `Рекомендованная запчасть` after it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Declined {
    /// The row of the recommended work.
    pub line: u64,
    /// The first row of a part, if any.
    pub parts_line: Option<u64>,
    pub code: TextId,
    pub name: TextId,
    pub urgency: Urgency,
    /// Kopecks: the work row's quantity × price, and the parts rows' together.
    pub labor: u64,
    pub parts: u64,
}

impl Declined {
    fn dto(&self, texts: &Texts) -> RecommendationDto {
        RecommendationDto::from(self.recommendation(texts))
    }

    fn recommendation(&self, texts: &Texts) -> Recommendation {
        Recommendation {
            code: texts.get(self.code).to_owned(),
            name: texts.get(self.name).to_owned(),
            urgency: self.urgency,
            labor_estimate: Money::from_kopecks(self.labor),
            parts_estimate: Money::from_kopecks(self.parts),
        }
    }
}

/// A column of a work order whose value did not parse (the problem is reported).
pub(crate) mod unparsed {
    pub const CLOSED_ON: u8 = 1;
    pub const PHONE: u8 = 2;
    pub const FIRST_REGISTRATION: u8 = 4;
    pub const ODOMETER: u8 = 8;
    pub const KIND: u8 = 16;
    pub const PLATE: u8 = 32;
}

/// One work order: its columns as its first row has them (text ids, dates; a value that did
/// not parse is flagged in `unparsed` and never read), the chain of its lines, and what the
/// validation derived for the contract.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub first_line: u64,
    pub odometer_km: i64,
    pub closed_on: NaiveDate,
    pub first_registration: NaiveDate,
    pub client: TextId,
    /// E.164.
    pub phone: TextId,
    pub vin: TextId,
    pub make: TextId,
    pub model: TextId,
    pub advisor: TextId,
    /// Normalised ([`domain::values::Plate`]); `NONE` when the export has none.
    pub plate: TextId,
    pub first_item: u32,
    pub last_item: u32,
    /// Lines the contract accepted, rows of declined work accepted, and rows in all.
    pub items: u32,
    pub declined: u32,
    pub rows: u32,
    pub customer_id: TextId,
    pub first_name: TextId,
    pub advisor_id: TextId,
    pub kind: VisitKind,
    pub unparsed: u8,
}

impl Order {
    pub fn parsed(&self, flag: u8) -> bool {
        self.unparsed & flag == 0
    }
}

/// A valid export: its work orders, oldest first (a day's work orders in the order of the
/// file), each recorded as the visit the CRM would have sent.
#[derive(Debug)]
pub struct ParsedExport {
    pub encoding: TextEncoding,
    /// Work-order lines (data rows).
    pub lines: usize,
    /// Distinct VINs.
    pub vehicles: usize,
    /// Distinct phones: the export's customers.
    pub customers: usize,
    pub(crate) texts: Texts,
    pub(crate) numbers: Numbers,
    pub(crate) orders: Blocks<Order>,
    pub(crate) items: Blocks<Item>,
    /// Declined work by work order (few work orders have any).
    pub(crate) declined: HashMap<u32, Vec<Declined>>,
    /// The work orders, oldest first.
    pub(crate) sorted: Vec<u32>,
    pub(crate) tz: Tz,
}

impl ParsedExport {
    pub fn work_orders(&self) -> usize {
        self.sorted.len()
    }

    /// The visits, oldest first, as they will be recorded (built one by one: for tests and
    /// small exports).
    pub fn visits(&self) -> Vec<Visit> {
        self.sorted
            .iter()
            .filter_map(|&order| self.visit(order).ok())
            .collect()
    }

    /// The work orders, oldest first.
    pub(crate) fn in_order(&self) -> impl Iterator<Item = (u32, &Order)> + '_ {
        self.sorted.iter().map(|&id| (id, &self.orders[id]))
    }

    /// The lines of a work order, in the order of the file.
    pub(crate) fn items_of(&self, order: &Order) -> impl Iterator<Item = &Item> + '_ {
        let mut next = order.first_item;
        std::iter::from_fn(move || {
            let item = self.items.get(next)?;
            next = item.next;
            Some(item)
        })
    }

    /// The declined work of the work order `id`, in the order of the file.
    pub(crate) fn declined_of(&self, id: u32) -> &[Declined] {
        self.declined.get(&id).map_or(&[], Vec::as_slice)
    }

    /// The body the CRM would have sent for the work order `id`.
    pub(crate) fn dto(&self, id: u32) -> VisitDto {
        let order = &self.orders[id];
        let text = |id| self.texts.get(id).to_owned();
        VisitDto {
            work_order_id: work_order_code(self.numbers.get(id)),
            closed_at: closing_instant(order.closed_on, self.tz).to_rfc3339(),
            kind: order.kind.as_str().to_owned(),
            odometer_km: order.odometer_km,
            advisor_id: (order.advisor_id != NONE).then(|| text(order.advisor_id)),
            customer: CustomerDto {
                id: text(order.customer_id),
                first_name: text(order.first_name),
                phone: text(order.phone),
                telegram_chat_id: None,
                consents: Consents::default(),
            },
            vehicle: VehicleDto {
                vin: text(order.vin),
                make: text(order.make),
                model: text(order.model),
                first_registration: order.first_registration.format("%Y-%m-%d").to_string(),
                warranty_until: None,
                plate: (order.plate != NONE).then(|| text(order.plate)),
            },
            lines: self
                .items_of(order)
                .map(|item| item.dto(&self.texts))
                .collect(),
            recommendations: self
                .declined_of(id)
                .iter()
                .map(|d| d.dto(&self.texts))
                .collect(),
        }
    }

    /// The work order `id` as a visit of the contract.
    pub(crate) fn visit(&self, id: u32) -> Result<Visit, VisitErrors> {
        Visit::try_from(self.dto(id))
    }

    /// The visit [`ParsedExport::visit`] makes of a work order of the export (validated when
    /// it was read), built from its values rather than from their text.
    pub(crate) fn valid_visit(&self, id: u32) -> Result<Visit, VisitErrors> {
        fn at<T, E: std::fmt::Display>(field: &str, r: Result<T, E>) -> Result<T, VisitErrors> {
            r.map_err(|e| VisitErrors(vec![FieldError::new(field, e)]))
        }
        let order = &self.orders[id];
        let text = |id| self.texts.get(id);
        let customer = Customer {
            id: at("customer.id", CustomerId::parse(text(order.customer_id)))?,
            first_name: at(
                "customer.first_name",
                FirstName::parse(text(order.first_name)),
            )?,
            phone: at("customer.phone", PhoneE164::parse(text(order.phone)))?,
            telegram_chat_id: None,
            consents: Consents::default(),
        };
        let vehicle = Vehicle::new(
            at("vehicle.vin", Vin::parse(text(order.vin)))?,
            at("vehicle.make", Make::parse(text(order.make)))?,
            at("vehicle.model", Model::parse(text(order.model)))?,
            order.first_registration,
            None,
        );
        let plate = (order.plate != NONE)
            .then(|| at("vehicle.plate", Plate::parse(text(order.plate))))
            .transpose()?;
        let lines = self
            .items_of(order)
            .map(|item| {
                Ok(WorkOrderLine {
                    kind: item.kind,
                    code: text(item.code).to_owned(),
                    name: text(item.name).to_owned(),
                    qty: at("lines", item.quantity())?,
                    price: Money::from_kopecks(item.price),
                    cost: Money::from_kopecks(item.cost),
                })
            })
            .collect::<Result<Vec<_>, VisitErrors>>()?;
        let advisor_id = (order.advisor_id != NONE)
            .then(|| at("advisor_id", AdvisorId::parse(text(order.advisor_id))))
            .transpose()?;
        let code = work_order_code(self.numbers.get(id));
        let parts = VisitParts {
            work_order_id: at("work_order_id", WorkOrderId::parse(&code))?,
            closed_at: closing_instant(order.closed_on, self.tz),
            kind: order.kind,
            odometer: at("odometer_km", Odometer::new(order.odometer_km))?,
            advisor_id,
            customer,
            vehicle: at("vehicle", vehicle)?.with_plate(plate),
            lines,
            recommendations: self
                .declined_of(id)
                .iter()
                .map(|d| d.recommendation(&self.texts))
                .collect(),
        };
        at("$", Visit::new(parts))
    }
}
