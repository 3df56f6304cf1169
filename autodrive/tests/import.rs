//! `autodrive import FILE.csv [--dry-run] [--data-dir DIR]` as a dealer's staff runs it: exit
//! codes, what it prints, and what it leaves in the data directory.

use std::path::Path;
use std::process::{Command, Output};

const HEADER: &str = "Заказ-наряд;Дата закрытия;Клиент;Телефон;VIN;Марка;Модель;\
                      Дата первой регистрации;Пробег;Вид ремонта;Вид строки;Код;Наименование;\
                      Количество;Цена;Себестоимость;Мастер-консультант";

fn export(odometer: &str) -> String {
    let rows = [
        format!(
            "А3С0001116;12.11.2025;Иванов Михаил Петрович;+7 (916) 758-64-88;XW7BE40K70S025476;\
             Toyota;Camry;20.05.2019;{odometer};ТО;Работа;TO-60;ТО-60 000;1;6 500,00;2 600,00;\
             Петров А.В."
        ),
        "А3С0001117;13.11.2025;Смирнова Анна;8 903 111 22 33;Z94CB41AAGR323020;Kia;Rio;\
         10.01.2016;98 500;Ремонт;Работа;BRK-2;Замена колодок;1,5;2 400,00;900,00;Ким О.Л."
            .to_owned(),
        format!(
            "А3С0001116;12.11.2025;Иванов Михаил Петрович;8 916 758 64 88;XW7BE40K70S025476;\
             Toyota;Camry;20.05.2019;{odometer};ТО;Запчасть;04152-YZZA6;Фильтр масляный;1;\
             1 200,00;950,00;Петров А.В."
        ),
    ];
    format!("\u{feff}{HEADER}\n{}\n", rows.join("\n"))
}

fn autodrive(args: &[&str], file: &Path, data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autodrive"))
        .arg("import")
        .arg(file)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("AUTODRIVE_DATA_DIR")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_dry_run_validates_prints_the_summary_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    std::fs::write(&file, export("90 000")).unwrap();
    let data = dir.path().join("data");
    let out = autodrive(&["--dry-run"], &file, &data);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("(--dry-run): ошибок нет"), "{stdout}");
    assert!(stdout.contains("Заказ-нарядов: 2"), "{stdout}");
    assert!(stdout.contains("Строк заказ-нарядов: 3"), "{stdout}");
    assert!(stdout.contains("Кодировка файла: UTF-8 (BOM)"), "{stdout}");
    assert!(
        stdout.contains("Согласия на рассылку в выгрузке нет"),
        "{stdout}"
    );
    assert!(!data.exists(), "a dry run creates no store");
}

#[test]
fn a_file_with_a_bad_value_exits_non_zero_naming_line_and_column_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    std::fs::write(&file, export("12 3x4")).unwrap();
    let data = dir.path().join("data");
    for args in [&["--dry-run"][..], &[]] {
        let out = autodrive(args, &file, &data);
        assert!(!out.status.success());
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("line 2, column «Пробег»: \"12 3x4\" is not a number"),
            "{stderr}"
        );
        assert!(
            stderr.contains("line 4, column «Пробег»: \"12 3x4\" is not a number"),
            "{stderr}"
        );
        assert!(stderr.contains("nothing was imported"), "{stderr}");
        assert!(!data.exists(), "nothing is stored");
    }
}

#[test]
fn an_import_records_the_file_once_and_a_second_run_skips_every_work_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    std::fs::write(&file, export("90 000")).unwrap();
    let data = dir.path().join("data");
    let first = autodrive(&[], &file, &data);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    assert!(stdout.contains("записано: 2"), "{stdout}");
    assert!(
        stdout.contains("Прогноз ТО пересчитан для автомобилей: 2"),
        "{stdout}"
    );
    assert!(data.join("store.redb").exists());

    let second = autodrive(&[], &file, &data);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let stdout = text(&second.stdout);
    assert!(stdout.contains("записано: 0"), "{stdout}");
    assert!(
        stdout.contains("пропущено (уже были в базе): 2"),
        "{stdout}"
    );
}

#[test]
fn a_data_directory_held_by_another_process_is_refused_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    std::fs::write(&file, export("90 000")).unwrap();
    let data = dir.path().join("data");
    let held = store::RedbStore::open(data.join("store.redb")).unwrap();
    let out = autodrive(&[], &file, &data);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("is in use by another process (autodrive serve?)"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    drop(held);
}

