//! Rows into work orders: the export is read row by row, rows of one `Заказ-наряд` (adjacent or
//! not) make one work order, and each work order is validated by the contract's own rules as
//! the visit the webhook would receive, each problem traced back to the line and column it came
//! from. Only the compact [`ParsedExport`] is kept, never the text of the file.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::mpsc;

use chrono_tz::Tz;
use domain::{FieldError, VisitKind};

use super::decode::{Text, TextEncoding, TextError};
use super::export::{
    probe, unparsed, Blocks, Declined, Item, Numbers, Order, ParsedExport, TextId, Texts, NONE,
};
use super::fields::{self, quoted, Column};
use super::records::{Batch, Record, Records};
use super::rows::{
    check_header, dms_date, line_column, parse_row, shown, ImportError, ImportErrors, OrderFields,
    RowItem,
};

/// The work orders of the rows read so far.
#[derive(Default)]
struct Drafts {
    texts: Texts,
    numbers: Numbers,
    orders: Blocks<Order>,
    items: Blocks<Item>,
    declined: HashMap<u32, Vec<Declined>>,
    lines: usize,
    errors: ImportErrors,
    /// Columns of the header, so of every row.
    columns: usize,
}

fn single(error: ImportError) -> ImportErrors {
    let mut errors = ImportErrors::default();
    errors.push(error);
    errors
}

/// Decodes, reads and validates a whole DMS export held in memory; nothing is stored. Every
/// problem is reported with its line and column.
pub fn parse_export(bytes: Vec<u8>, tz: Tz) -> Result<ParsedExport, ImportErrors> {
    match read_export(io::Cursor::new(bytes), tz) {
        Ok(parsed) => parsed,
        Err(e) => Err(single(ImportError::line(0, format!("unreadable: {e}")))),
    }
}

/// Reads and validates a whole DMS export from `source` a piece at a time (read twice when it
/// turns out to be Windows-1251 after a UTF-8 start); nothing is stored. Every problem is
/// reported with its line and column; an `Err` is a failure to read the source.
pub fn read_export<R: Read + Seek + Send>(
    mut source: R,
    tz: Tz,
) -> io::Result<Result<ParsedExport, ImportErrors>> {
    match read_rows(Text::new(&mut source, false), tz) {
        Err(TextError::NotUtf8) => {
            source.seek(SeekFrom::Start(0))?;
            match read_rows(Text::new(&mut source, true), tz) {
                Err(TextError::NotUtf8) => Err(io::Error::other("undecodable text")),
                Err(TextError::Io(e)) => Err(e),
                Ok(parsed) => Ok(parsed),
            }
        }
        Err(TextError::Io(e)) => Err(e),
        Ok(parsed) => Ok(parsed),
    }
}

/// Records handed from the reading thread to the parsing one at a time.
const BATCH: usize = 4096;

/// Reads the rows on two threads: one decodes the text and splits it into records, the other
/// parses them into work orders.
fn read_rows<R: Read + Send>(
    text: Text<R>,
    tz: Tz,
) -> Result<Result<ParsedExport, ImportErrors>, TextError> {
    let mut records = Records::new(text);
    let mut header = Batch::default();
    if !records.next_record(&mut header)? {
        let message = format!(
            "the file is empty; expected the header {:?}",
            fields::header()
        );
        return Ok(Err(single(ImportError::line(1, message))));
    }
    let columns = match check_header(header.get(0)) {
        Ok(columns) => columns,
        Err(e) => return Ok(Err(single(e))),
    };
    let mut drafts = Drafts {
        columns,
        ..Drafts::default()
    };
    let encoding = std::thread::scope(|scope| {
        let (full, batches) = mpsc::sync_channel::<Result<Batch, TextError>>(2);
        let (empty, recycled) = mpsc::channel::<Batch>();
        let reader = scope.spawn(move || {
            let mut more = true;
            while more {
                let mut batch = recycled.try_recv().unwrap_or_default();
                batch.clear();
                while batch.len() < BATCH {
                    match records.next_record(&mut batch) {
                        Ok(true) => {}
                        Ok(false) => {
                            more = false;
                            break;
                        }
                        Err(e) => {
                            let _ = full.send(Err(e));
                            return None;
                        }
                    }
                }
                if full.send(Ok(batch)).is_err() {
                    return None;
                }
            }
            Some(records.text().encoding())
        });
        for batch in batches {
            let batch = batch?;
            for record in batch.iter() {
                if record.iter().all(|field| field.trim().is_empty()) {
                    continue;
                }
                drafts.lines += 1;
                drafts.add(record);
            }
            // Back to the reader for reuse; once it is done, dropped.
            let _ = empty.send(batch);
        }
        reader
            .join()
            .ok()
            .flatten()
            .ok_or_else(|| TextError::Io(io::Error::other("the reading thread failed")))
    })?;
    Ok(drafts.finish(tz).map(|mut export| {
        export.encoding = encoding;
        export
    }))
}

