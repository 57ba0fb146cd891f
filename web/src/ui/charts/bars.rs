//! Bars: vertical ([`bars`]) and horizontal ([`hbars`]) bar charts, a single bar of shares
//! ([`share_bar`]) and shares stacked over time ([`stacked_share`]).

use super::{
    AXIS_H, BAR, Bar, CATEGORICAL, Chart, FONT, Figure, GAP, INK, INK_ON, LINK, MUTED, Plot, Thin,
    W, c, categorical_legend, category_labels, clean, data_table, extremes, fmt_num, fmt_pct,
    fmt_tick, fmt_value, max_of, nice_ticks, no_data, render, span_words, text_w, truncate,
};
use maud::{Markup, html};

/// A vertical bar chart over a category or time axis, with a value axis of nice ticks.
pub fn bars(chart: &Chart, points: &[Bar], y_unit: &str) -> Markup {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return no_data(chart);
    };
    let values: Vec<f64> = points.iter().map(|p| clean(p.value)).collect();
    let plot = Plot::new(nice_ticks(max_of(values.iter().copied())), fmt_tick);
    let band = plot.width() / points.len() as f64;
    let width = if band > 3.0 { band * 0.8 } else { band };
    let body = html! {
        (plot.axes(y_unit))
        g.marks {
            @for (i, p) in points.iter().enumerate() {
                @let y = plot.y(values[i]);
                rect.mark tabindex="0" x=(c(plot.left + band * i as f64 + (band - width) / 2.0)) y=(c(y))
                    width=(c(width)) height=(c(plot.base - y)) fill=(BAR) {
                    title { (tooltip(p, values[i], y_unit)) }
                }
            }
        }
        (category_labels(&points.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(),
            |i| plot.left + band * (i as f64 + 0.5), band, plot.base + 18.0, Thin::Every))
    };
    let desc = format!(
        "{} {}",
        span_words(&first.label, &last.label, points.len(), "bar"),
        extremes(points.iter().map(|p| (p.label.as_str(), p.value)), y_unit)
    );
    let table = chart.table.then(|| {
        data_table(
            chart,
            &[chart.label_name_or("Label").to_owned(), "Value".to_owned()],
            points
                .iter()
                .map(|p| (p.label.clone(), vec![fmt_value(clean(p.value), y_unit)]))
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "bars",
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

fn tooltip(bar: &Bar, value: f64, unit: &str) -> String {
    if bar.tooltip.is_empty() {
        format!("{}: {}", bar.label, fmt_value(value, unit))
    } else {
        bar.tooltip.clone()
    }
}

/// Horizontal ranked bars (a top list): rank and name above each bar, the value at its end.
pub fn hbars(chart: &Chart, rows: &[Bar], unit: &str) -> Markup {
    if rows.is_empty() {
        return no_data(chart);
    }
    const ROW: f64 = 38.0;
    const NAME_CHARS: usize = 47;
    let values: Vec<f64> = rows.iter().map(|r| clean(r.value)).collect();
    let labels: Vec<String> = values.iter().map(|v| fmt_value(*v, unit)).collect();
    let max = max_of(values.iter().copied());
    let room = W - labels.iter().map(|s| text_w(s, FONT)).fold(0.0, f64::max) - 8.0;
    let h = rows.len() as f64 * ROW + 4.0;
    let body = html! {
        @for (i, r) in rows.iter().enumerate() {
            @let y0 = 4.0 + ROW * i as f64;
            @let width = if max > 0.0 { values[i] / max * room } else { 0.0 };
            @if let Some(href) = &r.link {
                a.name href=(href) {
                    text x="0" y=(c(y0 + 14.0)) fill=(LINK) text-decoration="underline" { (i + 1) ". " (truncate(&r.label, NAME_CHARS)) }
                }
            } @else {
                text x="0" y=(c(y0 + 14.0)) fill=(INK) { (i + 1) ". " (truncate(&r.label, NAME_CHARS)) }
            }
            rect.mark tabindex="0" x="0" y=(c(y0 + 19.0)) width=(c(width)) height="12" fill=(BAR) {
                title { (i + 1) ". " (tooltip(r, values[i], unit)) }
            }
            text x=(c(width + 6.0)) y=(c(y0 + 30.0)) fill=(MUTED) { (labels[i]) }
        }
    };
    let desc = match rows.first() {
        Some(top) if rows.len() > 1 => format!(
            "{} entries. First: {}, {}. Last: {}, {}.",
            rows.len(),
            top.label,
            labels[0],
            rows[rows.len() - 1].label,
            labels[rows.len() - 1]
        ),
        _ => format!("{}: {}.", rows[0].label, labels[0]),
    };
    let table = chart.table.then(|| {
        data_table(
            chart,
            &[
                "Rank".to_owned(),
                chart.label_name_or("Name").to_owned(),
                "Value".to_owned(),
            ],
            rows.iter()
                .enumerate()
                .map(|(i, r)| {
                    (
                        (i + 1).to_string(),
                        vec![r.label.clone(), labels[i].clone()],
                    )
                })
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "hbars",
            w: W,
            h,
            font: FONT,
            wide: false,
            desc,
            body,
            legend: None,
            table,
        },
    )
}

/// One bar of 100 % split into labelled parts (new vs known, shuffle on vs off), with the
/// shares written in the parts that have room and in the legend.
pub fn share_bar(chart: &Chart, parts: &[(String, f64)], unit: &str) -> Markup {
    const H: f64 = 28.0;
    let total: f64 = parts.iter().map(|p| clean(p.1)).sum();
    if total <= 0.0 {
        return no_data(chart);
    }
    let mut x = 0.0;
    let mut segments = Vec::new();
    for (i, (label, v)) in parts.iter().enumerate() {
        let v = clean(*v);
        let w = v / total * W;
        segments.push((i, label.as_str(), v, x, w, fmt_pct(v / total)));
        x += w;
    }
    let body = html! {
        g.marks {
            @for (i, label, v, x, w, pct) in &segments {
                @if *w > 0.0 {
                    rect.mark tabindex="0" x=(c(*x)) y="0" width=(c(*w)) height=(H)
                        fill=(CATEGORICAL[i % CATEGORICAL.len()]) stroke=(GAP) stroke-width="1" {
                        title { (label) ": " (pct) " (" (fmt_value(*v, unit)) ")" }
                    }
                }
            }
        }
        g.labels {
            @for (i, label, _, x, w, pct) in &segments {
                @let text = format!("{label} {pct}");
                @if text_w(&text, FONT) + 8.0 < *w {
                    text x=(c(x + w / 2.0)) y="18.5" text-anchor="middle" fill=(INK_ON[i % INK_ON.len()]) { (text) }
                }
            }
        }
    };
    let desc = format!(
        "{}.",
        segments
            .iter()
            .map(|s| format!("{}: {}", s.1, s.5))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let legend = categorical_legend(segments.iter().map(|s| (s.0, s.1, s.5.clone())));
    let table = chart.table.then(|| {
        data_table(
            chart,
            &[
                chart.label_name_or("Part").to_owned(),
                "Value".to_owned(),
                "Share".to_owned(),
            ],
            segments
                .iter()
                .map(|s| (s.1.to_owned(), vec![fmt_value(s.2, unit), s.5.clone()]))
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "share",
            w: W,
            h: H,
            font: FONT,
            wide: false,
            desc,
            body,
            legend: Some(legend),
            table,
        },
    )
}

/// Bars of 100 %, one per period, split into the series' shares (platforms, countries over
/// time), with a legend. `periods[p].1[s]` is series `s` in period `p`, in `unit`.
pub fn stacked_share(
    chart: &Chart,
    series_names: &[String],
    periods: &[(String, Vec<f64>)],
    unit: &str,
) -> Markup {
    let k = series_names.len();
    let totals: Vec<f64> = periods
        .iter()
        .map(|p| p.1.iter().take(k).copied().map(clean).sum())
        .collect();
    if k == 0 || totals.iter().all(|t| *t <= 0.0) {
        return no_data(chart);
    }
    let plot = Plot::new(vec![0.0, 25.0, 50.0, 75.0, 100.0], |t| {
        format!("{} %", fmt_num(t))
    });
    let band = plot.width() / periods.len() as f64;
    let width = if band > 3.0 { band * 0.8 } else { band };
    let gap = (width > 6.0).then_some(GAP);
    let segments: Vec<Vec<(usize, f64, f64, f64)>> = periods
        .iter()
        .zip(&totals)
        .map(|((_, vals), total)| {
            let mut acc = 0.0;
            let mut out = Vec::new();
            for (s, v) in vals.iter().take(k).copied().map(clean).enumerate() {
                if v > 0.0 {
                    out.push((s, v, acc / total, (acc + v) / total));
                    acc += v;
                }
            }
            out
        })
        .collect();
    let body = html! {
        (plot.axes(""))
        g.marks {
            @for (p, (label, _)) in periods.iter().enumerate() {
                @for &(s, v, from, to) in &segments[p] {
                    @let y = plot.y(to * 100.0);
                    rect.mark tabindex="0" x=(c(plot.left + band * p as f64 + (band - width) / 2.0)) y=(c(y))
                        width=(c(width)) height=(c(plot.y(from * 100.0) - y)) fill=(CATEGORICAL[s % CATEGORICAL.len()])
                        stroke=[gap] stroke-width=[gap.map(|_| "1")] {
                        title { (label) " · " (series_names[s]) ": " (fmt_value(v, unit)) " (" (fmt_pct(to - from)) ")" }
                    }
                }
            }
        }
        (category_labels(&periods.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
            |i| plot.left + band * (i as f64 + 0.5), band, plot.base + 18.0, Thin::Every))
    };
    let grand: f64 = totals.iter().sum();
    let overall: Vec<f64> = (0..k)
        .map(|s| {
            periods
                .iter()
                .map(|p| p.1.get(s).copied().map_or(0.0, clean))
                .sum()
        })
        .collect();
    let mut ranked: Vec<usize> = (0..k).collect();
    ranked.sort_by(|a, b| overall[*b].total_cmp(&overall[*a]));
    let desc = format!(
        "Share of {k} series in {} Overall: {}.",
        span_words(
            &periods[0].0,
            &periods[periods.len() - 1].0,
            periods.len(),
            "period"
        ),
        ranked
            .iter()
            .take(3)
            .map(|s| format!("{} {}", series_names[*s], fmt_pct(overall[*s] / grand)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let legend = categorical_legend(
        series_names
            .iter()
            .enumerate()
            .map(|(s, name)| (s, name.as_str(), fmt_pct(overall[s] / grand))),
    );
    let table = chart.table.then(|| {
        let mut head = vec![chart.label_name_or("Period").to_owned()];
        head.extend(series_names.iter().cloned());
        data_table(
            chart,
            &head,
            periods
                .iter()
                .zip(&totals)
                .map(|((label, vals), total)| {
                    let cells = (0..k)
                        .map(|s| {
                            let v = vals.get(s).copied().map_or(0.0, clean);
                            let share = if *total > 0.0 { v / total } else { 0.0 };
                            format!("{} ({})", fmt_value(v, unit), fmt_pct(share))
                        })
                        .collect();
                    (label.clone(), cells)
                })
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "stacked",
            w: W,
            h: AXIS_H,
            font: FONT,
            wide: false,
            desc,
            body,
            legend: Some(legend),
            table,
        },
    )
}
