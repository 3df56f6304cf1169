//! The dashboard's chart primitives: pure functions from figures to an inline `<svg>` tagged
//! `data-chart` (what it shows) and `data-points` (the data points drawn), every text escaped.
//! A chart without data is drawn as «Нет данных за период» with `data-points="0"`.

use std::fmt::Write;

use super::html::escape;

/// The text of a chart without data.
pub const NO_DATA: &str = "Нет данных за период";

const WIDTH: f64 = 960.0;
const LABEL_WIDTH: f64 = 290.0;
const NOTE_WIDTH: f64 = 210.0;
const ROW: f64 = 30.0;
const TOP: f64 = 34.0;

/// One horizontal bar: its label, its length and the note written after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub note: String,
}

/// One estimate with its interval (an error bar), in the chart's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub label: String,
    pub value: f64,
    /// The interval, when it can be computed.
    pub interval: Option<(f64, f64)>,
    pub note: String,
}

/// One day of the load chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayColumn {
    /// `dd.mm`.
    pub label: String,
    /// Vehicles falling due that day.
    pub due: u32,
    /// Units of the day's slots held or booked.
    pub booked: u32,
    /// Units of the day's slots (lifts × slots).
    pub capacity: u32,
}

fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "0".into()
    }
}

fn open_svg(out: &mut String, kind: &str, title: &str, points: usize, height: f64) {
    let _ = write!(
        out,
        "<svg class=\"chart\" data-chart=\"{kind}\" \
         data-points=\"{points}\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" \
         aria-label=\"{title}\"><title>{title}</title>\
         <text x=\"0\" y=\"18\" class=\"chart-title\">{title}</text>",
        kind = escape(kind),
        w = num(WIDTH),
        h = num(height),
        title = escape(title),
    );
}

/// A chart that has nothing to draw: its title and «Нет данных за период».
pub fn empty_chart(kind: &str, title: &str) -> String {
    let mut out = String::new();
    open_svg(&mut out, kind, title, 0, 90.0);
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"60\" text-anchor=\"middle\" class=\"no-data\">{NO_DATA}</text></svg>",
        num(WIDTH / 2.0)
    );
    out
}

/// Horizontal bars scaled to the longest, each with its label and note.
pub fn bar_chart(kind: &str, title: &str, bars: &[Bar]) -> String {
    if bars.is_empty() {
        return empty_chart(kind, title);
    }
    let height = TOP + ROW * bars.len() as f64 + 10.0;
    let mut out = String::new();
    open_svg(&mut out, kind, title, bars.len(), height);
    let span = WIDTH - LABEL_WIDTH - NOTE_WIDTH;
    let max = bars
        .iter()
        .map(|b| b.value)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    for (i, bar) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let length = if max > 0.0 && bar.value > 0.0 {
            (bar.value / max * span).max(1.0)
        } else {
            0.0
        };
        let _ = write!(
            out,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" class=\"label\">{label}</text>\
             <rect x=\"{x}\" y=\"{y}\" width=\"{wd}\" height=\"{h}\" class=\"bar\"/>\
             <text x=\"{nx}\" y=\"{ty}\" class=\"note\">{note}</text>",
            lx = num(LABEL_WIDTH - 8.0),
            ty = num(y + ROW * 0.6),
            label = escape(&bar.label),
            x = num(LABEL_WIDTH),
            y = num(y + 4.0),
            wd = num(length),
            h = num(ROW - 8.0),
            nx = num(LABEL_WIDTH + length + 6.0),
            note = escape(&bar.note),
        );
    }
    out.push_str("</svg>");
    out
}

