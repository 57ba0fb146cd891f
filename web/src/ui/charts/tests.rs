//! The charts' tests.

use super::grids::{days_from_civil, weekday};
use super::*;

fn chart(id: &str) -> Chart<'_> {
    Chart::new(id, "A chart")
}

/// The opening tags (with their `<title>` text, if any) of every element with class
/// `mark`.
fn marks(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at..];
        let end = rest.find('>').unwrap() + 1;
        let tag = &rest[..end];
        if tag.contains("class=\"mark\"") || tag.contains("class=\"mark ") {
            let after = &rest[end..];
            let title = after
                .strip_prefix("<title>")
                .and_then(|t| t.split_once("</title>"))
                .map_or(String::new(), |t| t.0.to_owned());
            out.push((tag.to_owned(), title));
        }
        rest = &rest[end..];
    }
    out
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    Some(tag[start..].split('"').next()?.to_owned())
}

fn num(tag: &str, name: &str) -> f64 {
    attr(tag, name).unwrap().parse().unwrap()
}

/// Every chart kind with some data, for the checks that hold for all of them.
fn all_charts(label: &str) -> Vec<String> {
    let names = vec![label.to_owned(), "b".to_owned()];
    vec![
        bars(
            &chart("b"),
            &[Bar::new(label, 3.0), Bar::new("x", 1.0)],
            "h",
        ),
        hbars(&chart("hb"), &[Bar::new(label, 3.0)], "plays"),
        line(
            &chart("l"),
            &[(label.to_owned(), 1.0), ("y".to_owned(), 2.0)],
            "h",
        ),
        heatmap(
            &chart("hm"),
            &names,
            &names,
            &[vec![1.0, 2.0], vec![3.0, 4.0]],
            &[],
            "h",
        ),
        calendar(&chart("cal"), &[(2021, 3, 1, 2.0), (2021, 3, 2, 0.0)], "h"),
        ridgeline(
            &chart("r"),
            &[(label.to_owned(), vec![1.0, 2.0, 0.5])],
            &names,
            "h",
        ),
        stacked_share(
            &chart("s"),
            &names,
            &[(label.to_owned(), vec![1.0, 3.0])],
            "h",
        ),
        share_bar(
            &chart("sh"),
            &[(label.to_owned(), 1.0), ("b".to_owned(), 3.0)],
            "h",
        ),
    ]
    .into_iter()
    .map(|m| m.into_string())
    .collect()
}

#[test]
fn a_bar_chart_has_a_focusable_mark_per_value_the_tallest_for_the_max() {
    let html = bars(
        &chart("per-month"),
        &[
            Bar::new("Jan 2021", 12.5),
            Bar::new("Feb 2021", 41.0),
            Bar::new("Mar 2021", 1234.0),
        ],
        "h",
    )
    .into_string();
    let marks = marks(&html);
    assert_eq!(marks.len(), 3);
    assert!(marks.iter().all(|(tag, _)| tag.contains("tabindex=\"0\"")));
    let titles: Vec<&str> = marks.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(
        titles,
        ["Jan 2021: 12.5 h", "Feb 2021: 41 h", "Mar 2021: 1,234 h"]
    );
    let heights: Vec<f64> = marks.iter().map(|m| num(&m.0, "height")).collect();
    assert!(heights[2] > heights[1] && heights[1] > heights[0]);
    // The axis has the unit and tops out at a nice tick just above the max.
    assert!(html.contains(">h</text>"));
    assert!(html.contains(">1,250</text>"));
    assert!(html.contains("Highest: Mar 2021, 1,234 h."));
}

#[test]
fn custom_tooltips_replace_the_default() {
    let html = bars(
        &chart("t"),
        &[Bar::new("Mar", 2.0).with_tooltip("March: 2 h, 31 plays")],
        "h",
    )
    .into_string();
    assert_eq!(marks(&html)[0].1, "March: 2 h, 31 plays");
}

#[test]
fn every_svg_is_an_image_labelled_by_its_own_title_and_description() {
    for html in all_charts("a") {
        let svg = &html[html.find("<svg").unwrap()..];
        let svg_tag = &svg[..svg.find('>').unwrap()];
        assert!(svg_tag.contains("role=\"img\""), "{svg_tag}");
        assert!(svg_tag.contains("width=\"100%\""));
        assert!(svg_tag.contains("viewBox=\"0 0 "));
        let ids = attr(svg_tag, "aria-labelledby").unwrap();
        let ids: Vec<&str> = ids.split(' ').collect();
        assert_eq!(ids.len(), 2);
        assert!(svg.contains(&format!("<title id=\"{}\">A chart</title>", ids[0])));
        let desc = format!("<desc id=\"{}\">", ids[1]);
        let at = svg.find(&desc).expect("desc") + desc.len();
        assert!(
            !svg[at..].starts_with("</desc>"),
            "empty description in {html}"
        );
        // Each kind has its data table and focusable marks with a title.
        assert!(html.contains("<details class=\"chart-data\"><summary>Data"));
        let marks = marks(&html);
        assert!(!marks.is_empty());
        assert!(
            marks
                .iter()
                .all(|(tag, title)| tag.contains("tabindex=\"0\"") && !title.is_empty())
        );
    }
}

