//! Importing a DMS export into a fresh embedded store, as `autodrive import FILE.csv` does:
//! `app::import::parse_export` then `app::import::import_export`.

use std::sync::Arc;

use app::import::{header, import_export, parse_export, ImportSummary, ParsedExport};
use app::record_visit;
use chrono::{DateTime, Utc};
use domain::policy::Policy;
use domain::values::VisitDto;
use domain::{Customer, Vehicle, Visit, VisitKind};
use store::repo::{ContactHandle, Repos};
use store::{Item, ItemRead, RedbStore, Scan};

fn open(dir: &tempfile::TempDir) -> (RedbStore, Repos<RedbStore>) {
    let store = RedbStore::open(dir.path().join("store.redb")).unwrap();
    (store.clone(), Repos::new(store))
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

const CAMRY: &str = "XW7BE40K70S025476";
const RIO: &str = "Z94CB41AAGR323020";
const SOLARIS: &str = "Z94K241CBMR252528";

/// Two customers, three cars, six work orders over four years; the rows of `ЗН-0004` are not
/// adjacent, one phone is written two ways, and the file is in Windows-1251.
fn export_text() -> String {
    let rows = [
        "ЗН-0001;15.03.2022;Иванов Михаил Петрович;+7 (916) 758-64-88;XW7BE40K70S025476;Toyota;Camry;20.05.2019;45 000;ТО;Работа;TO-45;ТО-45 000;1;6 500,00;2 600,00;Петров А.В.",
        "ЗН-0001;15.03.2022;Иванов Михаил Петрович;+7 (916) 758-64-88;XW7BE40K70S025476;Toyota;Camry;20.05.2019;45 000;ТО;Запчасть;04152-YZZA6;Фильтр масляный;1;1 200,00;950,00;Петров А.В.",
        "ЗН-0002;02.04.2022;Смирнова Анна Сергеевна;8 903 111 22 33;Z94CB41AAGR323020;Kia;Rio;10.01.2016;98 500;Ремонт;Работа;BRK-2;Замена колодок;1,5;2 400,00;900,00;Ким О.Л.",
        "ЗН-0003;20.03.2023;Иванов Михаил Петрович;8 916 758 64 88;XW7BE40K70S025476;Toyota;Camry;20.05.2019;61 200;ТО;Работа;TO-60;ТО-60 000;1;7 100,00;2 800,00;Петров А.В.",
        "ЗН-0004;11.04.2024;Иванов Михаил Петрович;89167586488;Z94K241CBMR252528;Hyundai;Solaris;01.09.2021;30 100;ТО;Работа;TO-30;ТО-30 000;1;5 900,00;2 300,00;Петров А.В.",
        "ЗН-0005;01.03.2024;Иванов Михаил Петрович;89167586488;XW7BE40K70S025476;Toyota;Camry;20.05.2019;77 000;ТО;Работа;TO-75;ТО-75 000;1;7 300,00;2 900,00;Петров А.В.",
        "ЗН-0006;05.05.2025;Смирнова Анна Сергеевна;+79031112233;Z94CB41AAGR323020;Kia;Rio;10.01.2016;131 000;Шиномонтаж;Работа;WHL-4;Шиномонтаж;1;2 000,00;600,00;Ким О.Л.",
        "ЗН-0004;11.04.2024;Иванов Михаил Петрович;89167586488;Z94K241CBMR252528;Hyundai;Solaris;01.09.2021;30 100;ТО;Запчасть;08880-83388;Масло 5W-30, л;4;1 050,50;700,00;Петров А.В.",
    ];
    let mut text = header();
    for row in rows {
        text.push_str("\r\n");
        text.push_str(row);
    }
    text.push_str("\r\n");
    text
}

fn export_bytes() -> Vec<u8> {
    let text = export_text();
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(&text);
    assert!(!unmappable);
    bytes.into_owned()
}

fn parsed() -> ParsedExport {
    parse_export(export_bytes(), Policy::default().time_zone()).unwrap()
}

/// An export of 90 work orders over twelve cars and seven phones, newest first: a family with
/// three cars and a fleet with three more (more work orders than one transaction holds), a car
/// sold to another phone halfway, names written differently over the years for one phone, and
/// the last line of every fifth work order at the end of the file.
fn tangled_export() -> String {
    const PHONES: [&str; 7] = [
        "+7 (916) 000-00-01",
        "8 916 000 00 02",
        "89160000003",
        "+7 916 000-00-04",
        "9160000005",
        "8 (916) 000-00-06",
        "+79160000007",
    ];
    const NAMES: [&str; 7] = [
        "Иванов Михаил Петрович",
        "Смирнова Анна",
        "ООО \"Ромашка\"",
        "Кузнецов Олег",
        "ИП Попов Сергей Иванович",
        "Васильева Ольга",
        "Петров Иван",
    ];
    let mut seed = 7u64;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % n
    };
    let (mut body, mut tail) = (Vec::new(), Vec::new());
    for wo in 0..90u64 {
        let car = match wo % 10 {
            0 => 6,
            1..=4 => 9 + next(3),
            _ => next(12),
        };
        let owner = match car {
            0..=2 => 0,
            3..=5 => 2,
            6 if wo >= 45 => 6,
            6 => 1,
            7 => 3,
            8 => 4,
            _ => 5,
        };
        let name = match (owner, wo % 3) {
            (0, 1) => "Иванов Миша",
            (0, 2) => "Иванова Мария Петровна",
            _ => NAMES[owner],
        };
        let day = 100 + wo * 20 + next(15);
        let date = chrono::NaiveDate::from_ymd_opt(2018, 1, 1).unwrap()
            + chrono::Duration::days(day as i64);
        let (make, model) =
            [("Toyota", "Camry"), ("Kia", "Rio"), ("Lada", "Vesta")][car as usize % 3];
        let kind = ["ТО", "Ремонт", "ТО", "Шиномонтаж"][next(4) as usize];
        let head = format!(
            "ЗН-{:04};{};{name};{};XW7BE40K7000000{car:02};{make};{model};01.01.2018;{} {:03};{kind}",
            (wo * 37) % 1000,
            date.format("%d.%m.%Y"),
            PHONES[owner],
            day * 45 / 1000,
            day * 45 % 1000,
        );
        let lines = 1 + next(3);
        for line in 0..lines {
            let row = format!(
                "{head};Работа;L-{line};Работа {line};1;{} 500,00;600,00;Петров А.В.",
                1 + next(9)
            );
            if line + 1 == lines && lines > 1 && wo % 5 == 0 {
                tail.push(row);
            } else {
                body.push(row);
            }
        }
    }
    body.reverse();
    let mut text = header();
    for row in body.into_iter().chain(tail) {
        text.push('\n');
        text.push_str(&row);
    }
    text.push('\n');
    text
}