impl Drafts {
    fn add(&mut self, record: Record<'_>) {
        let Some(row) = parse_row(record, self.columns, &mut self.errors) else {
            return;
        };
        if row.order.number.is_empty() {
            return;
        }
        let id = match self.numbers.find(row.order.number) {
            Some(id) => {
                let first = &self.orders[id];
                for column in self.disagreements(first, &row.order) {
                    let error = self.disagreement(id, &row.order, row.line, column);
                    self.errors.push(error);
                }
                id
            }
            None => self.start(&row.order, row.line),
        };
        let order = &mut self.orders[id];
        order.rows += 1;
        match &row.item {
            Some(RowItem::Line(item)) => {
                let at = self.items.push(Item::of(row.line, item, &mut self.texts));
                if order.first_item == NONE {
                    order.first_item = at;
                } else {
                    self.items[order.last_item].next = at;
                }
                order.last_item = at;
                order.items += 1;
            }
            Some(RowItem::RecommendedWork { line, urgency }) => {
                self.declined.entry(id).or_default().push(Declined {
                    line: row.line,
                    parts_line: None,
                    code: self.texts.id(&line.code),
                    name: self.texts.id(&line.name),
                    urgency: *urgency,
                    labor: line.total_price().kopecks(),
                    parts: 0,
                });
                order.declined += 1;
            }
            Some(RowItem::RecommendedPart(part)) => {
                match self.declined.get_mut(&id).and_then(|d| d.last_mut()) {
                    Some(work) => {
                        work.parts = work.parts.saturating_add(part.total_price().kopecks());
                        work.parts_line.get_or_insert(row.line);
                        order.declined += 1;
                    }
                    None => self.errors.push(ImportError::at(
                        row.line,
                        Column::LineKind,
                        "a recommended part belongs to the recommended work (Рекомендованная \
                         работа) before it in the same work order, and there is none",
                    )),
                }
            }
            None => {}
        }
    }

    /// A new work order from its first row.
    fn start(&mut self, row: &OrderFields<'_>, line: u64) -> u32 {
        let id = self.numbers.add(row.number);
        let texts = &mut self.texts;
        let flag = |parsed: bool, flag: u8| if parsed { 0 } else { flag };
        let unparsed = flag(row.closed_on.is_some(), unparsed::CLOSED_ON)
            | flag(row.phone.is_some(), unparsed::PHONE)
            | flag(
                row.first_registration.is_some(),
                unparsed::FIRST_REGISTRATION,
            )
            | flag(row.odometer_km.is_some(), unparsed::ODOMETER)
            | flag(row.kind.is_some(), unparsed::KIND)
            | flag(row.plate.is_some(), unparsed::PLATE);
        let pushed = self.orders.push(Order {
            first_line: line,
            odometer_km: row.odometer_km.unwrap_or_default(),
            closed_on: row.closed_on.unwrap_or_default(),
            first_registration: row.first_registration.unwrap_or_default(),
            client: texts.id(&row.client),
            phone: row.phone.as_deref().map_or(NONE, |p| texts.id(p)),
            vin: texts.id(&row.vin),
            make: texts.id(row.make),
            model: texts.id(row.model),
            advisor: texts.id(&row.advisor),
            plate: match &row.plate {
                Some(Some(plate)) => texts.id(plate.as_str()),
                _ => NONE,
            },
            first_item: NONE,
            last_item: NONE,
            items: 0,
            declined: 0,
            rows: 0,
            customer_id: NONE,
            first_name: NONE,
            advisor_id: NONE,
            kind: row.kind.unwrap_or(VisitKind::Maintenance),
            unparsed,
        });
        debug_assert_eq!(id, pushed);
        id
    }

