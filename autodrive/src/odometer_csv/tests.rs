use domain::ReadingSource;

use super::date::{exact_date, parse_date, Years};
use super::*;

fn vehicles(text: &str) -> Result<Vec<VehicleLog>> {
    let mut reader = LogReader::new(text.as_bytes())?;
    let mut out = Vec::new();
    let mut log = VehicleLog::default();
    while reader.next_vehicle(&mut log)? {
        out.push(log.clone());
    }
    Ok(out)
}

#[test]
fn rows_are_grouped_per_vehicle_with_an_optional_source_column() {
    let logs = vehicles(
        "vehicle_id,date,odometer_km,first_registration,source\n\
         a,2020-01-01,100,2019-01-01,visit\na,2020-06-01,5000,,customer_reported\n\
         b,2021-01-01,7,,\n",
    )
    .unwrap();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].readings[1].source, ReadingSource::CustomerReported);
    assert_eq!(
        logs[0].first_registration,
        Some("2019-01-01".parse().unwrap())
    );
    assert_eq!(logs[1].first_registration, None);
}

#[test]
fn a_vehicle_split_across_the_file_is_refused() {
    let err =
        vehicles("vehicle_id,date,odometer_km\na,2020-01-01,1\nb,2020-01-01,1\na,2020-02-01,2\n")
            .unwrap_err();
    assert!(err.to_string().contains("not contiguous"), "{err}");
}

#[test]
fn a_bad_odometer_names_its_line() {
    let err = vehicles("vehicle_id,date,odometer_km\na,2020-01-01,-5\n").unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn a_missing_column_is_named() {
    let err = vehicles("vehicle_id,odometer_km\na,1\n").unwrap_err();
    assert!(format!("{err:#}").contains("date"), "{err:#}");
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// The error of the first bad row, with its causes.
fn error(text: &str) -> String {
    format!("{:#}", vehicles(text).unwrap_err())
}

#[test]
fn each_refused_row_names_its_line_and_what_is_wrong() {
    let head = "vehicle_id,date,odometer_km,first_registration,source\na,2020-01-01,1,,\n";
    let cases = [
        (" ,2020-01-02,5,,", "line 3: empty vehicle_id"),
        (
            "a,2020-02-30,5,,",
            "line 3: bad date: \"2020-02-30\" is not YYYY-MM-DD",
        ),
        (
            "a,01.02.2020,5,,",
            "line 3: bad date: \"01.02.2020\" is not YYYY-MM-DD",
        ),
        (
            "a,2020-01-02,5.5,,",
            "line 3: odometer_km must be a whole number of km",
        ),
        (
            "a,2020-01-02,,,",
            "line 3: odometer_km must be a whole number of km",
        ),
        (
            "a,2020-01-02,9999999999,,",
            "line 3: odometer_km must be a whole number",
        ),
        (
            "a,2020-01-02,5,2019-13-01,",
            "line 3: bad first_registration",
        ),
        (
            "a,2020-01-02,5,,dealer",
            "line 3: unknown source \"dealer\"",
        ),
        ("a,2020-01-02,5,", "line 3: 4 fields where the header has 5"),
        (
            "a,2020-01-02,5,,visit,x",
            "line 3: 6 fields where the header has 5",
        ),
        (
            "\"a,2020-01-02,5,,",
            "line 3: a quoted field has no closing quote",
        ),
        (
            "\"a\"b,2020-01-02,5,,",
            "line 3: text after the closing quote",
        ),
        (
            "a\"b,2020-01-02,5,,",
            "line 3: a quote inside an unquoted field",
        ),
    ];
    for (row, expected) in cases {
        let err = error(&format!("{head}{row}\n"));
        assert!(err.starts_with(expected), "{row:?}: {err}");
    }
    let err = error(&format!(
        "{head}   \n\nb,2020-01-01,1,,\na,2020-03-01,2,,\n"
    ));
    assert!(
        err.contains("line 6: rows of vehicle \"a\" are not contiguous"),
        "{err}"
    );
}

#[test]
fn crlf_line_ends_a_byte_order_mark_blanks_and_a_missing_last_line_end_are_read() {
    let logs = vehicles(
        "\u{feff}vehicle_id,date,odometer_km,first_registration\r\n\
         a,2020-01-01,100,2019-01-01\r\n\r\n  a , 2020-06-01 ,\t5000 ,\r\nb,2021-01-01,7,",
    )
    .unwrap();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].vehicle_id, "a");
    assert_eq!(logs[0].readings.len(), 2);
    assert_eq!(logs[0].readings[1].date, day("2020-06-01"));
    assert_eq!(logs[0].readings[1].km, 5000);
    assert_eq!(logs[0].first_registration, Some(day("2019-01-01")));
    assert_eq!(logs[1].readings[0].km, 7);
}