async fn import(repos: &Repos<RedbStore>, now: DateTime<Utc>) -> ImportSummary {
    import_export(repos, &Policy::default(), Arc::new(parsed()), now, |_| {})
        .await
        .unwrap()
}

/// Every item of the store, in key order.
async fn dump(store: &RedbStore) -> Vec<Item> {
    let mut items = store.scan(&Scan::segment(0, 1)).await.unwrap().items;
    items.sort_by_key(store::Key::of);
    items
}

/// Every item of the store but the forecast a visit was preceded by, which only a visit that
/// arrives live has: the one-by-one replay re-forecasts after each visit, while the history an
/// import brings never had those forecasts (`app::kpi::accuracy`).
async fn dump_but_forecasts_before(store: &RedbStore) -> Vec<Item> {
    let mut items = dump(store).await;
    for item in &mut items {
        item.remove("forecast_before");
    }
    items
}

/// Asserts that two stores hold the same items (but the forecasts before visits), naming those
/// that differ.
async fn assert_same_items(left: &RedbStore, right: &RedbStore) {
    let (left, right) = (
        dump_but_forecasts_before(left).await,
        dump_but_forecasts_before(right).await,
    );
    let keyed = |items: &[Item]| -> std::collections::BTreeMap<store::Key, Item> {
        items
            .iter()
            .map(|item| (store::Key::of(item).unwrap(), item.clone()))
            .collect()
    };
    let (left, right) = (keyed(&left), keyed(&right));
    let differing: Vec<_> = left
        .keys()
        .chain(right.keys())
        .filter(|key| left.get(*key) != right.get(*key))
        .map(|key| (key, left.get(key), right.get(key)))
        .take(3)
        .collect();
    assert!(differing.is_empty(), "{differing:#?}");
}

