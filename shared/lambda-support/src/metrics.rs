//! Business metrics as CloudWatch Embedded Metric Format (EMF) lines on stdout: counts of sends,
//! send failures, bookings, visits and conversions, aggregated per invocation, with dimensions
//! from closed sets only (stage, channel, offer rule), so no personal data reaches a metric.
//!
//! An entry point wraps its work in [`invocation`]; the code under it calls [`count`]; the lines
//! are written once when the invocation ends. Each line also publishes its metrics without
//! dimensions (dimension set `[]`), the totals the send failure alarm reads.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;

use serde_json::{json, Map, Value};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "Autodrive";

/// The namespace the lines go to: `METRICS_NAMESPACE` (the template sets `Autodrive/<stage>`, so
/// two stacks in one account keep their totals and alarms apart), else [`NAMESPACE`].
pub fn namespace() -> String {
    std::env::var("METRICS_NAMESPACE")
        .ok()
        .filter(|n| !n.trim().is_empty() && n.len() <= 255)
        .unwrap_or_else(|| NAMESPACE.to_owned())
}

/// The value a dimension takes when the value given is not `[A-Za-z0-9_.-]{1,64}`.
pub const REFUSED_VALUE: &str = "invalid";

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// A message went out through a messenger (dimensions `Stage`, `Channel`, `Rule`).
    MessagesSent,
    /// A messenger refused or failed a message (dimensions `Stage`, `Channel`).
    SendFailures,
    /// A slot was held for a customer (dimensions `Channel`, `Stage`).
    BookingsHeld,
    /// An advisor confirmed a hold (dimension `Channel`).
    BookingsConfirmed,
    /// A booking was cancelled by the customer or an advisor (dimension `Channel`).
    BookingsCancelled,
    /// A confirmed booking was marked a no-show (dimension `Channel`).
    NoShows,
    /// A visit (work order) was stored for the first time.
    VisitsRecorded,
    /// A visit was credited to the message it followed (dimensions `Stage`, `Rule`).
    Conversions,
}

impl Metric {
    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Metric::MessagesSent => "MessagesSent",
            Metric::SendFailures => "SendFailures",
            Metric::BookingsHeld => "BookingsHeld",
            Metric::BookingsConfirmed => "BookingsConfirmed",
            Metric::BookingsCancelled => "BookingsCancelled",
            Metric::NoShows => "NoShows",
            Metric::VisitsRecorded => "VisitsRecorded",
            Metric::Conversions => "Conversions",
        }
    }
}

/// A dimension a count may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    /// The stage of the message (`personal_offer`, ...) or `booking_reminder`.
    Stage,
    /// `telegram`, `whatsapp` or `sms`.
    Channel,
    /// The id of the policy's offer rule that priced the offer.
    Rule,
}

impl Dimension {
    /// The dimension's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Stage => "Stage",
            Dimension::Channel => "Channel",
            Dimension::Rule => "Rule",
        }
    }
}

/// Whether `value` may be a dimension value: 1 to 64 of `A-Z a-z 0-9 _ . -`.
pub fn valid_value(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The dimensions of a count; a value that is not [`valid_value`] is recorded as
/// [`REFUSED_VALUE`].
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dims(BTreeMap<Dimension, String>);

impl Dims {
    pub fn new() -> Self {
        Dims::default()
    }

    /// These dimensions and `dimension` = `value`.
    pub fn with(mut self, dimension: Dimension, value: &str) -> Self {
        let value = if valid_value(value) {
            value.to_owned()
        } else {
            tracing::warn!(
                dimension = dimension.name(),
                "metric dimension value refused"
            );
            REFUSED_VALUE.to_owned()
        };
        self.0.insert(dimension, value);
        self
    }

    /// These dimensions and `dimension` = `value` when there is one.
    pub fn with_opt(self, dimension: Dimension, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.with(dimension, value),
            None => self,
        }
    }

    /// The value of `dimension`, if set.
    pub fn get(&self, dimension: Dimension) -> Option<&str> {
        self.0.get(&dimension).map(String::as_str)
    }
}

/// The counts of one invocation, by dimensions then metric.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    counts: BTreeMap<Dims, BTreeMap<Metric, u64>>,
}