/// Estimates as dots with their intervals as error bars around a zero line.
pub fn interval_chart(kind: &str, title: &str, estimates: &[Estimate]) -> String {
    if estimates.is_empty() {
        return empty_chart(kind, title);
    }
    let height = TOP + ROW * estimates.len() as f64 + 24.0;
    let mut out = String::new();
    open_svg(&mut out, kind, title, estimates.len(), height);
    let (mut lo, mut hi) = (0.0_f64, 0.0_f64);
    for e in estimates {
        for v in [
            Some(e.value),
            e.interval.map(|i| i.0),
            e.interval.map(|i| i.1),
        ]
        .into_iter()
        .flatten()
        .filter(|v| v.is_finite())
        {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if (hi - lo).abs() < f64::EPSILON {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (lo - pad, hi + pad);
    let left = LABEL_WIDTH;
    let right = WIDTH - NOTE_WIDTH;
    let x = |v: f64| left + (v - lo) / (hi - lo) * (right - left);
    let bottom = TOP + ROW * estimates.len() as f64;
    let zero = x(0.0);
    let ly = num(bottom + 16.0);
    let _ = write!(
        out,
        "<line x1=\"{z}\" y1=\"{t}\" x2=\"{z}\" y2=\"{b}\" class=\"zero\"/>\
         <text x=\"{z}\" y=\"{ly}\" text-anchor=\"middle\" class=\"axis\">0</text>",
        z = num(zero),
        t = num(TOP),
        b = num(bottom),
    );
    for (at, value, anchor) in [(left, lo, "start"), (right, hi, "end")] {
        if (at - zero).abs() > 40.0 {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{ly}\" text-anchor=\"{anchor}\" class=\"axis\">{}</text>",
                num(at),
                format!("{value:.1}").replace('.', ","),
            );
        }
    }
    for (i, e) in estimates.iter().enumerate() {
        let cy = TOP + ROW * i as f64 + ROW / 2.0;
        let _ = write!(
            out,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" class=\"label\">{label}</text>",
            lx = num(LABEL_WIDTH - 8.0),
            ty = num(cy + 4.0),
            label = escape(&e.label),
        );
        if let Some((a, b)) = e.interval.filter(|(a, b)| a.is_finite() && b.is_finite()) {
            let (xa, xb) = (num(x(a)), num(x(b)));
            let (y1, y2) = (num(cy - 6.0), num(cy + 6.0));
            let _ = write!(
                out,
                "<line x1=\"{xa}\" y1=\"{cy}\" x2=\"{xb}\" y2=\"{cy}\" class=\"whisker\"/>\
                 <line x1=\"{xa}\" y1=\"{y1}\" x2=\"{xa}\" y2=\"{y2}\" class=\"whisker\"/>\
                 <line x1=\"{xb}\" y1=\"{y1}\" x2=\"{xb}\" y2=\"{y2}\" class=\"whisker\"/>",
                cy = num(cy),
            );
        }
        let value = if e.value.is_finite() { e.value } else { 0.0 };
        let _ = write!(
            out,
            "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"5\" class=\"dot\"/>\
             <text x=\"{nx}\" y=\"{ty}\" class=\"note\">{note}</text>",
            cx = num(x(value)),
            cy = num(cy),
            nx = num(right + 8.0),
            ty = num(cy + 4.0),
            note = escape(&e.note),
        );
    }
    out.push_str("</svg>");
    out
}

/// Days as columns: the capacity (light), the booked units inside it (dark), the vehicles
/// falling due as a line. A point per day; none when every day is empty.
pub fn load_chart(kind: &str, title: &str, days: &[DayColumn]) -> String {
    if days
        .iter()
        .all(|d| d.due == 0 && d.booked == 0 && d.capacity == 0)
    {
        return empty_chart(kind, title);
    }
    let height = 330.0;
    let mut out = String::new();
    open_svg(&mut out, kind, title, days.len(), height);
    let (left, right, top, bottom) = (48.0, WIDTH - 10.0, 54.0, height - 46.0);
    let max = days
        .iter()
        .flat_map(|d| [d.due, d.booked, d.capacity])
        .max()
        .unwrap_or(0)
        .max(1);
    let y = |v: u32| bottom - f64::from(v) / f64::from(max) * (bottom - top);
    let band = (right - left) / days.len() as f64;
    let _ = write!(
        out,
        "<rect x=\"{l}\" y=\"28\" width=\"12\" height=\"12\" class=\"capacity\"/>\
         <text x=\"{l1}\" y=\"38\" class=\"legend\">мощность, машино-мест</text>\
         <rect x=\"{l2}\" y=\"28\" width=\"12\" height=\"12\" class=\"booked\"/>\
         <text x=\"{l3}\" y=\"38\" class=\"legend\">занято (записи и брони)</text>\
         <line x1=\"{l4}\" y1=\"34\" x2=\"{l5}\" y2=\"34\" class=\"due-line\"/>\
         <text x=\"{l6}\" y=\"38\" class=\"legend\">автомобилей к ТО по прогнозу</text>\
         <line x1=\"{left}\" y1=\"{b}\" x2=\"{right}\" y2=\"{b}\" class=\"axis-line\"/>\
         <text x=\"{ax}\" y=\"{b4}\" text-anchor=\"end\" class=\"axis\">0</text>\
         <text x=\"{ax}\" y=\"{t4}\" text-anchor=\"end\" class=\"axis\">{max}</text>",
        l = num(left),
        l1 = num(left + 16.0),
        l2 = num(left + 200.0),
        l3 = num(left + 216.0),
        l4 = num(left + 420.0),
        l5 = num(left + 440.0),
        l6 = num(left + 446.0),
        left = num(left),
        right = num(right),
        b = num(bottom),
        b4 = num(bottom + 4.0),
        t4 = num(top + 4.0),
        ax = num(left - 6.0),
    );
    let mut line = Vec::with_capacity(days.len());
    for (i, d) in days.iter().enumerate() {
        let x0 = left + band * i as f64;
        let (x, w) = (x0 + band * 0.15, band * 0.7);
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{cy}\" width=\"{w}\" height=\"{ch}\" class=\"capacity\">\
             <title>{tip}</title></rect>\
             <rect x=\"{x}\" y=\"{by}\" width=\"{w}\" height=\"{bh}\" class=\"booked\"/>\
             <text x=\"{lx}\" y=\"{ly}\" text-anchor=\"middle\" class=\"day{closed}\">{label}</text>",
            x = num(x),
            w = num(w),
            cy = num(y(d.capacity)),
            ch = num(bottom - y(d.capacity)),
            by = num(y(d.booked)),
            bh = num(bottom - y(d.booked)),
            tip = escape(&format!(
                "{}: к ТО {}, занято {} из {}",
                d.label, d.due, d.booked, d.capacity
            )),
            lx = num(x0 + band / 2.0),
            ly = num(bottom + 16.0 + 12.0 * (i % 2) as f64),
            closed = if d.capacity == 0 { " closed" } else { "" },
            label = escape(&d.label),
        );
        line.push((x0 + band / 2.0, y(d.due)));
    }
    let points: Vec<String> = line
        .iter()
        .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
        .collect();
    let _ = write!(
        out,
        "<polyline points=\"{}\" class=\"due-line\"/>",
        points.join(" ")
    );
    for (x, y) in &line {
        let _ = write!(
            out,
            "<circle cx=\"{}\" cy=\"{}\" r=\"3\" class=\"due-dot\"/>",
            num(*x),
            num(*y)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(svg: &str) -> usize {
        let at = svg.find("data-points=\"").unwrap() + "data-points=\"".len();
        svg[at..].split('"').next().unwrap().parse().unwrap()
    }

    fn bar(label: &str, value: f64) -> Bar {
        Bar {
            label: label.into(),
            value,
            note: format!("{value}"),
        }
    }

    #[test]
    fn a_chart_without_data_says_so_and_counts_no_points() {
        for svg in [
            bar_chart("funnel", "Воронка", &[]),
            interval_chart("uplift", "Прирост", &[]),
            load_chart("load", "Нагрузка", &[]),
            load_chart(
                "load",
                "Нагрузка",
                &[DayColumn {
                    label: "01.12".into(),
                    due: 0,
                    booked: 0,
                    capacity: 0,
                }],
            ),
        ] {
            assert_eq!(points(&svg), 0, "{svg}");
            assert!(svg.contains(NO_DATA), "{svg}");
            assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        }
    }

    #[test]
    fn bars_are_scaled_to_the_longest_and_counted() {
        let svg = bar_chart(
            "funnel",
            "Воронка",
            &[bar("отправлено", 10.0), bar("прочитано", 5.0)],
        );
        assert_eq!(points(&svg), 2);
        assert!(svg.contains("data-chart=\"funnel\""));
        let span = WIDTH - LABEL_WIDTH - NOTE_WIDTH;
        assert!(svg.contains(&format!("width=\"{}\"", num(span))), "{svg}");
        assert!(
            svg.contains(&format!("width=\"{}\"", num(span / 2.0))),
            "{svg}"
        );
        assert_eq!(svg.matches("class=\"bar\"").count(), 2);
    }

    #[test]
    fn a_zero_bar_has_no_length_and_all_zero_bars_do_not_divide_by_zero() {
        let svg = bar_chart("retention", "Удержание", &[bar("3–5 лет", 0.0)]);
        assert_eq!(points(&svg), 1);
        assert!(svg.contains("width=\"0.0\""), "{svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn every_text_is_escaped() {
        let evil = "<script>alert(\"x\")</script> & 'y'";
        let svg = bar_chart("x\"y", evil, &[bar(evil, 1.0)]);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"));
        assert!(svg.contains("data-chart=\"x&quot;y\""));
        let est = Estimate {
            label: evil.into(),
            value: 1.0,
            interval: None,
            note: evil.into(),
        };
        assert!(!interval_chart("u", evil, &[est]).contains("<script>"));
    }

    #[test]
    fn an_interval_is_drawn_as_an_error_bar_around_its_dot_with_the_zero_line() {
        let estimates = [
            Estimate {
                label: "всего".into(),
                value: 5.0,
                interval: Some((-2.0, 12.0)),
                note: "+5,0 п. п.".into(),
            },
            Estimate {
                label: "5 лет и старше".into(),
                value: -1.0,
                interval: None,
                note: "−1,0 п. п.".into(),
            },
        ];
        let svg = interval_chart("uplift", "Прирост", &estimates);
        assert_eq!(points(&svg), 2);
        assert_eq!(svg.matches("class=\"dot\"").count(), 2);
        assert_eq!(svg.matches("class=\"whisker\"").count(), 3, "one error bar");
        assert_eq!(svg.matches("class=\"zero\"").count(), 1);
        // The scale spans the interval and zero: the whisker ends sit inside the plot.
        let left = LABEL_WIDTH;
        let right = WIDTH - NOTE_WIDTH;
        let pad = 14.0 * 0.05;
        let x = |v: f64| left + (v + 2.0 + pad) / (14.0 + 2.0 * pad) * (right - left);
        assert!(svg.contains(&format!("x1=\"{}\"", num(x(-2.0)))), "{svg}");
        assert!(svg.contains(&format!("x2=\"{}\"", num(x(12.0)))), "{svg}");
        assert!(svg.contains(&format!("cx=\"{}\"", num(x(5.0)))), "{svg}");
    }

    #[test]
    fn the_load_chart_has_a_column_and_a_due_point_per_day() {
        let days: Vec<DayColumn> = (1..=28)
            .map(|d| DayColumn {
                label: format!("{d:02}.12"),
                due: d % 3,
                booked: d % 5,
                capacity: if d % 7 == 0 { 0 } else { 22 },
            })
            .collect();
        let svg = load_chart("load", "Нагрузка", &days);
        assert_eq!(points(&svg), 28);
        assert_eq!(svg.matches("class=\"due-dot\"").count(), 28);
        assert_eq!(svg.matches("class=\"day closed\"").count(), 4);
        assert!(svg.contains("к ТО 1, занято 1 из 22"), "{svg}");
        assert!(!svg.contains("NaN"));
    }
}
