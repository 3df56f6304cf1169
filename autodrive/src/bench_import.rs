//! `autodrive bench import`: generates a DMS export (not timed) of vehicles with about ten work
//! orders each over the years and several lines per work order, in Windows-1251 as 1C writes
//! it, then times `autodrive import` of it into a fresh embedded store on disk.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use domain::policy::Policy;
use serde::Serialize;

use crate::bench::{peak_rss_mb, SplitMix};

/// Work orders per vehicle.
const VISITS: u64 = 10;
/// Mean lines per work order.
const MEAN_LINES: u64 = 4;

/// The line `bench import` prints.
#[derive(Debug, Serialize)]
pub struct ImportBenchLine {
    pub bench: &'static str,
    pub lines: u64,
    pub work_orders: u64,
    pub seconds: f64,
    pub lines_per_sec: f64,
    pub peak_rss_mb: f64,
}

const SURNAMES: [&str; 8] = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
];
const GIVEN: [&str; 8] = [
    "Михаил",
    "Алексей",
    "Дмитрий",
    "Сергей",
    "Андрей",
    "Иван",
    "Олег",
    "Павел",
];
const PATRONYMICS: [&str; 4] = ["Петрович", "Иванович", "Сергеевич", "Андреевич"];
const CARS: [(&str, &str); 6] = [
    ("Toyota", "Camry"),
    ("Kia", "Rio"),
    ("Hyundai", "Solaris"),
    ("Lada", "Vesta"),
    ("Skoda", "Octavia"),
    ("Volkswagen", "Polo"),
];
const ADVISORS: [&str; 4] = ["Петров А.В.", "Сидорова Е.Н.", "Ким О.Л.", "Яковлев Д.С."];
const LABOUR: [(&str, &str); 4] = [
    ("TO-15", "ТО-15 000 км"),
    ("DIAG-1", "Компьютерная диагностика"),
    ("BRK-2", "Замена тормозных колодок"),
    ("WHL-4", "Шиномонтаж 4 колеса"),
];
const PARTS: [(&str, &str); 5] = [
    ("04152-YZZA6", "Фильтр масляный"),
    ("08880-83388", "Масло моторное 5W-30, л"),
    ("17801-0H050", "Фильтр воздушный"),
    ("04465-33471", "Колодки тормозные передние"),
    ("90915-YZZE1", "Фильтр топливный"),
];

