//! `loyalbatch-bench chart`: an SVG bar chart of runs' `--json` figures, so
//! BENCHMARKS.md shows a change instead of only stating it.
//!
//! Each series is a label and the files of its runs (JSON documents, one or
//! more per file, as any workload's `--json` prints them); each metric is a
//! name and a JSON pointer into them (a number, or an array of numbers: one
//! per round). A bar is the median of a series' values for a metric, the dots
//! are the values themselves, and a metric may carry a dashed target line.

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use std::fmt::Write;

/// One series: its label and every value of each metric, in metric order.
pub struct Series {
    pub label: String,
    pub values: Vec<Vec<f64>>,
}

/// A metric: its name on the chart, where its values are, and its target.
pub struct Metric {
    pub name: String,
    pub pointer: String,
    pub target: Option<f64>,
}

/// Writes to `out` the chart of `series` (`LABEL=FILE[,FILE…]`) over `metrics`
/// (`NAME=POINTER[>=TARGET]`).
pub fn run(
    title: &str,
    metrics: &[String],
    series: &[String],
    out: &std::path::Path,
) -> Result<()> {
    let metrics = metrics
        .iter()
        .map(|m| parse_metric(m))
        .collect::<Result<Vec<_>>>()?;
    ensure!(!metrics.is_empty(), "chart: give at least one --metric");
    let series = series
        .iter()
        .map(|s| read_series(s, &metrics))
        .collect::<Result<Vec<_>>>()?;
    std::fs::write(out, svg(title, &metrics, &series)?)
        .with_context(|| format!("writing {}", out.display()))
}

/// `NAME=POINTER` or `NAME=POINTER>=TARGET`.
pub fn parse_metric(text: &str) -> Result<Metric> {
    let (name, rest) = text
        .split_once('=')
        .with_context(|| format!("--metric {text:?}: expected NAME=/json/pointer[>=TARGET]"))?;
    let (pointer, target) = match rest.split_once(">=") {
        Some((p, t)) => (
            p,
            Some(t.trim().parse::<f64>().context("a target is a number")?),
        ),
        None => (rest, None),
    };
    ensure!(
        pointer.starts_with('/'),
        "--metric {text:?}: the pointer starts with '/'"
    );
    Ok(Metric {
        name: name.trim().to_owned(),
        pointer: pointer.trim().to_owned(),
        target,
    })
}

/// A series from `LABEL=FILE[,FILE…]`: every JSON document in the files.
pub fn read_series(text: &str, metrics: &[Metric]) -> Result<Series> {
    let (label, files) = text
        .split_once('=')
        .with_context(|| format!("{text:?}: expected LABEL=FILE[,FILE…]"))?;
    let mut documents = Vec::new();
    for file in files.split(',') {
        let json = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
        for document in serde_json::Deserializer::from_str(&json).into_iter::<Value>() {
            documents.push(document.with_context(|| format!("{file}: not JSON"))?);
        }
    }
    let values = metrics
        .iter()
        .map(|m| {
            let mut values = Vec::new();
            for d in &documents {
                match d.pointer(&m.pointer) {
                    Some(Value::Array(a)) => values.extend(a.iter().filter_map(Value::as_f64)),
                    Some(v) => values.extend(v.as_f64()),
                    None => {}
                }
            }
            ensure!(
                !values.is_empty(),
                "{label}: no number at {} in {files}",
                m.pointer
            );
            Ok(values)
        })
        .collect::<Result<_>>()?;
    Ok(Series {
        label: label.to_owned(),
        values,
    })
}

/// The median (the mean of the middle two of an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