#[test]
fn quoted_fields_are_unquoted_and_columns_follow_the_header() {
    let logs = vehicles(
        "\"source\",odometer_km,\"vehicle_id\",date\n\
         visit,\"100\",\"x, \"\"the\"\" car\",2020-01-01\n\
         \"customer_reported\",200, \"x, \"\"the\"\" car\" ,\"2020-02-01\"\n\
         ,300,y,2020-03-01\n",
    )
    .unwrap();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].vehicle_id, "x, \"the\" car");
    assert_eq!(logs[0].readings[1].km, 200);
    assert_eq!(logs[0].readings[1].source, ReadingSource::CustomerReported);
    assert_eq!(logs[0].readings[1].date, day("2020-02-01"));
    assert_eq!(logs[1].vehicle_id, "y");
    assert_eq!(logs[1].first_registration, None);
}

#[test]
fn each_vehicle_gets_its_own_registration() {
    let logs = vehicles(
        "vehicle_id,date,odometer_km,first_registration\n\
         a,2020-01-01,1,2019-01-01\na,2020-02-01,2,2019-01-01\nb,2020-01-01,1,\n\
         b,2020-02-01,2,2018-05-05\nc,2020-01-01,1,2019-01-01\n",
    )
    .unwrap();
    let registrations: Vec<_> = logs.iter().map(|l| l.first_registration).collect();
    assert_eq!(
        registrations,
        [
            Some(day("2019-01-01")),
            Some(day("2018-05-05")),
            Some(day("2019-01-01"))
        ]
    );
}

#[test]
fn a_plain_row_is_read_as_the_general_parser_reads_it() {
    let headers = [
        "vehicle_id,date,odometer_km,first_registration,source",
        "source,odometer_km,note,date,vehicle_id",
        "vehicle_id,date,odometer_km",
        "odometer_km,vehicle_id,date",
    ];
    // Per column, three plain values first, then others.
    let fields = [
        ["a", "b", "\u{e9}t\u{e9}", "a ", " a", "", "\"a\"", "a\r"],
        [
            "2020-01-01",
            "2021-12-31",
            "2020-02-29",
            "2020-1-01",
            " 2020-01-01",
            "2020-02-30",
            "2020-01-01\r",
            "x",
        ],
        ["0", "5", "123456789", "1234567890", "+5", "5 ", "", "5\r"],
        [
            "",
            "2019-01-01",
            "2018-05-05",
            "2019-01-01 ",
            "2019-1-1",
            "bad",
            "\r",
            "2019-01-01\r",
        ],
        [
            "",
            "visit",
            "customer_reported",
            "Visit",
            " visit",
            "\r",
            "visit\r",
            "x",
        ],
    ];
    let mut n = 0;
    for header in headers {
        let columns = Columns::from_header(header.as_bytes()).unwrap();
        let (mut plain, mut general) = (RowParser::new(columns), RowParser::new(columns));
        let names: Vec<&str> = header.split(',').collect();
        let mut seed = 7u64;
        for i in 0..20_000 {
            let mut line: Vec<String> = names
                .iter()
                .map(|name| {
                    let column = match *name {
                        "vehicle_id" => 0,
                        "date" => 1,
                        "odometer_km" => 2,
                        "first_registration" => 3,
                        "source" => 4,
                        _ => return "note".to_owned(),
                    };
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    // Mostly the first, plain, values.
                    let pick = (seed >> 33) as usize % 16;
                    fields[column][if pick < 8 { pick % 3 } else { pick - 8 }].to_owned()
                })
                .collect();
            if i % 7 == 0 {
                line.pop();
            }
            let mut text = line.join(",");
            text.push_str(["\n", "\r\n", ""][i % 3]);
            let data = text.as_bytes();
            let Some((end, row)) = plain.plain_row(data) else {
                continue;
            };
            n += 1;
            let (vehicle, new_vehicle) = (row.vehicle.to_owned(), row.new_vehicle);
            let (registration, reading) = (row.registration, row.reading);
            assert_eq!(
                Some(end),
                general.scan(data).or(Some(data.len())),
                "{text:?}"
            );
            let row = general.row(&data[..end], 1).unwrap().unwrap();
            assert_eq!(row.vehicle, vehicle, "{text:?}");
            assert_eq!(row.new_vehicle, new_vehicle, "{text:?}");
            assert_eq!(row.registration, registration, "{text:?}");
            assert_eq!(row.reading, reading, "{text:?}");
        }
    }
    assert!(n > 3000, "{n}");
}