/// Money as the DMS prints it: thousands spaces, decimal comma (`3 150,50`).
fn dms_money(kopecks: u64) -> String {
    let roubles = (kopecks / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in roubles.chars().enumerate() {
        if i > 0 && (roubles.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(digit);
    }
    format!("{grouped},{:02}", kopecks % 100)
}

/// The customer's phone in one of the ways the DMS's users type it.
fn dms_phone(customer: u64) -> String {
    let n = 9_160_000_000 + customer;
    let s = n.to_string();
    let (a, b, c, d) = (&s[0..3], &s[3..6], &s[6..8], &s[8..10]);
    match customer % 4 {
        0 => format!("+7 ({a}) {b}-{c}-{d}"),
        1 => format!("8 {a} {b} {c} {d}"),
        2 => format!("8{s}"),
        _ => format!("+7{s}"),
    }
}

fn dms_date(day: NaiveDate) -> String {
    day.format("%d.%m.%Y").to_string()
}

/// Writes a DMS export of `lines` work-order lines; returns the number of work orders. A
/// seventh of the work orders have their last line at the end of the file.
pub fn generate(path: &Path, lines: u64) -> Result<u64> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let mut rng = SplitMix::new(7);
    let mut chunk = app::import::header();
    chunk.push('\n');
    let mut tail: Vec<String> = Vec::new();
    let (mut written, mut work_orders) = (0u64, 0u64);
    let origin = NaiveDate::from_ymd_opt(2010, 1, 1).unwrap_or_default();
    let mut vehicle = 0u64;
    while written < lines {
        let customer = vehicle * 9 / 10;
        let client = format!(
            "{} {} {}",
            SURNAMES[(customer % 8) as usize],
            GIVEN[(customer / 8 % 8) as usize],
            PATRONYMICS[(customer / 64 % 4) as usize]
        );
        let phone = dms_phone(customer);
        let vin = format!("XW7BE40K7{vehicle:08}");
        let (make, model) = CARS[(vehicle % 6) as usize];
        let registered = origin + Duration::days(rng.below(3_000) as i64);
        let pace = 25 + rng.below(70);
        let mut day = registered + Duration::days(30 + rng.below(300) as i64);
        for _ in 0..VISITS {
            if written >= lines {
                break;
            }
            let km = pace * (day - registered).num_days() as u64;
            let kind = match rng.below(20) {
                0..=11 => "ТО",
                12..=15 => "Ремонт",
                16 => "Гарантия",
                17 => "Кузовной ремонт",
                18 => "Шиномонтаж",
                _ => "Диагностика",
            };
            let order = format!("А3С{:08}", work_orders + 1);
            let count = (2 + rng.below(2 * MEAN_LINES - 3)).min(lines - written);
            let advisor = ADVISORS[(work_orders % 4) as usize];
            let head = format!(
                "{order};{};{client};{phone};{vin};{make};{model};{};{};{kind}",
                dms_date(day),
                dms_date(registered),
                dms_money(km * 100).trim_end_matches(",00")
            );
            for i in 0..count {
                let row = if i < 1 + count / 4 {
                    let (code, name) = LABOUR[rng.below(4) as usize];
                    let price = 150_000 + rng.below(600_000);
                    format!(
                        "{head};Работа;{code};{name};1;{};{};{advisor}\n",
                        dms_money(price),
                        dms_money(price * 2 / 5)
                    )
                } else {
                    let (code, name) = PARTS[rng.below(5) as usize];
                    let price = 30_000 + rng.below(900_000);
                    format!(
                        "{head};Запчасть;{code};{name};{};{};{};{advisor}\n",
                        1 + rng.below(4),
                        dms_money(price),
                        dms_money(price * 3 / 4)
                    )
                };
                if i + 1 == count && count > 1 && work_orders % 7 == 3 {
                    tail.push(row);
                } else {
                    chunk.push_str(&row);
                }
            }
            written += count;
            work_orders += 1;
            day += Duration::days(120 + rng.below(200) as i64);
            if chunk.len() > 1 << 20 {
                write_cp1251(&mut out, &chunk)?;
                chunk.clear();
            }
        }
        vehicle += 1;
    }
    chunk.extend(tail);
    write_cp1251(&mut out, &chunk)?;
    out.flush().context("writing the export")?;
    Ok(work_orders)
}

fn write_cp1251(out: &mut impl Write, text: &str) -> Result<()> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(text);
    ensure!(
        !unmappable,
        "the generated export has a character Windows-1251 lacks"
    );
    out.write_all(&bytes).context("writing the export")
}

pub fn run(lines: u64) -> Result<ImportBenchLine> {
    let dir = tempfile::Builder::new()
        .prefix("autodrive-bench-import-")
        .tempdir()
        .context("creating a temporary directory")?;
    let file = dir.path().join("export.csv");
    let work_orders = generate(&file, lines)?;
    let store = dir.path().join("data").join(store::redb_store::STORE_FILE);
    let policy = Policy::default();
    let now = Utc
        .with_ymd_and_hms(2026, 11, 12, 9, 0, 0)
        .single()
        .unwrap_or_default();
    let started = Instant::now();
    let summary = crate::import::import_file(&file, &store, &policy, false, now)?;
    let seconds = started.elapsed().as_secs_f64();
    ensure!(
        summary.lines as u64 == lines && summary.recorded as u64 == work_orders,
        "imported {} lines and {} work orders of {lines} and {work_orders}",
        summary.lines,
        summary.recorded
    );
    Ok(ImportBenchLine {
        bench: "import",
        lines,
        work_orders,
        seconds: (seconds * 1000.0).round() / 1000.0,
        lines_per_sec: (lines as f64 / seconds.max(1e-9)).round(),
        peak_rss_mb: peak_rss_mb(),
    })
}
