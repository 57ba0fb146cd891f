//! Lines: a value over time ([`line`]) and one ridge per month ([`ridgeline`]).

use std::fmt::Write as _;

use super::{
    AXIS_H, BAR, Chart, FONT, Figure, MAX_POINT_MARKS, MUTED, Plot, RIDGE_FILL, Thin, W, c,
    category_labels, clean, data_table, fmt_tick, fmt_value, max_of, nice_ticks, no_data, render,
    span_words, text_w, truncate,
};
use maud::{Markup, html};

/// A filled line over time, drawn as one `<path>` however long the series; each point gets an
/// invisible focusable column only up to [`MAX_POINT_MARKS`] points.
pub fn line(chart: &Chart, points: &[(String, f64)], y_unit: &str) -> Markup {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return no_data(chart);
    };
    let n = points.len();
    let values: Vec<f64> = points.iter().map(|p| clean(p.1)).collect();
    let plot = Plot::new(nice_ticks(max_of(values.iter().copied())), fmt_tick);
    let step = if n > 1 {
        plot.width() / (n - 1) as f64
    } else {
        0.0
    };
    let x = |i: usize| {
        if n > 1 {
            plot.left + step * i as f64
        } else {
            plot.left + plot.width() / 2.0
        }
    };
    let mut d = String::with_capacity(n * 12 + 32);
    let _ = write!(d, "M{},{}", c(x(0)), c(plot.base));
    for (i, v) in values.iter().enumerate() {
        let _ = write!(d, "L{},{}", c(x(i)), c(plot.y(*v)));
    }
    let _ = write!(d, "L{},{}Z", c(x(n - 1)), c(plot.base));
    let band = if n > 1 { step } else { plot.width() };
    let body = html! {
        (plot.axes(y_unit))
        path.series d=(d) fill=(BAR) fill-opacity="0.2" stroke=(BAR) stroke-width="1.5" stroke-linejoin="round" {}
        @if n <= MAX_POINT_MARKS {
            g.marks {
                @for (i, (label, _)) in points.iter().enumerate() {
                    rect.mark.hit tabindex="0" x=(c(x(i) - band / 2.0)) y=(c(plot.top)) width=(c(band))
                        height=(c(plot.base - plot.top)) fill="transparent" {
                        title { (label) ": " (fmt_value(values[i], y_unit)) }
                    }
                }
            }
        }
        (category_labels(&points.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(), x, band, plot.base + 18.0, Thin::Spread))
    };
    let mean = values.iter().sum::<f64>() / n as f64;
    let hi = points
        .iter()
        .zip(&values)
        .fold((first.0.as_str(), 0.0), |acc, (p, v)| {
            if *v > acc.1 { (p.0.as_str(), *v) } else { acc }
        });
    let desc = format!(
        "{} Highest: {}, {}. Average: {}.",
        span_words(&first.0, &last.0, n, "value"),
        hi.0,
        fmt_value(hi.1, y_unit),
        fmt_value(mean, y_unit)
    );
    let table = chart.table.then(|| {
        data_table(
            chart,
            &[chart.label_name_or("Label").to_owned(), "Value".to_owned()],
            points
                .iter()
                .zip(&values)
                .map(|(p, v)| (p.0.clone(), vec![fmt_value(*v, y_unit)]))
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "line",
            w: W,
            h: AXIS_H,
            font: FONT,
            wide: false,
            desc,
            body,
            legend: None,
            table,
        },
    )
}