    /// The order-level columns of a later row that disagree with the work order's first row
    /// (values that did not parse are not compared).
    fn disagreements(&self, first: &Order, later: &OrderFields<'_>) -> Vec<Column> {
        fn differ<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
            matches!((a, b), (Some(a), Some(b)) if a != b)
        }
        fn value<T>(order: &Order, flag: u8, value: T) -> Option<T> {
            order.parsed(flag).then_some(value)
        }
        let text = |id| self.texts.get(id);
        let checks = [
            (
                Column::ClosedOn,
                differ(
                    value(first, unparsed::CLOSED_ON, first.closed_on),
                    later.closed_on,
                ),
            ),
            (Column::Customer, text(first.client) != later.client),
            (
                Column::Phone,
                differ(
                    value(first, unparsed::PHONE, text(first.phone)),
                    later.phone.as_deref(),
                ),
            ),
            (Column::Vin, text(first.vin) != later.vin),
            (Column::Make, text(first.make) != later.make),
            (Column::Model, text(first.model) != later.model),
            (
                Column::FirstRegistration,
                differ(
                    value(
                        first,
                        unparsed::FIRST_REGISTRATION,
                        first.first_registration,
                    ),
                    later.first_registration,
                ),
            ),
            (
                Column::Odometer,
                differ(
                    value(first, unparsed::ODOMETER, first.odometer_km),
                    later.odometer_km,
                ),
            ),
            (
                Column::RepairKind,
                differ(value(first, unparsed::KIND, first.kind), later.kind),
            ),
            (Column::Advisor, text(first.advisor) != later.advisor),
            (
                Column::Plate,
                differ(
                    value(first, unparsed::PLATE, {
                        (first.plate != NONE).then(|| text(first.plate))
                    }),
                    later.plate.as_ref().map(|p| p.as_ref().map(|p| p.as_str())),
                ),
            ),
        ];
        checks
            .into_iter()
            .filter(|&(_, differs)| differs)
            .map(|(column, _)| column)
            .collect()
    }

    fn disagreement(
        &self,
        id: u32,
        later: &OrderFields<'_>,
        line: u64,
        column: Column,
    ) -> ImportError {
        let first = &self.orders[id];
        let order = quoted(self.numbers.get(id));
        let message = if column.is_personal() {
            format!(
                "differs from line {} of the same work order {order}",
                first.first_line
            )
        } else {
            format!(
                "{} differs from {} on line {} of the same work order {order}",
                shown(column, row_value(later, column)),
                shown(column, self.order_value(first, column)),
                first.first_line
            )
        };
        ImportError::at(line, column, message)
    }

    /// A value of an order-level column of a work order, as the export writes it.
    fn order_value(&self, order: &Order, column: Column) -> Option<String> {
        let text = |id| Some(self.texts.get(id).to_owned());
        let parsed = |flag| order.parsed(flag).then_some(());
        match column {
            Column::ClosedOn => parsed(unparsed::CLOSED_ON).map(|()| dms_date(order.closed_on)),
            Column::Vin => text(order.vin),
            Column::Make => text(order.make),
            Column::Model => text(order.model),
            Column::FirstRegistration => {
                parsed(unparsed::FIRST_REGISTRATION).map(|()| dms_date(order.first_registration))
            }
            Column::Odometer => parsed(unparsed::ODOMETER).map(|()| order.odometer_km.to_string()),
            Column::RepairKind => parsed(unparsed::KIND).map(|()| order.kind.as_str().to_owned()),
            Column::Advisor => text(order.advisor),
            _ => None,
        }
    }

    /// Every complete work order, oldest first, validated as a visit of the contract.
    fn finish(mut self, tz: Tz) -> Result<ParsedExport, ImportErrors> {
        self.numbers.freeze();
        let mut sorted: Vec<u32> = (0..self.orders.len() as u32).collect();
        sorted.sort_by_key(|&id| {
            let o = &self.orders[id];
            (
                o.parsed(unparsed::CLOSED_ON).then_some(o.closed_on),
                o.first_line,
            )
        });
        let hasher = std::collections::hash_map::RandomState::new();
        let mut codes: HashMap<u64, u32> = HashMap::new();
        let mut customer_ids: HashMap<TextId, TextId> = HashMap::new();
        let mut first_names: HashMap<TextId, TextId> = HashMap::new();
        let mut advisor_ids: HashMap<TextId, TextId> = HashMap::new();
        let mut valid = Vec::with_capacity(sorted.len());
        for id in sorted {
            let number = self.numbers.get(id);
            let code = fields::work_order_code(number);
            let numbers = &self.numbers;
            let found = probe(&codes, hasher.hash_one(&code), |other| {
                fields::work_order_code(numbers.get(other)) == code
            });
            let slot = match found {
                Ok(other) => {
                    let message = format!(
                        "{} and {} (line {}) are the same work-order id {code:?} in Latin letters",
                        quoted(number),
                        quoted(numbers.get(other)),
                        self.orders[other].first_line,
                    );
                    let line = self.orders[id].first_line;
                    self.errors
                        .push(ImportError::at(line, Column::WorkOrder, message));
                    continue;
                }
                Err(slot) => slot,
            };
            codes.insert(slot, id);
            let texts = &mut self.texts;
            let order = &mut self.orders[id];
            if !order.parsed(unparsed::PHONE) {
                continue;
            }
            order.customer_id = *customer_ids
                .entry(order.phone)
                .or_insert_with(|| texts.id(&customer_id_for(&code)));
            let client = order.client;
            order.first_name = *first_names
                .entry(client)
                .or_insert_with(|| texts.id(&fields::first_name_of(texts.get(client))));
            let advisor = order.advisor;
            order.advisor_id = *advisor_ids.entry(advisor).or_insert_with(|| {
                fields::advisor_id_of(texts.get(advisor)).map_or(NONE, |id| texts.id(&id))
            });
            if order.unparsed == 0 && order.items + order.declined == order.rows {
                valid.push(id);
            }
        }
        drop(codes);
        self.texts.freeze();
        let vehicles = self
            .orders
            .iter()
            .map(|o| o.vin)
            .collect::<HashSet<_>>()
            .len();
        let customers = customer_ids.len();
        let export = ParsedExport {
            encoding: TextEncoding::Utf8,
            lines: self.lines,
            vehicles,
            customers,
            texts: self.texts,
            numbers: self.numbers,
            orders: self.orders,
            items: self.items,
            declined: self.declined,
            sorted: valid,
            tz,
        };
        let mut errors = validate(&export, self.errors);
        if !errors.is_empty() {
            errors.errors.sort_by_key(|e| e.line);
            return Err(errors);
        }
        Ok(export)
    }
}