/// The export's optional «Госномер» column reaches the store through `autodrive import`: the
/// vehicle is indexed under its normalised plate, which the advisors' `/client` looks up.
#[test]
fn a_plate_column_indexes_the_vehicle_under_its_plate() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    let with_plates = export("90 000")
        .replacen(HEADER, &format!("{HEADER};Госномер"), 1)
        .replace("Петров А.В.\n", "Петров А.В.;a 123 bc 777\n")
        .replace("Ким О.Л.\n", "Ким О.Л.;\n");
    std::fs::write(&file, with_plates).unwrap();
    let data = dir.path().join("data");
    let out = autodrive(&[], &file, &data);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("записано: 2"));
    let repos = store::repo::Repos::new(store::RedbStore::open(data.join("store.redb")).unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let found: Vec<store::repo::StoredVehicle<serde_json::Value>> = runtime
        .block_on(repos.vehicles.by_plate("А123ВС777"))
        .unwrap();
    let vins: Vec<&str> = found.iter().map(|v| v.vin.as_str()).collect();
    assert_eq!(vins, ["XW7BE40K70S025476"]);
}

/// Declined work and an earlier STOP through `autodrive import`: the recommended rows are
/// counted in the summary and stored on the visit; a customer whose phone sent STOP before the
/// import opted out, and the `OptedOut` event written to `<data dir>/events.jsonl` as `serve`
/// writes its events.
#[test]
fn declined_work_is_stored_and_an_earlier_stop_is_written_as_an_opted_out_event() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    let declined = "\nА3С0001116;12.11.2025;Иванов Михаил Петрович;+7 (916) 758-64-88;\
                    XW7BE40K70S025476;Toyota;Camry;20.05.2019;90 000;ТО;Рекомендованная работа;\
                    BRK-F;Замена передних колодок;1;2 400,00;;Петров А.В.;;Безопасность\n";
    let with_declined = export("90 000")
        .replacen(HEADER, &format!("{HEADER};Госномер;Срочность"), 1)
        .replace("Петров А.В.\n", "Петров А.В.;;\n")
        .replace("Ким О.Л.\n", "Ким О.Л.;;\n")
        .trim_end()
        .to_owned()
        + declined;
    std::fs::write(&file, with_declined).unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    {
        let repos =
            store::repo::Repos::new(store::RedbStore::open(data.join("store.redb")).unwrap());
        let stop = chrono::DateTime::parse_from_rfc3339("2025-10-01T10:00:00+03:00")
            .unwrap()
            .to_utc();
        let phone = store::repo::ContactHandle::Phone("+79031112233");
        runtime
            .block_on(repos.customers.suppress_from(phone, stop, Some("whatsapp")))
            .unwrap();
    }
    let out = autodrive(&[], &file, &data);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Рекомендованных работ, от которых клиент отказался: 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("приславших СТОП до того, как стали известны: 1"),
        "{stdout}"
    );

    let events = std::fs::read_to_string(data.join("events.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{events}");
    assert_eq!(lines[0]["detail-type"], "OptedOut");
    assert_eq!(lines[0]["detail"]["customer_id"], "dms-A3C0001117");
    assert_eq!(lines[0]["detail"]["channel"], "whatsapp");
    assert_eq!(lines[0]["time"], "2025-10-01T07:00:00Z");
    assert!(!events.contains("79031112233"), "ids only: {events}");

    let repos = store::repo::Repos::new(store::RedbStore::open(data.join("store.redb")).unwrap());
    let visit = runtime
        .block_on(repos.visits.by_work_order::<domain::Visit>("A3C0001116"))
        .unwrap()
        .unwrap();
    let codes: Vec<&str> = visit
        .visit
        .recommendations()
        .iter()
        .map(|r| r.code.as_str())
        .collect();
    assert_eq!(codes, ["BRK-F"]);
}

/// A bad `AUTODRIVE_EVENTS_URL` is refused before anything is stored, as `serve` refuses it.
#[test]
fn a_bad_events_url_is_refused_before_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    std::fs::write(&file, export("90 000")).unwrap();
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_autodrive"))
        .arg("import")
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .env("AUTODRIVE_EVENTS_URL", "ftp://dms.example/events")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr)
            .contains("AUTODRIVE_EVENTS_URL: \"ftp://dms.example/events\" is not an http(s) URL"),
        "{}",
        text(&out.stderr)
    );
    assert!(!data.join("store.redb").exists());
}