#[tokio::test]
async fn an_export_is_stored_as_visits_vehicles_customers_and_forecasts() {
    let dir = tempfile::tempdir().unwrap();
    let (_, repos) = open(&dir);
    let summary = import(&repos, at("2025-06-01T09:00:00+03:00")).await;
    assert_eq!(
        (
            summary.work_orders,
            summary.vehicles,
            summary.customers,
            summary.lines
        ),
        (6, 3, 2, 8)
    );
    assert_eq!(
        (summary.recorded, summary.duplicates, summary.forecast),
        (6, 0, 3)
    );
    assert_eq!(summary.encoding, "Windows-1251");

    let camry = repos.visits.for_vehicle::<Visit>(CAMRY).await.unwrap();
    let orders: Vec<_> = camry.iter().map(|v| v.work_order_id.as_str()).collect();
    assert_eq!(orders, ["ZH-0001", "ZH-0003", "ZH-0005"]);
    assert_eq!(camry[0].visit.kind(), VisitKind::Maintenance);
    assert_eq!(camry[0].visit.lines().len(), 2);
    assert_eq!(camry[0].closed_on.to_string(), "2022-03-15");
    let solaris = repos.visits.for_vehicle::<Visit>(SOLARIS).await.unwrap();
    assert_eq!(
        solaris[0].visit.lines().len(),
        2,
        "rows apart, one work order"
    );
    assert_eq!(solaris[0].visit.parts_price().to_string(), "4202.00");
    let rio = repos.visits.for_vehicle::<Visit>(RIO).await.unwrap();
    assert_eq!(rio[1].visit.kind(), VisitKind::Tires);

    let readings = repos.readings.for_vehicle(CAMRY).await.unwrap();
    let km: Vec<_> = readings.iter().map(|r| r.km).collect();
    assert_eq!(km, [45_000, 61_200, 77_000]);

    let vehicle = repos.vehicles.get::<Vehicle>(CAMRY).await.unwrap().unwrap();
    assert_eq!(vehicle.customer_id, "dms-ZH-0001");
    let owner = repos
        .customers
        .get::<Customer>("dms-ZH-0001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.profile.phone.as_str(), "+79167586488");
    assert_eq!(owner.profile.first_name.as_str(), "Михаил");
    assert!(!owner.profile.consents.service_messages && !owner.profile.consents.marketing);
    let cars = repos
        .vehicles
        .for_customer::<Vehicle>("dms-ZH-0001")
        .await
        .unwrap();
    assert_eq!(cars.len(), 2);
    assert_eq!(
        repos
            .customers
            .by_phone("+79031112233")
            .await
            .unwrap()
            .as_deref(),
        Some("dms-ZH-0002")
    );

    for vin in [CAMRY, RIO, SOLARIS] {
        let due = repos.forecasts.get(vin).await.unwrap().expect("a forecast");
        assert!(
            due.due_date.to_string().as_str() > "2024-01-01",
            "{vin}: {due:?}"
        );
    }
}

#[tokio::test]
async fn importing_the_same_file_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, repos) = open(&dir);
    import(&repos, at("2025-06-01T09:00:00+03:00")).await;
    let second = RedbStore::open(dir.path().join("store.redb"))
        .err()
        .unwrap();
    assert!(store::redb_store::in_use(&second).is_some(), "{second:?}");
    let before = dump(&store).await;
    let again = import(&repos, at("2025-07-01T09:00:00+03:00")).await;
    assert_eq!(
        (again.recorded, again.duplicates, again.forecast),
        (0, 6, 0)
    );
    assert_eq!(dump(&store).await, before);
}

#[tokio::test]
async fn a_file_with_one_bad_line_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir);
    let text = export_text().replace("98 500", "98 5OO");
    let errors = parse_export(text.into_bytes(), Policy::default().time_zone()).unwrap_err();
    assert_eq!(errors.total, 1);
    assert_eq!(
        errors.errors[0].to_string(),
        "line 4, column «Пробег»: \"98 5OO\" is not a number"
    );
    assert!(dump(&store).await.is_empty());
}

#[tokio::test]
async fn batched_recording_leaves_the_store_as_recording_each_visit_through_the_webhook() {
    let now = at("2025-06-01T09:00:00+03:00");
    let imported = tempfile::tempdir().unwrap();
    let (imported_store, imported_repos) = open(&imported);
    import(&imported_repos, now).await;

    let one_by_one = tempfile::tempdir().unwrap();
    let (webhook_store, webhook_repos) = open(&one_by_one);
    for visit in parsed().visits() {
        let body = serde_json::to_vec(&VisitDto::from(visit.clone())).unwrap();
        record_visit(&webhook_repos, &Policy::default(), &body, now)
            .await
            .unwrap();
    }
    assert!(dump(&imported_store).await.len() > 20);
    assert_same_items(&imported_store, &webhook_store).await;
}