#[test]
fn the_caller_description_wins_and_the_table_is_optional() {
    let c = Chart::new("x", "Hours")
        .with_desc("Most listening: March 2021, 41 h")
        .with_table(false);
    let html = bars(&c, &[Bar::new("Mar 2021", 41.0)], "h").into_string();
    assert!(html.contains("<desc id=\"x-desc\">Most listening: March 2021, 41 h</desc>"));
    assert!(!html.contains("<details"));
    let html = bars(
        &Chart::new("x", "Hours").with_label_name("Month"),
        &[Bar::new("Mar 2021", 41.0)],
        "h",
    )
    .into_string();
    assert!(html.contains("<th scope=\"col\">Month</th><th scope=\"col\">Value</th>"));
    assert!(html.contains("<th scope=\"row\">Mar 2021</th><td>41 h</td>"));
}

#[test]
fn hostile_labels_are_escaped_and_ids_sanitized() {
    let hostile = "<script>alert(1)</script>\"onload=alert(1)";
    for html in all_charts(hostile) {
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("\"onload="), "{html}");
        assert!(html.contains("&lt;script&gt;") || html.contains("chart-calendar"));
    }
    let html = bars(
        &Chart::new("\"><script>Top Artists 2021", hostile),
        &[Bar::new("a", 1.0)],
        hostile,
    )
    .into_string();
    assert!(!html.contains("<script") && !html.contains("\"onload="));
    assert!(html.contains("id=\"script-top-artists-2021\""));
    assert_eq!(sanitize_id("Top <Artists> 2021"), "top--artists--2021");
    assert_eq!(sanitize_id("é!"), "chart");
}

