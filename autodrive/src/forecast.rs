//! `autodrive forecast`: one forecast row per vehicle of odometer CSVs, streamed.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Result;
use chrono::NaiveDate;
use clap::ValueEnum;
use domain::{DueLimit, ForecastInput, Forecaster, ServiceDue};
use serde::Serialize;

use crate::odometer_csv::{csv_files, LogReader, VehicleLog};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    /// One JSON object per line.
    Json,
}

#[derive(Serialize)]
struct Row<'a> {
    vehicle_id: &'a str,
    km_per_day: f64,
    due_date: NaiveDate,
    due_km: u32,
    p10: NaiveDate,
    p90: NaiveDate,
    limit: DueLimit,
    reason: &'a str,
}

pub fn run(data: &Path, at: Option<NaiveDate>, format: Format) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    write(data, at, format, &mut out)?;
    out.flush()?;
    Ok(())
}

/// Writes the forecasts of every vehicle under `data` to `out`; vehicles without a reading on
/// or before `at` are skipped.
pub fn write(
    data: &Path,
    at: Option<NaiveDate>,
    format: Format,
    out: &mut impl Write,
) -> Result<()> {
    let forecaster = Forecaster::default();
    let mut sink = match format {
        Format::Csv => Sink::Csv(Box::new(csv::Writer::from_writer(out))),
        Format::Json => Sink::Json(out),
    };
    let mut log = VehicleLog::default();
    for file in csv_files(data, false)? {
        let mut reader = LogReader::open(&file)?;
        while reader.next_vehicle(&mut log)? {
            let input = ForecastInput {
                readings: &log.readings,
                first_registration: log.first_registration,
                last_service: None,
                as_of: at,
            };
            let Ok(due) = forecaster.forecast(&input) else {
                continue;
            };
            let row = row(&log.vehicle_id, &due);
            match &mut sink {
                Sink::Csv(table) => table.serialize(&row)?,
                Sink::Json(out) => {
                    serde_json::to_writer(&mut **out, &row)?;
                    out.write_all(b"\n")?;
                }
            }
        }
    }
    if let Sink::Csv(mut table) = sink {
        table.flush()?;
    }
    Ok(())
}

enum Sink<'a, W: Write> {
    Csv(Box<csv::Writer<&'a mut W>>),
    Json(&'a mut W),
}

fn row<'a>(vehicle_id: &'a str, due: &'a ServiceDue) -> Row<'a> {
    Row {
        vehicle_id,
        km_per_day: (due.km_per_day * 10.0).round() / 10.0,
        due_date: due.due_date,
        due_km: due.due_km,
        p10: due.p10,
        p90: due.p90,
        limit: due.limit,
        reason: &due.reason,
    }
}
