//! Importing a DMS export into a fresh embedded store, as `autodrive import FILE.csv` does:
//! `app::import::parse_export` then `app::import::import_export`.

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

async fn import(repos: &Repos<RedbStore>, now: DateTime<Utc>) -> ImportSummary {
    import_export(repos, &Policy::default(), &parsed(), now, |_| {})
        .await
        .unwrap()
}

/// Every item of the store, in key order.
async fn dump(store: &RedbStore) -> Vec<Item> {
    let mut items = store.scan(&Scan::segment(0, 1)).await.unwrap().items;
    items.sort_by_key(store::Key::of);
    items
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
    let imported = dump(&imported_store).await;
    assert!(imported.len() > 20);
    assert_eq!(imported, dump(&webhook_store).await);
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
    import(&repos, at("2025-06-01T09:00:00+03:00")).await;
    let customer = repos
        .customers
        .get::<Customer>("dms-ZH-0002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(customer.opted_out_at, Some(stop));
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
    import_export(&repos, &policy, &part, now, |_| {})
        .await
        .unwrap();
    let rest = import(&repos, now).await;
    assert_eq!((rest.recorded, rest.duplicates), (3, 3));

    let whole = tempfile::tempdir().unwrap();
    let (whole_store, whole_repos) = open(&whole);
    import(&whole_repos, now).await;
    assert_eq!(dump(&store).await, dump(&whole_store).await);
}