/// Overlapping filled curves, one per row (a month, by day of month), all on one scale, the
/// row labels on the left and `x_labels` along the bottom. Each ridge is one focusable mark
/// whose title gives its peak and total.
pub fn ridgeline(
    chart: &Chart,
    ridges: &[(String, Vec<f64>)],
    x_labels: &[String],
    unit: &str,
) -> Markup {
    const SPACING: f64 = 20.0;
    const AMPLITUDE: f64 = 44.0;
    const TOP: f64 = 6.0;
    let m = ridges
        .iter()
        .map(|r| r.1.len())
        .max()
        .unwrap_or(0)
        .max(x_labels.len());
    if ridges.is_empty() || ridges.iter().all(|r| r.1.is_empty()) {
        return no_data(chart);
    }
    let max = max_of(ridges.iter().flat_map(|r| r.1.iter().copied()));
    let scale = if max > 0.0 { max } else { 1.0 };
    let left = ridges
        .iter()
        .map(|r| text_w(&truncate(&r.0, 12), FONT))
        .fold(0.0, f64::max)
        + 10.0;
    let right = W - 6.0;
    let pw = right - left;
    let x = |j: usize| {
        if m > 1 {
            left + pw * j as f64 / (m - 1) as f64
        } else {
            left + pw / 2.0
        }
    };
    let base = |i: usize| TOP + AMPLITUDE + SPACING * i as f64;
    let h = base(ridges.len() - 1) + 28.0;
    let names: Vec<String> = (0..m)
        .map(|j| {
            x_labels
                .get(j)
                .cloned()
                .unwrap_or_else(|| (j + 1).to_string())
        })
        .collect();
    let summary = |(label, vals): &(String, Vec<f64>)| {
        let (peak_at, peak) = vals.iter().enumerate().fold((0, 0.0), |a, (j, v)| {
            if clean(*v) > a.1 { (j, clean(*v)) } else { a }
        });
        let total: f64 = vals.iter().copied().map(clean).sum();
        if vals.is_empty() {
            format!("{label}: no data")
        } else {
            format!(
                "{label}: peak {} at {}, total {}",
                fmt_value(peak, unit),
                names[peak_at],
                fmt_value(total, unit)
            )
        }
    };
    let path = |i: usize, vals: &[f64]| {
        let b = base(i);
        let mut d = format!("M{},{}", c(x(0)), c(b));
        for (j, v) in vals.iter().enumerate() {
            let _ = write!(d, "L{},{}", c(x(j)), c(b - clean(*v) / scale * AMPLITUDE));
        }
        let _ = write!(d, "L{},{}Z", c(x(vals.len().saturating_sub(1))), c(b));
        d
    };
    let body = html! {
        g.marks {
            @for (i, ridge) in ridges.iter().enumerate() {
                text x=(c(left - 6.0)) y=(c(base(i) - 3.0)) text-anchor="end" fill=(MUTED) { (truncate(&ridge.0, 12)) }
                @if !ridge.1.is_empty() {
                    path.mark tabindex="0" d=(path(i, &ridge.1)) fill=(RIDGE_FILL) stroke=(BAR)
                        stroke-width="1.2" stroke-linejoin="round" {
                        title { (summary(ridge)) }
                    }
                }
            }
        }
        (category_labels(&names, x, pw / m.max(1) as f64, h - 8.0, Thin::Every))
    };
    let peak = ridges
        .iter()
        .flat_map(|(label, vals)| {
            vals.iter()
                .enumerate()
                .map(move |(j, v)| (label.as_str(), j, clean(*v)))
        })
        .fold(("", 0, -1.0), |a, x| if x.2 > a.2 { x } else { a });
    let desc = format!(
        "{} Highest peak: {}, {}, {}.",
        span_words(
            &ridges[0].0,
            &ridges[ridges.len() - 1].0,
            ridges.len(),
            "row"
        ),
        peak.0,
        names[peak.1],
        fmt_value(peak.2, unit)
    );
    let legend = html! {
        div.chart-legend { span.key { "Height of the tallest peak: " (fmt_value(max, unit)) } }
    };
    let table = chart.table.then(|| {
        let mut head = vec![chart.label_name.to_owned()];
        head.extend(names.iter().cloned());
        data_table(
            chart,
            &head,
            ridges
                .iter()
                .map(|(label, vals)| {
                    (
                        label.clone(),
                        (0..m)
                            .map(|j| {
                                vals.get(j)
                                    .map_or_else(String::new, |v| fmt_value(clean(*v), unit))
                            })
                            .collect(),
                    )
                })
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "ridgeline",
            w: W,
            h,
            font: FONT,
            wide: false,
            desc,
            body,
            legend: Some(legend),
            table,
        },
    )
}