/// A value of an order-level column of a row, as the export writes it.
fn row_value(row: &OrderFields<'_>, column: Column) -> Option<String> {
    match column {
        Column::ClosedOn => row.closed_on.map(dms_date),
        Column::Vin => Some(row.vin.to_string()),
        Column::Make => Some(row.make.to_owned()),
        Column::Model => Some(row.model.to_owned()),
        Column::FirstRegistration => row.first_registration.map(dms_date),
        Column::Odometer => row.odometer_km.map(|km| km.to_string()),
        Column::RepairKind => row.kind.map(|k| k.as_str().to_owned()),
        Column::Advisor => Some(row.advisor.to_string()),
        _ => None,
    }
}

/// The customer id of an imported customer: the export has none, so the first work order the
/// customer's phone appears on names them (`dms-A3C0001116`); ids never carry personal data.
fn customer_id_for(code: &str) -> String {
    let safe: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
        .take(60)
        .collect();
    format!("dms-{safe}")
}

/// Every work order checked as a visit of the contract, on two threads; their problems after
/// those found so far, oldest work order first.
fn validate(export: &ParsedExport, mut errors: ImportErrors) -> ImportErrors {
    let ids = &export.sorted;
    let half = ids.len().div_ceil(2);
    let check = |ids: &[u32]| {
        let mut found = ImportErrors::default();
        for &id in ids {
            if let Err(problems) = export.visit(id) {
                let located = Located { export, id };
                for problem in &problems.0 {
                    found.push(located.error(problem));
                }
            }
        }
        found
    };
    let (first, second) = std::thread::scope(|scope| {
        let second = scope.spawn(|| check(&ids[half..]));
        let first = check(&ids[..half]);
        (first, second.join().unwrap_or_default())
    });
    for found in [first, second] {
        let unkept = found.total - found.errors.len();
        for error in found.errors {
            errors.push(error);
        }
        errors.total += unkept;
    }
    errors
}