impl Metrics {
    pub fn new() -> Self {
        Metrics::default()
    }

    /// Adds `n` to `metric` under `dims`.
    pub fn count(&mut self, metric: Metric, dims: Dims, n: u64) {
        *self
            .counts
            .entry(dims)
            .or_default()
            .entry(metric)
            .or_default() += n;
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The EMF lines at `timestamp_ms` (Unix milliseconds): one per set of dimension values,
    /// each publishing its metrics under those dimensions and without dimensions.
    pub fn lines(&self, timestamp_ms: i64) -> Vec<String> {
        self.counts
            .iter()
            .map(|(dims, counts)| emf_line(timestamp_ms, dims, counts).to_string())
            .collect()
    }

    /// Writes the lines (to the [`capture`] in scope, else stdout) and starts over.
    pub fn flush(&mut self) {
        if self.is_empty() {
            return;
        }
        let lines = self.lines(now_ms());
        self.counts.clear();
        let captured = CAPTURED.try_with(|c| c.borrow_mut().extend(lines.iter().cloned()));
        if captured.is_err() {
            for line in lines {
                println!("{line}");
            }
        }
    }
}

fn emf_line(timestamp_ms: i64, dims: &Dims, counts: &BTreeMap<Metric, u64>) -> Value {
    let names: Vec<&str> = dims.0.keys().map(|d| d.name()).collect();
    let dimension_sets = if names.is_empty() {
        json!([[]])
    } else {
        json!([names, []])
    };
    let definitions: Vec<Value> = counts
        .keys()
        .map(|m| json!({"Name": m.name(), "Unit": "Count"}))
        .collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace(),
                "Dimensions": dimension_sets,
                "Metrics": definitions,
            }],
        }),
    );
    for (dimension, value) in &dims.0 {
        root.insert(dimension.name().into(), Value::from(value.as_str()));
    }
    for (metric, n) in counts {
        root.insert(metric.name().into(), Value::from(*n));
    }
    Value::Object(root)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

tokio::task_local! {
    static CURRENT: RefCell<Metrics>;
    static CAPTURED: RefCell<Vec<String>>;
}

/// Runs one invocation's work: [`count`] under it adds to its metrics, written once at the end.
pub async fn invocation<F: Future>(work: F) -> F::Output {
    // On the heap: a handler's future is large, and the scope would hold it on the stack.
    let work = Box::pin(work);
    CURRENT
        .scope(RefCell::new(Metrics::new()), async move {
            let output = work.await;
            CURRENT.with(|m| m.borrow_mut().flush());
            output
        })
        .await
}

/// Adds `n` to `metric` under `dims` in the current [`invocation`]; outside one, nothing.
pub fn count(metric: Metric, dims: Dims, n: u64) {
    let _ = CURRENT.try_with(|m| m.borrow_mut().count(metric, dims, n));
}

