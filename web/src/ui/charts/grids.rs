//! Grids of cells: hour by weekday ([`heatmap`]) and a year of days ([`calendar`]).

use std::collections::{BTreeMap, BTreeSet};

use super::{
    Chart, EMPTY, FONT, Figure, GAP, INK, MONTHS, MUTED, SEQUENTIAL, Thin, W, WEEKDAYS, c,
    category_labels, clean, data_table, fmt_num, fmt_value, no_data, render, scale_index,
    scale_legend, span_words, swatch, text_w, truncate,
};
use maud::{Markup, html};

/// A grid of cells coloured on the sequential scale (weekday × hour, weekday × part of day),
/// with a legend from the smallest to the largest value. `values[r][c]` is row `r`, column
/// `c`; missing cells are left blank. `tooltips` has the same shape and may be empty (the
/// default is `row, column: value unit`).
pub fn heatmap(
    chart: &Chart,
    rows: &[String],
    cols: &[String],
    values: &[Vec<f64>],
    tooltips: &[Vec<String>],
    unit: &str,
) -> Markup {
    let cells: Vec<(usize, usize, f64)> = values
        .iter()
        .take(rows.len())
        .enumerate()
        .flat_map(|(r, row)| {
            row.iter()
                .take(cols.len())
                .enumerate()
                .map(move |(c, v)| (r, c, clean(*v)))
        })
        .collect();
    if cells.is_empty() {
        return no_data(chart);
    }
    let lo = cells.iter().map(|x| x.2).fold(f64::INFINITY, f64::min);
    let hi = cells.iter().map(|x| x.2).fold(0.0, f64::max);
    let left = rows
        .iter()
        .map(|r| text_w(&truncate(r, 10), FONT))
        .fold(0.0, f64::max)
        + 10.0;
    let top = 22.0;
    let cw = (W - left - 2.0) / cols.len() as f64;
    let ch = cw.clamp(16.0, 30.0);
    let h = top + ch * rows.len() as f64 + 2.0;
    let tip = |r: usize, col: usize, v: f64| match tooltips.get(r).and_then(|t| t.get(col)) {
        Some(t) if !t.is_empty() => t.clone(),
        _ => format!("{}, {}: {}", rows[r], cols[col], fmt_value(v, unit)),
    };
    let body = html! {
        (category_labels(cols, |j| left + cw * (j as f64 + 0.5), cw, top - 7.0, Thin::Every))
        g.labels {
            @for (r, name) in rows.iter().enumerate() {
                text x=(c(left - 6.0)) y=(c(top + ch * (r as f64 + 0.5) + 4.5)) text-anchor="end" fill=(MUTED) { (truncate(name, 10)) }
            }
        }
        g.marks {
            @for (r, col, v) in &cells {
                rect.mark tabindex="0" x=(c(left + cw * *col as f64)) y=(c(top + ch * *r as f64))
                    width=(c(cw)) height=(c(ch)) fill=(if *v > 0.0 { SEQUENTIAL[scale_index(*v, lo, hi)] } else { EMPTY })
                    stroke=(GAP) stroke-width="1" {
                    title { (tip(*r, *col, *v)) }
                }
            }
        }
    };
    let named = |r: usize, col: usize| format!("{} {}", rows[r], cols[col]);
    let max_cell = cells
        .iter()
        .fold(cells[0], |a, x| if x.2 > a.2 { *x } else { a });
    let min_cell = cells
        .iter()
        .fold(cells[0], |a, x| if x.2 < a.2 { *x } else { a });
    let desc = format!(
        "{} rows by {} columns. Highest: {}, {}. Lowest: {}, {}.",
        rows.len(),
        cols.len(),
        named(max_cell.0, max_cell.1),
        fmt_value(max_cell.2, unit),
        named(min_cell.0, min_cell.1),
        fmt_value(min_cell.2, unit)
    );
    let legend = scale_legend(&fmt_value(lo, unit), &fmt_value(hi, unit), None);
    let table = chart.table.then(|| {
        let mut head = vec![chart.label_name.to_owned()];
        head.extend(cols.iter().cloned());
        let body = rows
            .iter()
            .enumerate()
            .map(|(r, name)| {
                let row = values.get(r);
                let cells = (0..cols.len())
                    .map(|col| {
                        row.and_then(|row| row.get(col))
                            .map_or_else(String::new, |v| fmt_value(clean(*v), unit))
                    })
                    .collect();
                (name.clone(), cells)
            })
            .collect();
        data_table(chart, &head, body)
    });
    render(
        chart,
        Figure {
            kind: "heatmap",
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

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (proleptic Gregorian).
pub(super) fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// 0 for Monday … 6 for Sunday.
pub(super) fn weekday(y: i32, m: u32, d: u32) -> usize {
    (days_from_civil(y, m, d) + 3).rem_euclid(7) as usize
}

/// A calendar heatmap: one block per year, a column per week, a row per weekday (Monday on
/// top), month names above. Days are `(year, month, day, value)`; a day given twice counts
/// the sum, impossible dates are ignored. Days without a value are drawn empty.
pub fn calendar(chart: &Chart, days: &[(i32, u32, u32, f64)], unit: &str) -> Markup {
    const CELL: f64 = 11.0;
    const STEP: f64 = 13.0;
    const LEFT: f64 = 34.0;
    const HEAD: f64 = 16.0;
    const BLOCK: f64 = HEAD + 7.0 * STEP + 12.0;
    const SMALL: f64 = 11.0;
    let mut map: BTreeMap<(i32, u32, u32), f64> = BTreeMap::new();
    for &(y, m, d, v) in days {
        if (1..=12).contains(&m) && (1..=days_in_month(y, m)).contains(&d) {
            *map.entry((y, m, d)).or_default() += clean(v);
        }
    }
    let (Some((&first, _)), Some((&last, _))) = (map.first_key_value(), map.last_key_value())
    else {
        return no_data(chart);
    };
    let years: BTreeSet<i32> = map.keys().map(|k| k.0).collect();
    let positive = map.values().copied().filter(|v| *v > 0.0);
    let lo = positive.clone().fold(f64::INFINITY, f64::min);
    let hi = positive.fold(0.0, f64::max);
    let colour = |v: f64| {
        if v > 0.0 {
            SEQUENTIAL[scale_index(v, lo, hi)]
        } else {
            EMPTY
        }
    };
    let w = LEFT + 54.0 * STEP;
    let h = BLOCK * years.len() as f64 - 10.0;
    let date_words = |(y, m, d): (i32, u32, u32)| {
        format!(
            "{} {d} {} {y}",
            WEEKDAYS[weekday(y, m, d)],
            MONTHS[m as usize - 1]
        )
    };
    let body = html! {
        @for (b, &year) in years.iter().enumerate() {
            @let y0 = BLOCK * b as f64;
            @let jan1 = weekday(year, 1, 1);
            g.year {
                text x="0" y=(c(y0 + 11.0)) fill=(INK) font-weight="600" { (year) }
                @for m in 1..=12u32 {
                    @let col = (jan1 + (days_from_civil(year, m, 1) - days_from_civil(year, 1, 1)) as usize) / 7;
                    text x=(c(LEFT + STEP * col as f64)) y=(c(y0 + 11.0)) fill=(MUTED) { (MONTHS[m as usize - 1]) }
                }
                @for (row, name) in WEEKDAYS.iter().enumerate().step_by(2).take(3) {
                    text x="0" y=(c(y0 + HEAD + STEP * row as f64 + 9.5)) fill=(MUTED) { (name) }
                }
                @for m in 1..=12u32 {
                    @for d in 1..=days_in_month(year, m) {
                        @let slot = jan1 + (days_from_civil(year, m, d) - days_from_civil(year, 1, 1)) as usize;
                        @let x = c(LEFT + STEP * (slot / 7) as f64);
                        @let y = c(y0 + HEAD + STEP * (slot % 7) as f64);
                        @if let Some(v) = map.get(&(year, m, d)) {
                            rect.mark tabindex="0" x=(x) y=(y) width=(CELL) height=(CELL) fill=(colour(*v)) {
                                title { (date_words((year, m, d))) ": " (fmt_value(*v, unit)) }
                            }
                        } @else {
                            rect x=(x) y=(y) width=(CELL) height=(CELL) fill=(EMPTY) {}
                        }
                    }
                }
            }
        }
    };
    let iso = |(y, m, d): (i32, u32, u32)| format!("{y:04}-{m:02}-{d:02}");
    let total: f64 = map.values().sum();
    let busiest = map.iter().fold(
        (first, 0.0),
        |a, (k, v)| if *v > a.1 { (*k, *v) } else { a },
    );
    let desc = format!(
        "{} Busiest: {}, {}. Total: {}.",
        span_words(&iso(first), &iso(last), map.len(), "day"),
        date_words(busiest.0),
        fmt_value(busiest.1, unit),
        fmt_value(total, unit)
    );
    let legend = if hi > 0.0 {
        // The smallest day can round to nothing ("0 h"), which reads like the empty days.
        let least = match fmt_num(lo).as_str() {
            "0" => "less".to_owned(),
            _ => fmt_value(lo, unit),
        };
        scale_legend(&least, &fmt_value(hi, unit), Some("none"))
    } else {
        html! { div.chart-legend { span.key { (swatch(EMPTY)) (fmt_value(0.0, unit)) } } }
    };
    let table = chart.table.then(|| {
        data_table(
            chart,
            &[chart.label_name_or("Date").to_owned(), "Value".to_owned()],
            map.iter()
                .map(|(k, v)| (iso(*k), vec![fmt_value(*v, unit)]))
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "calendar",
            w,
            h,
            font: SMALL,
            wide: true,
            desc,
            body,
            legend: Some(legend),
            table,
        },
    )
}