#[tokio::test]
async fn a_tangled_export_imported_in_one_bulk_load_ends_as_its_work_orders_sent_one_by_one() {
    let now = at("2025-06-01T09:00:00+03:00");
    let policy = Policy::default();
    let export = Arc::new(parse_export(tangled_export().into_bytes(), policy.time_zone()).unwrap());
    assert_eq!(
        (export.work_orders(), export.vehicles, export.customers),
        (90, 12, 7)
    );
    let visits = export.visits();
    let body = |visit: &Visit| serde_json::to_vec(&VisitDto::from(visit.clone())).unwrap();
    let stop = at("2021-03-01T10:00:00+03:00");
    let fleet_phone = "+79160000006";
    let sent_before: Vec<&Visit> = visits
        .iter()
        .filter(|v| v.customer().phone.as_str() == fleet_phone)
        .step_by(3)
        .collect();
    assert!(sent_before.len() > 5, "{}", sent_before.len());
    let mut stores = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let (store, repos) = open(&dir);
        // The same store before: a STOP from the fleet's phone, and some of its work orders
        // sent by the CRM.
        repos
            .customers
            .suppress(ContactHandle::Phone(fleet_phone), stop)
            .await
            .unwrap();
        for visit in &sent_before {
            record_visit(&repos, &policy, &body(visit), now)
                .await
                .unwrap();
        }
        stores.push((dir, store, repos));
    }

    let (_, imported_store, _) = &stores[0];
    let bulk = imported_store.bulk_load().unwrap();
    let summary = import_export(
        &Repos::new(bulk.clone()),
        &policy,
        export.clone(),
        now,
        |_| {},
    )
    .await
    .unwrap();
    bulk.commit().await.unwrap();
    let duplicates = sent_before.len();
    assert_eq!(
        (
            summary.recorded,
            summary.duplicates,
            summary.known_customers
        ),
        (90 - duplicates, duplicates, 1)
    );

    // The import keeps the profile of a customer stored before (found by phone): so does the
    // CRM, which sends the profile it has.
    let (_, webhook_store, webhook_repos) = &stores[1];
    let fleet_id = webhook_repos
        .customers
        .by_phone(fleet_phone)
        .await
        .unwrap()
        .unwrap();
    let fleet = webhook_repos
        .customers
        .get::<Customer>(&fleet_id)
        .await
        .unwrap()
        .unwrap();
    for visit in &visits {
        let mut parts = visit.clone().into_parts();
        if parts.customer.phone.as_str() == fleet_phone {
            parts.customer = fleet.profile.clone();
        }
        let visit = Visit::new(parts).unwrap();
        record_visit(webhook_repos, &policy, &body(&visit), now)
            .await
            .unwrap();
    }
    assert!(dump(imported_store).await.len() > 290);
    assert_same_items(imported_store, webhook_store).await;

    let repos = Repos::new(imported_store.clone());
    let sold = "XW7BE40K700000006";
    let owners = owners_of_car(&visits, sold);
    assert!(owners.len() > 1, "{owners:?}");
    let stored = repos.vehicles.get::<Vehicle>(sold).await.unwrap().unwrap();
    assert_eq!(Some(&stored.customer_id), owners.last());
    let fleet = repos.customers.get::<Customer>(&fleet_id).await.unwrap();
    assert_eq!(fleet.unwrap().opted_out_at, Some(stop));
    let family = repos.customers.by_phone("+79160000001").await.unwrap();
    let family = repos
        .customers
        .get::<Customer>(&family.unwrap())
        .await
        .unwrap()
        .unwrap();
    let last_name = visits
        .iter()
        .rfind(|v| v.customer().phone.as_str() == "+79160000001")
        .map(|v| v.customer().first_name.clone());
    assert_eq!(Some(family.profile.first_name), last_name);
}

/// The customer ids of a car's visits, oldest first, each once.
fn owners_of_car(visits: &[Visit], vin: &str) -> Vec<String> {
    let mut owners: Vec<String> = Vec::new();
    for visit in visits.iter().filter(|v| v.vehicle().vin().as_str() == vin) {
        let id = visit.customer().id.as_str();
        if owners.last().map(String::as_str) != Some(id) {
            owners.push(id.to_owned());
        }
    }
    owners
}