#[test]
fn dates_are_read_as_chrono_reads_them() {
    for text in [
        "2020-01-01",
        "2020-02-29",
        "2021-02-29",
        "2020-13-01",
        "2020-00-10",
        "2020-01-00",
        "2020-01-32",
        "0000-01-01",
        "9999-12-31",
        "2020-1-5",
        "2020-01-5",
        "+2020-01-01",
        "2020/01/01",
        "2020-01-01x",
        "",
        "20200101",
        "1900-02-29",
        "2000-02-29",
        "2o20-01-01",
    ] {
        let ours = parse_date(text.as_bytes(), &mut Years::default()).ok();
        let chrono = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
        assert_eq!(ours, chrono, "{text:?}");
    }
    // Every day of four centuries, and the days that are not.
    let mut years = Years::default();
    for year in 1800..2200 {
        for month in 0..=13 {
            for day in 0..=32 {
                let text = format!("{year:04}-{month:02}-{day:02}");
                let chrono = NaiveDate::from_ymd_opt(year, month, day);
                assert_eq!(exact_date(text.as_bytes(), &mut years), chrono, "{text}");
            }
        }
    }
}

/// A log of `vehicles` vehicles, three rows each; rows given as `(line, text)` replace theirs.
fn fleet(vehicles: usize, replace: &[(usize, &str)]) -> String {
    let mut text = String::from("vehicle_id,date,odometer_km,first_registration\n");
    let mut line = 1;
    for v in 0..vehicles {
        for r in 0..3 {
            line += 1;
            match replace.iter().find(|(l, _)| *l == line) {
                Some((_, row)) => text.push_str(row),
                None => text.push_str(&format!(
                    "car-{v},20{:02}-0{}-1{},{},2015-0{}-01",
                    10 + r,
                    1 + v % 9,
                    v % 10,
                    1000 * (r + 1) + v,
                    1 + v % 9
                )),
            }
            text.push('\n');
        }
    }
    text
}

/// The vehicles of `text` read in blocks of about `block` bytes, and the error the forecast
/// command would report, with the line numbers it would add up.
fn in_blocks(text: &str, block: usize) -> (Vec<VehicleLog>, Option<u64>) {
    let mut reader = BlockReader::new(text.as_bytes(), block).unwrap();
    let mut rows = reader.rows();
    let (mut out, mut buf, mut line) = (Vec::new(), Vec::new(), 2);
    let mut log = VehicleLog::default();
    while reader.next_block(&mut buf).unwrap() {
        let (lines, failed) = block_vehicles(&mut rows, &buf, &mut log, |log, at| {
            assert_eq!(rows_first_vehicle(&buf, at), log.vehicle_id);
            out.push(log.clone());
        });
        if let Some(at) = failed {
            return (out, Some(line + at.line));
        }
        line += lines;
    }
    (out, None)
}

fn rows_first_vehicle(block: &[u8], at: LineAt) -> String {
    let line = std::str::from_utf8(&block[at.start..at.end]).unwrap();
    line.split(',').next().unwrap().to_owned()
}

fn same_logs(a: &[VehicleLog], b: &[VehicleLog]) {
    assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(b) {
        assert_eq!(a.vehicle_id, b.vehicle_id);
        assert_eq!(a.first_registration, b.first_registration);
        assert_eq!(a.readings, b.readings);
    }
}