const COLORS: [&str; 4] = ["#9aa5b1", "#2f6fde", "#e07b39", "#3a9d5d"];
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 360.0;
/// Room left of the plot (the axis' figures), above it (the title) and below it
/// (the metrics' names and the legend).
const LEFT: f64 = 56.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 64.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The chart as SVG text.
pub fn svg(title: &str, metrics: &[Metric], series: &[Series]) -> Result<String> {
    if series.is_empty() || series.len() > COLORS.len() {
        bail!("a chart shows 1 to {} series", COLORS.len());
    }
    let highest = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .chain(metrics.iter().filter_map(|m| m.target))
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let step = tick_step(highest);
    let top_value = (highest / step).ceil() * step * 1.1;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y = |v: f64| TOP + plot_h * (1.0 - v / top_value);
    let group_w = (WIDTH - LEFT - 16.0) / metrics.len() as f64;
    let bar_w = (group_w * 0.7 / series.len() as f64).min(64.0);
    let mut out = String::new();
    writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    )?;
    writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    )?;
    writeln!(
        out,
        r#"<text x="{LEFT}" y="24" font-size="15" font-weight="bold">{}</text>"#,
        escape(title)
    )?;
    let ticks = (top_value / step).floor() as u32;
    for i in 0..=ticks {
        let v = step * f64::from(i);
        writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e6ea"/><text x="{}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##,
            WIDTH - 16.0,
            LEFT - 6.0,
            y(v) + 4.0,
            short(v),
            y = y(v)
        )?;
    }
    for (g, metric) in metrics.iter().enumerate() {
        let x0 = LEFT + group_w * g as f64 + (group_w - bar_w * series.len() as f64) / 2.0;
        for (k, s) in series.iter().enumerate() {
            let (x, m) = (x0 + bar_w * k as f64, median(&s.values[g]));
            writeln!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {} (median of {})</title></rect>"#,
                y(m),
                bar_w - 4.0,
                y(0.0) - y(m),
                COLORS[k],
                escape(&s.label),
                short(m),
                s.values[g].len()
            )?;
            writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + (bar_w - 4.0) / 2.0,
                y(m) - 4.0,
                short(m)
            )?;
            for v in &s.values[g] {
                writeln!(
                    out,
                    r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="#222"/>"##,
                    x + (bar_w - 4.0) / 2.0,
                    y(*v)
                )?;
            }
        }
        if let Some(t) = metric.target {
            let x1 = LEFT + group_w * g as f64 + 4.0;
            writeln!(
                out,
                r##"<line x1="{x1:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#c0392b" stroke-dasharray="5 4"/><text x="{:.1}" y="{:.1}" fill="#c0392b" text-anchor="end">target {}</text>"##,
                x1 + group_w - 8.0,
                x1 + group_w - 8.0,
                y(t) - 4.0,
                short(t),
                y = y(t)
            )?;
        }
        writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + group_w * (g as f64 + 0.5),
            y(0.0) + 18.0,
            escape(&metric.name)
        )?;
    }
    for (k, s) in series.iter().enumerate() {
        let x = LEFT + 150.0 * k as f64;
        writeln!(
            out,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            HEIGHT - 24.0,
            COLORS[k],
            x + 16.0,
            HEIGHT - 14.0,
            escape(&s.label)
        )?;
    }
    out.push_str("</svg>\n");
    Ok(out)
}

/// A round step (1, 2 or 5 × a power of ten) that cuts 0..`highest` into 3 to 6 parts.
fn tick_step(highest: f64) -> f64 {
    let rough = highest / 4.0;
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| highest / step <= 6.0)
        .unwrap_or(10.0 * power)
}

/// A figure as a chart shows it: three significant digits at most.
fn short(v: f64) -> String {
    match v.abs() {
        a if a >= 1000.0 => format!("{:.1}k", v / 1000.0),
        a if a >= 10.0 => format!("{v:.0}"),
        a if a >= 1.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_series_and_the_bars_they_make() {
        let metric = parse_metric("balance ÷ /health=/balanceRatio>=0.5").unwrap();
        assert_eq!(
            (metric.pointer.as_str(), metric.target),
            ("/balanceRatio", Some(0.5))
        );
        assert!(
            parse_metric("x=balanceRatio").is_err(),
            "a pointer starts with /"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("runs.json");
        // Two runs: one with rounds, one pretty-printed with a single figure.
        std::fs::write(
            &file,
            "{\"balanceRatio\": [0.4, 0.6]}\n{\n  \"balanceRatio\": 0.3\n}\n",
        )
        .unwrap();
        let series = read_series(&format!("before={}", file.display()), &[metric]).unwrap();
        assert_eq!(series.values, [vec![0.4, 0.6, 0.3]]);
        assert_eq!(median(&series.values[0]), 0.4);
        assert_eq!(median(&[1.0, 2.0, 3.0, 4.0]), 2.5);
        assert_eq!(
            (tick_step(0.53), tick_step(17_000.0), tick_step(4.0)),
            (0.1, 5000.0, 1.0)
        );
        let metric = parse_metric("balance=/balanceRatio>=0.5").unwrap();
        let chart = svg("a <title>", &[metric], &[series]).unwrap();
        assert!(chart.starts_with("<svg") && chart.ends_with("</svg>\n"));
        assert!(chart.contains("a &lt;title&gt;") && chart.contains("target 0.50"));
        assert_eq!(chart.matches("<circle").count(), 3, "one dot per value");
        let missing = read_series(
            &format!("x={}", file.display()),
            &[parse_metric("m=/nope").unwrap()],
        );
        assert!(missing.is_err());
    }
}