#[tokio::test]
async fn a_customer_known_by_phone_keeps_the_crms_id_and_consents() {
    let dir = tempfile::tempdir().unwrap();
    let (_, repos) = open(&dir);
    let policy = Policy::default();
    let mut crm = app::fixtures::visit("CRM-1", CAMRY, "2025-05-20T12:00:00+03:00", 90_000);
    crm["customer"]["phone"] = "+79167586488".into();
    let body = serde_json::to_vec(&crm).unwrap();
    record_visit(&repos, &policy, &body, at("2025-05-20T13:00:00+03:00"))
        .await
        .unwrap();
    let summary = import(&repos, at("2025-06-01T09:00:00+03:00")).await;
    assert_eq!(summary.known_customers, 1);
    assert!(repos
        .customers
        .get::<Customer>("dms-ZH-0001")
        .await
        .unwrap()
        .is_none());
    let crm_customer = repos
        .customers
        .get::<Customer>("C-1001")
        .await
        .unwrap()
        .unwrap();
    assert!(crm_customer.profile.consents.marketing);
    let solaris = repos
        .vehicles
        .get::<Vehicle>(SOLARIS)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(solaris.customer_id, "C-1001");
}

#[tokio::test]
async fn an_earlier_stop_from_an_imported_phone_opts_the_customer_out() {
    let dir = tempfile::tempdir().unwrap();
    let (_, repos) = open(&dir);
    let stop = at("2024-12-01T10:00:00+03:00");
    repos
        .customers
        .suppress(ContactHandle::Phone("+79031112233"), stop)
        .await
        .unwrap();
    repos
        .customers
        .suppress_from(ContactHandle::Phone("+79167586488"), stop, Some("sms"))
        .await
        .unwrap();
    let summary = import(&repos, at("2025-06-01T09:00:00+03:00")).await;
    let customer = repos
        .customers
        .get::<Customer>("dms-ZH-0002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(customer.opted_out_at, Some(stop));
    // Each opt-out is an `OptedOut` event dated at the STOP, on its channel (a mark kept
    // without one: a phone's STOP came on WhatsApp).
    let mut opted_out: Vec<_> = summary
        .events
        .iter()
        .map(|e| {
            let detail = e.detail();
            assert_eq!(e.name(), "OptedOut");
            assert_eq!(detail["occurred_at"], "2024-12-01T07:00:00Z");
            (
                detail["customer_id"].to_string(),
                detail["channel"].to_string(),
            )
        })
        .collect();
    opted_out.sort();
    assert_eq!(
        opted_out,
        [
            ("\"dms-ZH-0001\"".to_owned(), "\"sms\"".to_owned()),
            ("\"dms-ZH-0002\"".to_owned(), "\"whatsapp\"".to_owned()),
        ]
    );
    // Imported again: every work order a duplicate, the same events (same ids) once more, in
    // case the first ones were not delivered.
    let again = import(&repos, at("2025-06-02T09:00:00+03:00")).await;
    assert_eq!(again.recorded, 0);
    let ids = |events: &[app::events::BusinessEvent]| {
        let mut ids: Vec<_> = events.iter().map(|e| e.event_id.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&again.events), ids(&summary.events));
}

#[tokio::test]
async fn a_partly_imported_file_records_only_the_rest_and_ends_as_one_import() {
    let now = at("2025-06-01T09:00:00+03:00");
    let policy = Policy::default();
    let text = export_text();
    let first_part: String = text
        .split("\r\n")
        .filter(|line| !line.starts_with("ЗН-0004") && !line.starts_with("ЗН-0005"))
        .filter(|line| !line.starts_with("ЗН-0006"))
        .map(|line| format!("{line}\r\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (store, repos) = open(&dir);
    let part = parse_export(first_part.into_bytes(), policy.time_zone()).unwrap();
    assert_eq!(part.work_orders(), 3);
    import_export(&repos, &policy, Arc::new(part), now, |_| {})
        .await
        .unwrap();
    let rest = import(&repos, now).await;
    assert_eq!((rest.recorded, rest.duplicates), (3, 3));

    let whole = tempfile::tempdir().unwrap();
    let (whole_store, whole_repos) = open(&whole);
    import(&whole_repos, now).await;
    assert_eq!(dump(&store).await, dump(&whole_store).await);
}