#[test]
fn blocks_end_between_vehicles_and_read_what_the_stream_reads() {
    let text = fleet(
        40,
        &[
            (9, ""),
            (10, "  "),
            (30, "\"car-9\",2012-01-19,3009,2015-01-01"),
        ],
    );
    let streamed = vehicles(&text).unwrap();
    assert_eq!(streamed.len(), 40);
    for block in [1, 2, 7, 40, 41, 100, 1000, 1 << 20] {
        let (logs, failed) = in_blocks(&text, block);
        assert_eq!(failed, None, "block {block}");
        same_logs(&logs, &streamed);
    }
}

#[test]
fn an_id_read_from_quotes_is_not_taken_for_the_start_of_the_next_row() {
    // The id `a,b`, quoted, then a row that starts with the same bytes unquoted: its id is
    // `a`, and it has a field too many.
    let text = "vehicle_id,date,odometer_km\n\"a,b\",2020-01-01,1\na,b,2020-01-02,2\n";
    let err = vehicles(text).unwrap_err();
    assert!(err.to_string().starts_with("line 3: 4 fields"), "{err}");
    let mut reader = BlockReader::new(text.as_bytes(), 1 << 20).unwrap();
    let (mut rows, mut buf, mut log) = (reader.rows(), Vec::new(), VehicleLog::default());
    assert!(reader.next_block(&mut buf).unwrap());
    let (_, failed) = block_vehicles(&mut rows, &buf, &mut log, |_, _| {});
    // Line 3 of the file: the second of the block.
    assert_eq!(failed.map(|at| at.line), Some(1));
}

#[test]
fn a_bad_row_in_a_later_block_is_found_on_its_line() {
    let text = fleet(40, &[(77, "car-25,2011-02-30,1,")]);
    let err = vehicles(&text).unwrap_err();
    assert!(err.to_string().starts_with("line 77: bad date"), "{err}");
    for block in [1, 7, 40, 100, 1 << 20] {
        let (logs, failed) = in_blocks(&text, block);
        assert_eq!(failed, Some(77), "block {block}");
        // The vehicles before the bad row's; the one just before it too when a block ends
        // there (the stream stops before it).
        assert!(
            (24..=25).contains(&logs.len()),
            "block {block}: {}",
            logs.len()
        );
    }
}

/// Hands out one byte a read, as a slow pipe may.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some((first, rest)) = self.0.split_first() else {
            return Ok(0);
        };
        if buf.is_empty() {
            return Ok(0);
        }
        buf[0] = *first;
        self.0 = rest;
        Ok(1)
    }
}

#[test]
fn short_reads_and_lines_longer_than_the_buffer_are_read() {
    let long_id = "v".repeat(100_000);
    let text = format!("{}{long_id},2020-01-01,5,\n", fleet(5, &[]));
    let expected = vehicles(&text).unwrap();
    assert_eq!(expected.last().unwrap().vehicle_id, long_id);
    let mut reader = LogReader::new(Trickle(text.as_bytes())).unwrap();
    let (mut logs, mut log) = (Vec::new(), VehicleLog::default());
    while reader.next_vehicle(&mut log).unwrap() {
        logs.push(log.clone());
    }
    same_logs(&logs, &expected);
    let mut reader = BlockReader::new(Trickle(text.as_bytes()), 3).unwrap();
    let mut rows = reader.rows();
    let (mut logs, mut buf) = (Vec::new(), Vec::new());
    while reader.next_block(&mut buf).unwrap() {
        block_vehicles(&mut rows, &buf, &mut log, |log, _| logs.push(log.clone()));
    }
    same_logs(&logs, &expected);
}

#[test]
fn an_empty_file_or_a_header_alone_has_no_vehicles() {
    assert!(error("").contains("missing column \"vehicle_id\""));
    assert!(vehicles("vehicle_id,date,odometer_km").unwrap().is_empty());
    assert!(vehicles("vehicle_id,date,odometer_km\r\n\r\n")
        .unwrap()
        .is_empty());
    let mut reader = BlockReader::new(&b"vehicle_id,date,odometer_km"[..], 4).unwrap();
    assert!(!reader.next_block(&mut Vec::new()).unwrap());
}