#[test]
fn no_chart_uses_inline_styles_or_scripts() {
    for html in all_charts("a") {
        assert!(!html.contains("style="), "{html}");
        assert!(!html.contains("<style"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(!html.contains("https://"));
    }
}

#[test]
fn svg_elements_are_closed() {
    // Inside inline SVG an unclosed `<rect>` would swallow what follows.
    for html in all_charts("a") {
        for tag in ["rect", "line", "path", "text"] {
            assert_eq!(
                html.matches(&format!("<{tag} ")).count(),
                html.matches(&format!("</{tag}>")).count(),
                "{tag} in {html}"
            );
        }
    }
}

#[test]
fn nice_ticks_are_few_round_increasing_and_cover_the_max() {
    for max in [
        0.0,
        0.3,
        1.0,
        7.0,
        95.0,
        100.0,
        1234.0,
        1e6,
        0.0007,
        f64::NAN,
    ] {
        let ticks = nice_ticks(max);
        assert!((3..=6).contains(&ticks.len()), "{max}: {ticks:?}");
        assert_eq!(ticks[0], 0.0);
        assert!(ticks.windows(2).all(|w| w[1] > w[0]), "{max}: {ticks:?}");
        let last = *ticks.last().unwrap();
        if max.is_finite() {
            assert!(last >= max * (1.0 - 1e-12), "{max}: {ticks:?}");
            assert!(last < max * 2.0 || max == 0.0, "{max}: {ticks:?}");
        }
        let step = ticks[1];
        let mantissa = step / 10f64.powf(step.log10().floor());
        assert!(
            [1.0, 2.0, 2.5, 5.0]
                .iter()
                .any(|m| (m - mantissa).abs() < 1e-9),
            "{max}: {ticks:?}"
        );
        for (i, t) in ticks.iter().enumerate() {
            assert!(
                (t - step * i as f64).abs() <= step * 1e-9,
                "{max}: {ticks:?}"
            );
        }
    }
    assert_eq!(nice_ticks(7.0), [0.0, 2.0, 4.0, 6.0, 8.0]);
    assert_eq!(nice_ticks(0.3), [0.0, 0.1, 0.2, 0.3]);
    assert_eq!(nice_ticks(95.0), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
    assert_eq!(
        nice_ticks(1234.0),
        [0.0, 250.0, 500.0, 750.0, 1000.0, 1250.0]
    );
    assert_eq!(nice_ticks(1e6).last(), Some(&1e6));
}

#[test]
fn numbers_are_formatted_for_people() {
    assert_eq!(fmt_int(0), "0");
    assert_eq!(fmt_int(999), "999");
    assert_eq!(fmt_int(12_345), "12,345");
    assert_eq!(fmt_int(1_234_567), "1,234,567");
    assert_eq!(fmt_hours(0), "0 min");
    assert_eq!(fmt_hours(10_000), "<1 min");
    assert_eq!(fmt_hours(45 * 60_000), "45 min");
    assert_eq!(fmt_hours(3_570_000), "1 h");
    assert_eq!(fmt_hours(45_000_000), "12.5 h");
    assert_eq!(fmt_hours(12 * 3_600_000), "12 h");
    assert_eq!(fmt_hours(1234 * 3_600_000), "1,234 h");
    assert_eq!(fmt_hours(u64::MAX), "5,124,095,576,030 h");
    assert_eq!(fmt_num(1234.4), "1,234");
    assert_eq!(fmt_num(41.0), "41");
    assert_eq!(fmt_num(41.26), "41.3");
    assert_eq!(fmt_num(99.96), "100");
    assert_eq!(fmt_num(0.25), "0.25");
    assert_eq!(fmt_num(0.0), "0");
    assert_eq!(fmt_num(-2.5), "-2.5");
    assert_eq!(fmt_num(f64::NAN), "0");
    assert_eq!(fmt_value(3.0, "plays"), "3 plays");
    assert_eq!(fmt_pct(0.004), "<1 %");
    assert_eq!(fmt_pct(0.625), "63 %");
    assert_eq!(fmt_tick(25_000.0), "25k");
    assert_eq!(fmt_tick(1_500_000.0), "1.5M");
}

#[test]
fn the_heatmap_maps_the_min_to_the_first_colour_and_the_max_to_the_last() {
    let rows: Vec<String> = WEEKDAYS.iter().map(|d| d.to_string()).collect();
    let cols: Vec<String> = (0..24).map(|h| h.to_string()).collect();
    let values: Vec<Vec<f64>> = (0..7)
        .map(|r| (0..24).map(|c| 1.0 + (r * 24 + c) as f64).collect())
        .collect();
    let mut tips: Vec<Vec<String>> = vec![vec![String::new(); 24]; 7];
    tips[0][0] = "MIN".to_owned();
    tips[6][23] = "MAX".to_owned();
    let html = heatmap(&chart("hm"), &rows, &cols, &values, &tips, "h").into_string();
    let marks = marks(&html);
    assert_eq!(marks.len(), 7 * 24);
    let fill = |title: &str| {
        let m = marks.iter().find(|m| m.1 == title).unwrap();
        attr(&m.0, "fill").unwrap()
    };
    assert_eq!(fill("MIN"), SEQUENTIAL[0]);
    assert_eq!(fill("MAX"), SEQUENTIAL[SEQUENTIAL.len() - 1]);
    assert_eq!(fill("Tue, 5: 30 h"), SEQUENTIAL[1]);
    // The legend names the ends of the scale; hour labels are thinned.
    assert!(html.contains("1 h<svg class=\"scale\""));
    assert!(html.contains("168 h</span>"));
    assert!(html.contains(">0</text>") && !html.contains(">1</text>"));
    assert!(html.contains("Highest: Sun 23, 168 h. Lowest: Mon 0, 1 h."));
}

#[test]
fn a_long_line_is_one_path_without_per_point_marks() {
    let points: Vec<(String, f64)> = (0..3000)
        .map(|i| (format!("day {i}"), (i % 17) as f64))
        .collect();
    let html = line(&chart("daily"), &points, "h").into_string();
    assert_eq!(html.matches("<path").count(), 1);
    assert!(marks(&html).is_empty());
    assert!(!html.contains("tabindex"));
    assert!(html.contains("3000 values from day 0 to day 2999."));
    // Only a few x labels.
    let svg = &html[..html.find("</svg>").unwrap()];
    let shown = svg.matches(">day ").count();
    assert!((3..=8).contains(&shown), "{shown}");

    let short: Vec<(String, f64)> = points[..MAX_POINT_MARKS].to_vec();
    let html = line(&chart("daily"), &short, "h").into_string();
    assert_eq!(html.matches("<path").count(), 1);
    let marks = marks(&html);
    assert_eq!(marks.len(), MAX_POINT_MARKS);
    assert_eq!(marks[16].1, "day 16: 16 h");
}

#[test]
fn empty_input_says_so_instead_of_drawing() {
    let c = chart("e");
    let none: Vec<String> = Vec::new();
    let outputs = [
        bars(&c, &[], "h"),
        hbars(&c, &[], "h"),
        line(&c, &[], "h"),
        heatmap(&c, &none, &none, &[], &[], "h"),
        heatmap(
            &c,
            &["Mon".to_owned()],
            &["0".to_owned()],
            &[vec![]],
            &[],
            "h",
        ),
        calendar(&c, &[], "h"),
        calendar(&c, &[(2021, 2, 30, 1.0)], "h"),
        ridgeline(&c, &[], &none, "h"),
        ridgeline(&c, &[("Jan".to_owned(), vec![])], &none, "h"),
        stacked_share(&c, &none, &[], "h"),
        stacked_share(
            &c,
            &["a".to_owned()],
            &[("2021".to_owned(), vec![0.0])],
            "h",
        ),
        share_bar(&c, &[], "h"),
        share_bar(&c, &[("a".to_owned(), 0.0)], "h"),
    ];
    for m in outputs {
        // The chart's title stays, so that several empty charts say which is which.
        let html = m.into_string();
        assert_eq!(
            html,
            format!(
                "<figure class=\"chart chart-none\" id=\"{}\"><figcaption class=\"chart-title\">{}</figcaption><p class=\"chart-empty\">No data in this range.</p></figure>",
                c.element_id(),
                c.title
            )
        );
    }
}

#[test]
fn bad_values_draw_as_zero() {
    let html = bars(
        &chart("b"),
        &[
            Bar::new("a", f64::NAN),
            Bar::new("b", -3.0),
            Bar::new("c", f64::INFINITY),
        ],
        "h",
    )
    .into_string();
    assert!(!html.contains("NaN") && !html.contains("inf"));
    assert!(marks(&html).iter().all(|m| num(&m.0, "height") == 0.0));
}

#[test]
fn many_bars_get_thinned_labels() {
    let points: Vec<Bar> = (0..120)
        .map(|i| Bar::new(format!("{} {}", MONTHS[i % 12], 2015 + i / 12), 1.0))
        .collect();
    let html = bars(&chart("m"), &points, "h").into_string();
    assert_eq!(marks(&html).len(), 120);
    let shown = html.matches("text-anchor=\"middle\"").count();
    assert!((3..=10).contains(&shown), "{shown}");
}

#[test]
fn hbars_rank_names_and_print_values() {
    let rows = [
        Bar::new("Björk", 120.0),
        Bar::new("A very long artist name ".repeat(5), 60.0),
    ];
    let html = hbars(&chart("top"), &rows, "plays").into_string();
    let marks = marks(&html);
    assert_eq!(marks[0].1, "1. Björk: 120 plays");
    assert!(marks[1].1.starts_with("2. A very long artist name A very"));
    assert!(num(&marks[0].0, "width") > 1.9 * num(&marks[1].0, "width"));
    assert!(html.contains(">1. Björk</text>"));
    assert!(html.contains(">120 plays</text>"));
    assert!(html.contains("…</text>"));
}

#[test]
fn calendar_days_sit_in_their_weekday_row_and_week_column() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(weekday(2024, 1, 1), 0); // a Monday
    assert_eq!(weekday(2023, 12, 31), 6); // a Sunday
    let days = [
        (2023, 12, 31, 1.0),
        (2024, 1, 1, 4.0),
        (2024, 1, 7, 2.0),
        (2024, 1, 8, 0.0),
        (2024, 1, 8, 0.5),  // counts with the line above
        (2024, 2, 30, 9.0), // no such day
    ];
    let html = calendar(&chart("cal"), &days, "h").into_string();
    assert!(html.contains("class=\"wide\""));
    assert!(html.contains(">2023</text>") && html.contains(">2024</text>"));
    // Every day of both years is drawn; only the given ones are marks.
    // (and the legend: a swatch for nothing, seven for the scale)
    assert_eq!(html.matches("<rect ").count(), 365 + 366 + 1 + 7);
    let marks = marks(&html);
    assert_eq!(marks.len(), 4);
    let at = |title: &str| {
        let m = marks.iter().find(|m| m.1 == title).unwrap();
        (num(&m.0, "x"), num(&m.0, "y"), attr(&m.0, "fill").unwrap())
    };
    let (x1, y1, f1) = at("Mon 1 Jan 2024: 4 h");
    let (x7, y7, _) = at("Sun 7 Jan 2024: 2 h");
    let (x8, y8, f8) = at("Mon 8 Jan 2024: 30 min");
    let (_, y31, f31) = at("Sun 31 Dec 2023: 1 h");
    assert_eq!((x1, x7), (x8 - 13.0, x1));
    assert_eq!(y1, y8);
    assert_eq!(y7 - y1, 6.0 * 13.0);
    assert!(y31 < y1); // 2023 is the block above
    assert_eq!(f1, SEQUENTIAL[6]);
    assert_eq!(f8, SEQUENTIAL[0]);
    assert_ne!(f31, EMPTY);
    assert!(html.contains("<th scope=\"row\">2024-01-08</th><td>30 min</td>"));
    assert!(html.contains("Busiest: Mon 1 Jan 2024, 4 h. Total: 7.5 h."));
    for m in ["Jan", "Jun", "Dec"] {
        assert_eq!(html.matches(&format!(">{m}</text>")).count(), 2);
    }
}

#[test]
fn ridgelines_draw_one_mark_per_row_on_a_shared_scale() {
    let labels: Vec<String> = (1..=31).map(|d| d.to_string()).collect();
    let ridges = vec![
        ("Jan 2021".to_owned(), vec![1.0; 31]),
        (
            "Feb 2021".to_owned(),
            (0..28).map(|d| d as f64 / 9.0).collect(),
        ),
    ];
    let html = ridgeline(&chart("r"), &ridges, &labels, "h").into_string();
    let marks = marks(&html);
    assert_eq!(marks.len(), 2);
    assert!(
        marks[1]
            .1
            .starts_with("Feb 2021: peak 3 h at 28, total 42 h"),
        "{}",
        marks[1].1
    );
    assert!(html.contains("Highest peak: Feb 2021, 28, 3 h."));
    assert!(html.contains(">Jan 2021</text>"));
    assert!(html.contains("<th scope=\"row\">Feb 2021</th>"));
}

#[test]
fn stacked_shares_add_up_per_period_with_okabe_ito_colours() {
    let series = vec!["Phone".to_owned(), "Desktop".to_owned(), "TV".to_owned()];
    let periods = vec![
        ("2020".to_owned(), vec![30.0, 10.0, 0.0]),
        ("2021".to_owned(), vec![10.0, 10.0, 20.0]),
        ("2022".to_owned(), vec![0.0, 0.0, 0.0]),
    ];
    let html = stacked_share(&chart("s"), &series, &periods, "h").into_string();
    let marks = marks(&html);
    assert_eq!(marks.len(), 5); // zero segments and empty periods draw nothing
    assert_eq!(marks[0].1, "2020 · Phone: 30 h (75 %)");
    assert_eq!(attr(&marks[0].0, "fill").unwrap(), CATEGORICAL[0]);
    assert_eq!(attr(&marks[4].0, "fill").unwrap(), CATEGORICAL[2]);
    let full = marks[..2].iter().map(|m| num(&m.0, "height")).sum::<f64>();
    let full2 = marks[2..].iter().map(|m| num(&m.0, "height")).sum::<f64>();
    assert!((full - full2).abs() < 0.2);
    assert!(html.contains(">100 %</text>"));
    assert!(
        html.contains("Overall: Phone 50 %, Desktop 25 %, TV 25 %."),
        "{html}"
    );
    assert!(html.contains("<td>0 min (0 %)</td>"));
}

#[test]
fn a_share_bar_labels_its_parts() {
    let html = share_bar(
        &chart("new"),
        &[
            ("New".to_owned(), 30.0),
            ("Known".to_owned(), 70.0),
            ("x".to_owned(), 0.1),
        ],
        "h",
    )
    .into_string();
    let marks = marks(&html);
    assert_eq!(marks[0].1, "New: 30 % (30 h)");
    assert_eq!(marks[2].1, "x: <1 % (6 min)".replace('<', "&lt;"));
    assert!(html.contains(">New 30 %</text>") && html.contains(">Known 70 %</text>"));
    assert!(html.contains("<desc id=\"new-desc\">New: 30 %, Known: 70 %, x: &lt;1 %.</desc>"));
    let total: f64 = marks.iter().map(|m| num(&m.0, "width")).sum();
    assert!((total - W).abs() < 0.2);
}

#[test]
fn a_coordinate_has_one_decimal_at_most_and_never_a_minus_zero() {
    for (v, s) in [
        (12.34, "12.3"),
        (12.36, "12.4"),
        (5.0, "5"),
        (4.96, "5"),
        (0.04, "0"),
        (-0.04, "0"),
        (-3.26, "-3.3"),
        (-7.0, "-7"),
        (1234.05, "1234.1"),
        (f64::NAN, "0"),
        (f64::INFINITY, "0"),
    ] {
        assert_eq!(super::c(v), s, "{v}");
    }
}