/// Where a work order's contract fields came from in the file.
struct Located<'e> {
    export: &'e ParsedExport,
    id: u32,
}

impl Located<'_> {
    /// A contract field error at the line and column of the export it came from.
    fn error(&self, problem: &FieldError) -> ImportError {
        let first_line = self.export.orders[self.id].first_line;
        let order_column = |column| ImportError::at(first_line, column, &problem.message);
        let number = quoted(self.export.numbers.get(self.id));
        match problem.field.as_str() {
            "work_order_id" => ImportError::at(
                first_line,
                Column::WorkOrder,
                format!("{number} {}", problem.message),
            ),
            "closed_at" => order_column(Column::ClosedOn),
            "kind" => order_column(Column::RepairKind),
            "odometer_km" => order_column(Column::Odometer),
            "advisor_id" => order_column(Column::Advisor),
            "customer.first_name" | "customer.id" => order_column(Column::Customer),
            "customer.phone" => order_column(Column::Phone),
            "vehicle.vin" => order_column(Column::Vin),
            "vehicle.make" => order_column(Column::Make),
            "vehicle.model" => order_column(Column::Model),
            "vehicle.first_registration" => order_column(Column::FirstRegistration),
            field => match self.item_field(field) {
                Some((line, column)) => ImportError::at(line, column, &problem.message),
                None => ImportError::line(
                    first_line,
                    format!("work order {number}: {}", problem.message),
                ),
            },
        }
    }

    /// `lines[3].price` → the line of the fourth row and the column «Цена»;
    /// `recommendations[0].parts_estimate` → the first part row of the first declined work.
    fn item_field(&self, field: &str) -> Option<(u64, Column)> {
        if let Some(rest) = field.strip_prefix("recommendations[") {
            let (index, name) = rest.split_once("].")?;
            let declined = self
                .export
                .declined_of(self.id)
                .get(index.parse::<usize>().ok()?)?;
            let line = match name {
                "parts_estimate" => declined.parts_line.unwrap_or(declined.line),
                _ => declined.line,
            };
            return Some((line, line_column(name)?));
        }
        let rest = field.strip_prefix("lines[")?;
        let (index, name) = rest.split_once("].")?;
        let order = &self.export.orders[self.id];
        let item = self
            .export
            .items_of(order)
            .nth(index.parse::<usize>().ok()?)?;
        Some((item.line, line_column(name)?))
    }
}
