//! A report asked for over HTTP (`GET /v1/reports/NAME?format=…&from=…`): the query string's
//! options, read the same way by `autodrive serve` and the `reports` Lambda.

use chrono::NaiveDate;

use super::{parse_basis, Format, ReportOptions};

/// The options and the format of a report request's query string (`format` defaults to CSV).
/// `Err` names the parameter that is wrong and why.
pub fn options_from_query(query: &str) -> Result<(ReportOptions, Format), String> {
    let mut options = ReportOptions::default();
    let mut format = Format::Csv;
    let date = |key: &str, v: &str| {
        v.parse::<NaiveDate>()
            .map_err(|_| format!("{key} {v:?} is not YYYY-MM-DD"))
    };
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "format" => {
                format =
                    Format::parse(&v).ok_or_else(|| "format is table, csv or xlsx".to_owned())?
            }
            "at" => options.at = Some(date("at", &v)?),
            "from" => options.from = Some(date("from", &v)?),
            "to" => options.to = Some(date("to", &v)?),
            "by" => {
                options.by =
                    Some(parse_basis(&v).ok_or_else(|| "by is revenue or margin".to_owned())?)
            }
            "customer" => options.customer = Some(v.into_owned()),
            "vin" => options.vin = Some(v.into_owned()),
            "grace_days" => {
                options.grace_days = Some(
                    v.parse::<u32>()
                        .map_err(|_| format!("grace_days {v:?} is not a number of days"))?,
                )
            }
            other => return Err(format!("unknown parameter {other:?}")),
        }
    }
    Ok((options, format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_read_and_the_format_defaults_to_csv() {
        let (options, format) =
            options_from_query("from=2026-01-01&to=2026-06-30&at=2026-07-01&by=margin").unwrap();
        assert_eq!(format, Format::Csv);
        assert_eq!(options.from, NaiveDate::from_ymd_opt(2026, 1, 1));
        assert_eq!(options.to, NaiveDate::from_ymd_opt(2026, 6, 30));
        assert_eq!(options.at, NaiveDate::from_ymd_opt(2026, 7, 1));
        assert!(options.by.is_some());
        let (options, format) = options_from_query("format=xlsx&vin=xw7&grace_days=14").unwrap();
        assert_eq!(format, Format::Xlsx);
        assert_eq!(options.vin.as_deref(), Some("xw7"));
        assert_eq!(options.grace_days, Some(14));
        assert_eq!(options_from_query("").unwrap().0, ReportOptions::default());
    }

    #[test]
    fn a_bad_or_unknown_parameter_is_named() {
        assert_eq!(
            options_from_query("format=pdf").unwrap_err(),
            "format is table, csv or xlsx"
        );
        assert_eq!(
            options_from_query("from=01.02.2026").unwrap_err(),
            "from \"01.02.2026\" is not YYYY-MM-DD"
        );
        assert_eq!(
            options_from_query("colour=red").unwrap_err(),
            "unknown parameter \"colour\""
        );
        assert!(options_from_query("grace_days=-1").is_err());
    }
}