/// Runs `work` keeping the metric lines it writes instead of printing them (for tests).
pub async fn capture<F: Future>(work: F) -> (F::Output, Vec<String>) {
    let work = Box::pin(work);
    CAPTURED
        .scope(RefCell::new(Vec::new()), async move {
            let output = work.await;
            let lines = CAPTURED.with(|c| c.take());
            (output, lines)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).expect(line)
    }

    /// Every metric a line declares is a numeric member, every dimension a string member.
    fn assert_well_formed(line: &Value) {
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert!(line["_aws"]["Timestamp"].is_i64());
        assert_eq!(directive["Namespace"], NAMESPACE);
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert_eq!(metric["Unit"], "Count");
            assert!(line[name].is_number(), "{name} in {line}");
        }
        for set in directive["Dimensions"].as_array().unwrap() {
            for name in set.as_array().unwrap() {
                let name = name.as_str().unwrap();
                assert!(line[name].is_string(), "{name} in {line}");
                assert!(valid_value(line[name].as_str().unwrap()));
            }
        }
    }

    #[test]
    fn a_count_becomes_one_emf_line_with_its_dimensions_and_the_total() {
        let mut metrics = Metrics::new();
        let dims = Dims::new()
            .with(Dimension::Stage, "personal_offer")
            .with(Dimension::Channel, "telegram")
            .with(Dimension::Rule, "loyal-perks");
        metrics.count(Metric::MessagesSent, dims, 1);
        let lines = metrics.lines(1_764_633_600_000);
        assert_eq!(lines.len(), 1);
        let line = parse(&lines[0]);
        assert_well_formed(&line);
        assert_eq!(line["_aws"]["Timestamp"], 1_764_633_600_000_i64);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Stage", "Channel", "Rule"], []])
        );
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "MessagesSent", "Unit": "Count"}])
        );
        assert_eq!(line["Stage"], "personal_offer");
        assert_eq!(line["Channel"], "telegram");
        assert_eq!(line["Rule"], "loyal-perks");
        assert_eq!(line["MessagesSent"], 1);
    }

    #[test]
    fn counts_with_the_same_dimensions_add_up_in_one_line() {
        let mut metrics = Metrics::new();
        let telegram = || Dims::new().with(Dimension::Channel, "telegram");
        metrics.count(Metric::BookingsHeld, telegram(), 1);
        metrics.count(Metric::BookingsHeld, telegram(), 2);
        metrics.count(Metric::BookingsConfirmed, telegram(), 1);
        metrics.count(
            Metric::BookingsHeld,
            Dims::new().with(Dimension::Channel, "sms"),
            1,
        );
        let lines: Vec<Value> = metrics.lines(0).iter().map(|l| parse(l)).collect();
        assert_eq!(lines.len(), 2);
        lines.iter().for_each(assert_well_formed);
        let tg = lines.iter().find(|l| l["Channel"] == "telegram").unwrap();
        assert_eq!(tg["BookingsHeld"], 3);
        assert_eq!(tg["BookingsConfirmed"], 1);
        let sms = lines.iter().find(|l| l["Channel"] == "sms").unwrap();
        assert_eq!(sms["BookingsHeld"], 1);
        assert!(sms.get("BookingsConfirmed").is_none());
    }

    #[test]
    fn a_count_without_dimensions_has_the_empty_dimension_set_only() {
        let mut metrics = Metrics::new();
        metrics.count(Metric::VisitsRecorded, Dims::new(), 1);
        let line = parse(&metrics.lines(0)[0]);
        assert_well_formed(&line);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert_eq!(line["VisitsRecorded"], 1);
    }

    #[test]
    fn a_dimension_value_outside_the_closed_sets_is_refused() {
        for bad in [
            "",
            "+79161234567",
            "Иван",
            "a b",
            "x@example.com",
            &"a".repeat(65),
        ] {
            assert!(!valid_value(bad), "{bad}");
            let dims = Dims::new().with(Dimension::Rule, bad);
            assert_eq!(dims.get(Dimension::Rule), Some(REFUSED_VALUE));
        }
        for good in [
            "personal_offer",
            "whatsapp",
            "risk-package",
            "v1.2",
            &"a".repeat(64),
        ] {
            assert!(valid_value(good), "{good}");
        }
        let mut metrics = Metrics::new();
        metrics.count(
            Metric::MessagesSent,
            Dims::new().with(Dimension::Channel, "+79161234567"),
            1,
        );
        let line = &metrics.lines(0)[0];
        assert!(!line.contains("79161234567"), "{line}");
        assert_eq!(parse(line)["Channel"], REFUSED_VALUE);
    }

    #[tokio::test]
    async fn an_invocation_writes_its_counts_once_at_the_end() {
        let ((), lines) = capture(invocation(async {
            count(
                Metric::NoShows,
                Dims::new().with(Dimension::Channel, "sms"),
                1,
            );
            count(
                Metric::NoShows,
                Dims::new().with(Dimension::Channel, "sms"),
                1,
            );
        }))
        .await;
        assert_eq!(lines.len(), 1);
        assert_eq!(parse(&lines[0])["NoShows"], 2);
        let ((), none) = capture(async { count(Metric::NoShows, Dims::new(), 1) }).await;
        assert!(none.is_empty());
        let ((), empty) = capture(invocation(async {})).await;
        assert!(empty.is_empty());
    }
}
