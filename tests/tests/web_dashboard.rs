//! The dashboards (`/dashboard…` and `/api/v1/dashboard…`) as a user checks them: the numbers
//! of a generated export against the facts its independent generator (`tools/gen_history.py`)
//! wrote, hand-computed cases (a stream across local midnight, across both daylight-saving
//! changes, an artist in two uploads, the ends of ranges and presets), paging, recaps, content
//! kinds, ranking by plays, settings that apply at once, refusals, and hostile names.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::{Method, StatusCode};
use e2e::web::{Client, WebApp, api_message, get_json, ready_upload};
use e2e::{Engine, both_engines, fixtures};
use serde_json::{Value, json};

// ----------------------------------------------------------------------------------------
// Helpers
// ----------------------------------------------------------------------------------------

/// Sets the time zone and play threshold.
async fn settings(c: &mut Client, tz: &str, min_play_seconds: u64) {
    let wanted = json!({"tz": tz, "min_play_seconds": min_play_seconds});
    let r = c.json(Method::PUT, "/api/v1/settings", &wanted).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// `s` for a query string.
fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).expect("urlencoded")[2..].to_string()
}

fn u64_at(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no number at {pointer} in {v}"))
}

/// The `ms_played` of every point of a series.
fn series(v: &Value) -> Vec<(String, u64, u64)> {
    v.as_array()
        .expect("a series")
        .iter()
        .map(|p| {
            (
                p["label"].as_str().expect("label").to_string(),
                p["ms_played"].as_u64().expect("ms"),
                p["plays"].as_u64().expect("plays"),
            )
        })
        .collect()
}

/// The text of a dashboard card (`data-stat="name"`).
fn stat<'a>(body: &'a str, name: &str) -> &'a str {
    let marker = format!("data-stat=\"{name}\">");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} in the page"))
        + marker.len();
    let end = body[start..].find('<').expect("closing tag") + start;
    &body[start..end]
}

/// The address of the link whose text is `text` (the first one), unescaped.
fn href_of(body: &str, text: &str) -> String {
    let end = body
        .find(&format!(">{text}</a>"))
        .unwrap_or_else(|| panic!("no link “{text}” in the page"));
    let start = body[..end].rfind("href=\"").expect("an href") + "href=\"".len();
    let href = &body[start..end];
    href[..href.find('"').expect("closing quote")].replace("&amp;", "&")
}

/// Text as maud escapes it in a page.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `YYYY-MM-DDTHH:MM:SSZ` as epoch milliseconds, computed here (not with the crate's parser).
fn epoch_ms(ts: &str) -> i64 {
    let n = |a: usize, b: usize| -> i64 { ts[a..b].parse().expect("a digit field") };
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    let (hh, mm, ss) = (n(11, 13), n(14, 16), n(17, 19));
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000
}

// ----------------------------------------------------------------------------------------
// Hand-written extended streaming history
// ----------------------------------------------------------------------------------------

/// A 22-character base-62 id derived from `seed` (stable, so equal records are equal).
fn spotify_id(seed: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    (0..22)
        .map(|i| {
            for b in seed.bytes().chain([i as u8]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            ALPHABET[(h % 62) as usize] as char
        })
        .collect()
}

/// One music stream that ended at `ts` (UTC) after `ms` milliseconds.
fn track(ts: &str, ms: u64, artist: &str, title: &str) -> Value {
    json!({
        "ts": ts,
        "username": "hand-written",
        "platform": "android",
        "ms_played": ms,
        "conn_country": "DE",
        "ip_addr_decrypted": "198.51.100.7",
        "user_agent_decrypted": "unknown",
        "master_metadata_track_name": title,
        "master_metadata_album_artist_name": artist,
        "master_metadata_album_album_name": format!("{artist} album"),
        "spotify_track_uri": format!("spotify:track:{}", spotify_id(&format!("{artist}/{title}"))),
        "episode_name": null,
        "episode_show_name": null,
        "spotify_episode_uri": null,
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": false,
        "skipped": false,
        "offline": false,
        "offline_timestamp": 0,
        "incognito_mode": false
    })
}

/// An extended-history audio file of `records`.
fn history(records: &[Value]) -> Vec<u8> {
    serde_json::to_vec(records).expect("JSON")
}

/// A signed-up visitor of a new app (SQLite) with the hand-written `records` ingested.
async fn with_history(email: &str, records: &[Value]) -> (WebApp, Client, String) {
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    c.sign_up(email).await;
    let id = ready_upload(
        &app,
        &mut c,
        "Streaming_History_Audio_2024.json",
        &history(records),
    )
    .await;
    (app, c, id)
}

// ----------------------------------------------------------------------------------------
// 1. A generated export against the generator's facts
// ----------------------------------------------------------------------------------------

/// An export written by `tools/gen_history.py`, its files and its `expected.json`.
struct Generated {
    _dir: tempfile::TempDir,
    files: Vec<(String, Vec<u8>)>,
    expected: Value,
}

fn files_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_below(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// `python3 tools/gen_history.py --plays … --seed … [--nasty]`.
fn gen_history(plays: usize, seed: u64, extra: &[&str]) -> Generated {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().expect("temporary folder");
    let status = Command::new("python3")
        .arg(root.join("tools/gen_history.py"))
        .args(["--plays", &plays.to_string(), "--seed", &seed.to_string()])
        .args(extra)
        .arg("--out")
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs tools/gen_history.py");
    assert!(status.success(), "gen_history.py failed");
    let expected: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("expected.json")).expect("expected.json"),
    )
    .expect("expected.json is JSON");
    let mut paths = Vec::new();
    files_below(dir.path(), &mut paths);
    let files = paths
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "expected.json"))
        .map(|p| {
            let inside = p.strip_prefix(dir.path()).expect("below the folder");
            (
                inside.to_string_lossy().into_owned(),
                std::fs::read(p).expect("read file"),
            )
        })
        .collect();
    Generated {
        _dir: dir,
        files,
        expected,
    }
}

impl Generated {
    fn zip(&self) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("my_spotify_data.zip");
        fixtures::write_zip(&self.files, &path);
        std::fs::read(&path).expect("read zip")
    }

    /// The audio files' records, exact duplicates dropped (by the generator's own key).
    fn unique_audio_records(&self) -> Vec<Value> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (name, bytes) in &self.files {
            if !name.contains("Streaming_History_Audio") {
                continue;
            }
            let records: Vec<Value> = serde_json::from_slice(bytes).expect("an audio file");
            for r in records {
                let key = [
                    "ts",
                    "spotify_track_uri",
                    "spotify_episode_uri",
                    "ms_played",
                    "reason_start",
                    "reason_end",
                ]
                .map(|k| r[k].to_string());
                if seen.insert(key) {
                    out.push(r);
                }
            }
        }
        out
    }

    fn n(&self, key: &str) -> u64 {
        self.expected[key]
            .as_u64()
            .unwrap_or_else(|| panic!("expected.json has no number {key}"))
    }
}

/// Listening time per UTC calendar year with each stream's time split at the new year's
/// midnight (the dashboards split time where it was spent; the facts go by the stream's end).
fn ms_by_year_split(records: &[Value]) -> BTreeMap<i32, u64> {
    let mut out: BTreeMap<i32, u64> = BTreeMap::new();
    for r in records {
        let ts = r["ts"].as_str().expect("ts");
        let ms = r["ms_played"].as_u64().expect("ms_played");
        let year: i32 = ts[..4].parse().expect("year");
        let end = epoch_ms(ts);
        let new_year = epoch_ms(&format!("{year}-01-01T00:00:00Z"));
        let before = (new_year - (end - ms as i64)).clamp(0, ms as i64) as u64;
        *out.entry(year).or_default() += ms - before;
        if before > 0 {
            *out.entry(year - 1).or_default() += before;
        }
    }
    out
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01; Howard Hinnant's civil_from_days).
fn day_label(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Listening in UTC computed straight from the records: per day (time split at midnight,
/// plays of at least 30 s on the day they ended) and per weekday × hour (time split at the
/// hour, plays at the hour they ended).
struct UtcListening {
    days: BTreeMap<i64, (u64, u64)>,
    hour_ms: [[u64; 24]; 7],
    hour_plays: [[u64; 24]; 7],
}

fn utc_listening(records: &[Value]) -> UtcListening {
    const H: i64 = 3_600_000;
    const D: i64 = 24 * H;
    // 1970-01-01 was a Thursday: Monday-first index 3.
    let weekday = |day: i64| (day + 3).rem_euclid(7) as usize;
    let mut out = UtcListening {
        days: BTreeMap::new(),
        hour_ms: [[0; 24]; 7],
        hour_plays: [[0; 24]; 7],
    };
    for r in records {
        let end = epoch_ms(r["ts"].as_str().expect("ts"));
        let ms = r["ms_played"].as_u64().expect("ms_played");
        let mut t = end - ms as i64;
        while t < end {
            let chunk_end = end.min((t.div_euclid(H) + 1) * H);
            let (day, hour) = (t.div_euclid(D), (t.rem_euclid(D) / H) as usize);
            out.days.entry(day).or_default().0 += (chunk_end - t) as u64;
            out.hour_ms[weekday(day)][hour] += (chunk_end - t) as u64;
            t = chunk_end;
        }
        if ms >= 30_000 {
            let (day, hour) = (end.div_euclid(D), (end.rem_euclid(D) / H) as usize);
            out.days.entry(day).or_default().1 += 1;
            out.hour_plays[weekday(day)][hour] += 1;
        }
    }
    out
}

fn matrix(v: &Value) -> [[u64; 24]; 7] {
    let mut m = [[0; 24]; 7];
    for (w, row) in v.as_array().expect("rows").iter().enumerate() {
        for (h, cell) in row.as_array().expect("a row").iter().enumerate() {
            m[w][h] = cell.as_u64().expect("a number");
        }
    }
    m
}

both_engines!(the_dashboard_of_a_generated_export_matches_the_generators_facts);

async fn the_dashboard_of_a_generated_export_matches_the_generators_facts(engine: Engine) {
    let g = gen_history(4_000, 3, &[]);
    let e = &g.expected;
    let app = WebApp::new(engine).await;
    let mut c = app.client();
    c.sign_up("facts@example.com").await;
    let id = ready_upload(&app, &mut c, "my_spotify_data.zip", &g.zip()).await;
    let b = get_json(&mut c, "/api/v1/dashboard").await;

    // What the selection is.
    assert_eq!(b["meta"]["uploads"], json!([id]));
    assert_eq!(b["meta"]["upload_names"], json!(["my_spotify_data.zip"]));
    assert_eq!(b["meta"]["range"], "all");
    assert_eq!(b["meta"]["from"], Value::Null);
    assert_eq!(b["meta"]["to"], Value::Null);
    assert_eq!(
        (
            b["meta"]["tz"].clone(),
            b["meta"]["min_play_seconds"].clone()
        ),
        (json!("UTC"), json!(30))
    );
    let first_ts = e["first_ts"].as_str().expect("first_ts");
    let last_ts = e["last_ts"].as_str().expect("last_ts");
    assert_eq!(b["meta"]["history_first_day"], json!(&first_ts[..10]));
    assert_eq!(b["meta"]["history_last_day"], json!(&last_ts[..10]));
    let years: Vec<i32> = e["ms_played_by_year"]
        .as_object()
        .expect("by year")
        .keys()
        .map(|y| y.parse().expect("a year"))
        .collect();
    assert_eq!(b["meta"]["years"], json!(years));

    // The cards.
    let o = &b["overview"];
    let total_ms = g.n("total_ms_played");
    assert_eq!(u64_at(o, "/total/ms_played"), total_ms, "listening time");
    assert_eq!(
        u64_at(o, "/total/plays"),
        g.n("plays_at_least_30s"),
        "plays"
    );
    let video_rows: usize = g
        .files
        .iter()
        .filter(|(n, _)| n.contains("Streaming_History_Video"))
        .map(|(_, b)| {
            serde_json::from_slice::<Vec<Value>>(b)
                .expect("video file")
                .len()
        })
        .sum();
    assert_eq!(
        u64_at(o, "/total/streams"),
        g.n("unique_records") + video_rows as u64,
        "streams: the audio records once each, and the video file's rows"
    );
    assert_eq!(o["artists"], e["distinct_artists"], "distinct artists");
    // Tracks are told apart by artist and title (the generator counts URIs, and gives some
    // titles of an artist two URIs, as Spotify does for re-releases).
    let records = g.unique_audio_records();
    let by_name: HashSet<(String, String)> = records
        .iter()
        .filter(|r| r["master_metadata_album_artist_name"].is_string())
        .map(|r| {
            (
                r["master_metadata_album_artist_name"].to_string(),
                r["master_metadata_track_name"].to_string(),
            )
        })
        .collect();
    assert_eq!(o["tracks"], json!(by_name.len()), "distinct tracks");
    assert!(by_name.len() as u64 <= g.n("distinct_tracks"));
    assert_eq!(o["first_stream"], json!(first_ts), "first stream");
    assert_eq!(o["last_stream"], json!(last_ts), "last stream");

    // The top artists by time: names and times, in order.
    let top_by_ms: Vec<(String, u64)> = b["tops"]["artists"]
        .as_array()
        .expect("top artists")
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["ms_played"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected_by_ms: Vec<(String, u64)> =
        serde_json::from_value(e["top_artists_by_ms"].clone()).expect("top_artists_by_ms");
    assert_eq!(top_by_ms, expected_by_ms, "top artists by time");
    assert_eq!(b["tops"]["by"], "time");
    let ranks: Vec<u64> = b["tops"]["artists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks, (1..=10).collect::<Vec<u64>>());
    // The top tracks by time.
    let top_tracks: Vec<(String, String, u64)> = b["tops"]["tracks"]
        .as_array()
        .expect("top tracks")
        .iter()
        .map(|t| {
            (
                t["by"].as_str().unwrap().to_string(),
                t["name"].as_str().unwrap().to_string(),
                t["ms_played"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected_tracks: Vec<(String, String, u64)> =
        serde_json::from_value(e["top_tracks_by_ms"].clone()).expect("top_tracks_by_ms");
    assert_eq!(top_tracks, expected_tracks, "top tracks by time");

    // Over time: days, weeks and months add up to the total; each year's months to the year's
    // time (split at the new year's midnight, as the generator's records say).
    let days = series(&b["over_time"]["days"]);
    let weeks = series(&b["over_time"]["weeks"]);
    let months = series(&b["over_time"]["months"]);
    for (name, s) in [("days", &days), ("weeks", &weeks), ("months", &months)] {
        assert_eq!(s.iter().map(|p| p.1).sum::<u64>(), total_ms, "{name}: time");
        assert_eq!(
            s.iter().map(|p| p.2).sum::<u64>(),
            g.n("plays_at_least_30s"),
            "{name}: plays"
        );
    }
    assert_eq!(days.first().map(|d| d.0.as_str()), Some(&first_ts[..10]));
    assert_eq!(days.last().map(|d| d.0.as_str()), Some(&last_ts[..10]));
    let span_days = (epoch_ms(&format!("{}T00:00:00Z", &last_ts[..10]))
        - epoch_ms(&format!("{}T00:00:00Z", &first_ts[..10])))
        / 86_400_000
        + 1;
    assert_eq!(days.len() as i64, span_days, "every day, zeros included");
    let with_listening = days.iter().filter(|d| d.1 > 0).count();
    assert_eq!(
        o["days_listened"].as_u64().unwrap() as usize,
        with_listening,
        "days listened are the days with time"
    );
    let hw: u64 = b["hour_weekday"]["ms_played"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .sum();
    assert_eq!(hw, total_ms, "the hour × weekday cells add up to the total");
    assert_eq!(records.len() as u64, g.n("unique_records"));
    let utc = utc_listening(&records);
    let listened: Vec<(String, u64, u64)> = days
        .iter()
        .filter(|d| d.1 > 0 || d.2 > 0)
        .cloned()
        .collect();
    let computed: Vec<(String, u64, u64)> = utc
        .days
        .iter()
        .map(|(d, (ms, plays))| (day_label(*d), *ms, *plays))
        .collect();
    assert_eq!(listened, computed, "every day's time and plays");
    assert_eq!(
        matrix(&b["hour_weekday"]["ms_played"]),
        utc.hour_ms,
        "weekday × hour time"
    );
    assert_eq!(
        matrix(&b["hour_weekday"]["plays"]),
        utc.hour_plays,
        "weekday × hour plays"
    );
    // The longest streak: the longest run of consecutive days with time.
    let mut longest = (0, 0, 0);
    let mut run: Option<(i64, i64)> = None;
    for &d in utc.days.keys() {
        run = match run {
            Some((first, last)) if last + 1 == d => Some((first, d)),
            _ => Some((d, d)),
        };
        let (first, last) = run.unwrap();
        if last - first + 1 >= longest.0 {
            longest = (last - first + 1, first, last);
        }
    }
    assert_eq!(
        o["longest_streak"],
        json!({"days": longest.0, "first": day_label(longest.1), "last": day_label(longest.2)}),
        "the longest streak (the latest of equal ones)"
    );
    assert_eq!(b["streaks"]["longest"][0], o["longest_streak"]);
    // Countries, from `conn_country`.
    let mut countries: BTreeMap<String, u64> = BTreeMap::new();
    for r in &records {
        *countries
            .entry(r["conn_country"].as_str().unwrap_or("ZZ").to_string())
            .or_default() += r["ms_played"].as_u64().unwrap();
    }
    let shown: BTreeMap<String, u64> = b["countries"]["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["ms_played"].as_u64().unwrap(),
            )
        })
        .filter(|t| t.1 > 0)
        .collect();
    assert_eq!(shown, countries, "time per country");
    let platform_ms: u64 = b["platforms"]["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ms_played"].as_u64().unwrap())
        .sum();
    assert_eq!(
        platform_ms, total_ms,
        "the device families hold all the time"
    );
    // Skips and shuffle, over every stream (the video file's rows too).
    let mut streams: Vec<Value> = records.clone();
    for (name, bytes) in &g.files {
        if name.contains("Streaming_History_Video") {
            streams.extend(serde_json::from_slice::<Vec<Value>>(bytes).expect("video file"));
        }
    }
    for (flag, field) in [
        ("skipped", "skipped"),
        ("shuffle", "shuffle"),
        ("offline", "offline"),
    ] {
        let count = |want: Value| streams.iter().filter(|r| r[field] == want).count();
        let view = &b["skips"][flag];
        assert_eq!(
            (view["yes"].clone(), view["no"].clone()),
            (json!(count(json!(true))), json!(count(json!(false)))),
            "{flag}"
        );
        assert_eq!(
            u64_at(view, "/yes") + u64_at(view, "/no") + u64_at(view, "/unknown"),
            streams.len() as u64,
            "{flag}: every stream"
        );
    }
    // Discoveries: over all time everything is new; year by year, each artist is new once.
    assert_eq!(b["discoveries"]["new_artists"], e["distinct_artists"]);
    assert_eq!(b["discoveries"]["new_tracks"], o["tracks"]);
    assert_eq!(b["discoveries"]["new_share_of_time"], json!(1.0));
    let mut new_by_year = 0;
    for y in &years {
        let yb = get_json(&mut c, &format!("/api/v1/dashboard?range={y}")).await;
        let d = &yb["discoveries"];
        let per_month: u64 = d["months"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["new_artists"].as_u64().unwrap())
            .sum();
        assert_eq!(per_month, u64_at(d, "/new_artists"), "{y}: months add up");
        new_by_year += u64_at(d, "/new_artists");
        assert_eq!(
            (yb["meta"]["from"].clone(), yb["meta"]["to"].clone()),
            (json!(format!("{y}-01-01")), json!(format!("{y}-12-31")))
        );
    }
    assert_eq!(
        new_by_year,
        g.n("distinct_artists"),
        "each artist is new in one year"
    );
    let mut by_year: BTreeMap<i32, u64> = BTreeMap::new();
    for (label, ms, _) in &months {
        *by_year.entry(label[..4].parse().unwrap()).or_default() += ms;
    }
    let split = ms_by_year_split(&records);
    assert_eq!(by_year, split, "time per year, split at midnight");
    for (y, ms) in e["ms_played_by_year"].as_object().unwrap() {
        let y: i32 = y.parse().unwrap();
        let ms = ms.as_u64().unwrap();
        assert!(
            by_year[&y].abs_diff(ms) < 3_600_000,
            "{y}: {} against {ms} by the stream's end",
            by_year[&y]
        );
    }

    // A year against the one before (issue 17): each side's totals are its year's, by the
    // months above, and within an hour of the generator's facts (which go by the stream's end).
    assert!(
        years.len() >= 2,
        "the generated history spans years: {years:?}"
    );
    for w in years.windows(2) {
        let (before, y) = (w[0], w[1]);
        let cmp = get_json(&mut c, &format!("/api/v1/dashboard/compare?range={y}")).await;
        for (side, year) in [("a", y), ("b", before)] {
            let (ms, plays) = months
                .iter()
                .filter(|m| m.0.starts_with(&format!("{year}-")))
                .fold((0, 0), |(ms, plays), m| (ms + m.1, plays + m.2));
            assert_eq!(cmp[side]["label"], json!(year.to_string()), "{y}: {side}");
            assert_eq!(
                u64_at(&cmp, &format!("/{side}/total/ms_played")),
                ms,
                "{y}: {side} time"
            );
            assert_eq!(
                u64_at(&cmp, &format!("/{side}/total/plays")),
                plays,
                "{y}: {side} plays"
            );
            let fact = e["ms_played_by_year"][year.to_string()]
                .as_u64()
                .expect("the generator's year");
            assert!(
                ms.abs_diff(fact) < 3_600_000,
                "{y}: {side} {ms} against {fact}"
            );
        }
    }

    // A recap is its year's slice of the months.
    for &y in &years {
        let r = get_json(&mut c, &format!("/api/v1/dashboard/recap/{y}")).await;
        let in_year: Vec<&(String, u64, u64)> = months
            .iter()
            .filter(|m| m.0.starts_with(&format!("{y}-")))
            .collect();
        assert_eq!(
            u64_at(&r, "/total/ms_played"),
            in_year.iter().map(|m| m.1).sum::<u64>(),
            "recap {y}: time"
        );
        assert_eq!(
            u64_at(&r, "/total/plays"),
            in_year.iter().map(|m| m.2).sum::<u64>(),
            "recap {y}: plays"
        );
        let busiest = in_year
            .iter()
            .max_by_key(|m| (m.1, std::cmp::Reverse(m.0.clone())))
            .unwrap();
        assert_eq!(r["busiest_month"]["month"], json!(busiest.0), "recap {y}");
        assert_eq!(
            r["busiest_month"]["ms_played"],
            json!(busiest.1),
            "recap {y}"
        );
        assert_eq!(r["year"], json!(y));
    }
    let empty = get_json(&mut c, "/api/v1/dashboard/recap/2001").await;
    assert_eq!(
        empty["total"],
        json!({"ms_played": 0, "streams": 0, "plays": 0, "skips": 0})
    );

    // Ranked by plays: the generator's top ten by plays (ties may be ordered differently: by
    // time here, by first appearance there).
    let by_plays = get_json(&mut c, "/api/v1/dashboard?by=plays").await;
    assert_eq!(by_plays["tops"]["by"], "plays");
    assert_eq!(by_plays["meta"]["by"], "plays");
    assert_eq!(
        by_plays["overview"], b["overview"],
        "the order changes, not the numbers"
    );
    let got: Vec<(String, u64)> = by_plays["tops"]["artists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["plays"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> =
        serde_json::from_value(e["top_artists_by_plays_30s"].clone()).expect("by plays");
    assert_eq!(
        got.iter().map(|g| g.1).collect::<Vec<_>>(),
        want.iter().map(|w| w.1).collect::<Vec<_>>(),
        "plays of the top ten"
    );
    let last = want.last().unwrap().1;
    for (name, plays) in got.iter().filter(|g| g.1 > last) {
        assert!(
            want.contains(&(name.clone(), *plays)),
            "{name} with {plays} plays: {want:?}"
        );
    }
    assert_ne!(
        got.iter().map(|g| &g.0).collect::<Vec<_>>(),
        top_by_ms.iter().map(|t| &t.0).collect::<Vec<_>>(),
        "ranking by plays reorders the artists"
    );
    for list in ["artists", "tracks", "albums", "shows", "episodes"] {
        let l = by_plays["tops"][list].as_array().unwrap();
        assert!(
            l.windows(2)
                .all(|w| w[0]["plays"].as_u64() >= w[1]["plays"].as_u64()),
            "tops.{list} by plays: {l:?}"
        );
        let t = b["tops"][list].as_array().unwrap();
        assert!(
            t.windows(2)
                .all(|w| w[0]["ms_played"].as_u64() >= w[1]["ms_played"].as_u64()),
            "tops.{list} by time"
        );
    }

    // The full ranking, 25 a page: page 2 starts at 26, the last page is partial, a page past
    // the end is the last.
    let artists = g.n("distinct_artists") as usize;
    let pages = artists.div_ceil(25);
    assert!(pages >= 3, "{artists} artists");
    let mut all: Vec<Value> = Vec::new();
    for page in 1..=pages {
        let r = get_json(
            &mut c,
            &format!("/api/v1/dashboard/ranking?kind=artists&page={page}"),
        )
        .await;
        assert_eq!(r["page"], json!(page));
        assert_eq!(
            (
                r["pages"].clone(),
                r["per_page"].clone(),
                r["total"].clone()
            ),
            (json!(pages), json!(25), json!(artists))
        );
        assert_eq!(r["kind"], "artist");
        let entries = r["entries"].as_array().unwrap();
        let want = if page < pages {
            25
        } else {
            artists - 25 * (pages - 1)
        };
        assert_eq!(entries.len(), want, "page {page}");
        assert_eq!(
            entries[0]["rank"],
            json!(25 * (page - 1) + 1),
            "page {page} starts at"
        );
        all.extend(entries.iter().cloned());
    }
    assert!(!artists.is_multiple_of(25), "a partial last page");
    let ranks: Vec<u64> = all.iter().map(|e| e["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, (1..=artists as u64).collect::<Vec<_>>());
    let names: BTreeSet<&str> = all.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), artists, "each artist once");
    assert!(
        all.windows(2)
            .all(|w| w[0]["ms_played"].as_u64() >= w[1]["ms_played"].as_u64())
    );
    assert_eq!(
        all.iter()
            .map(|e| e["ms_played"].as_u64().unwrap())
            .sum::<u64>(),
        g.n("music_ms_played"),
        "the artists' time is the music time"
    );
    assert_eq!(
        &all[..10],
        b["tops"]["artists"].as_array().unwrap().as_slice(),
        "page 1 begins with the top ten"
    );
    let beyond = get_json(&mut c, "/api/v1/dashboard/ranking?kind=artists&page=99").await;
    assert_eq!(beyond["page"], json!(pages), "clamped to the last page");
    assert_eq!(
        beyond["entries"].as_array().unwrap().as_slice(),
        &all[25 * (pages - 1)..]
    );
    let ranked_by_plays = get_json(&mut c, "/api/v1/dashboard/ranking?kind=artists&by=plays").await;
    assert_eq!(ranked_by_plays["by"], "plays");
    assert_eq!(
        ranked_by_plays["entries"].as_array().unwrap()[..10],
        by_plays["tops"]["artists"].as_array().unwrap()[..],
        "the ranking by plays begins with the top ten by plays"
    );
    let zero = get_json(&mut c, "/api/v1/dashboard/ranking?kind=artists&page=0").await;
    assert_eq!(zero["page"], 1);
    let tracks = get_json(&mut c, "/api/v1/dashboard/ranking?kind=tracks&page=2").await;
    assert_eq!(tracks["total"], o["tracks"]);
    assert_eq!(tracks["entries"][0]["rank"], 26);
    // The ranking page: the same entries, and a link to the next page.
    let page = c.get("/dashboard/ranking?kind=artists&page=2").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("start=\"26\""), "the list starts at 26");
    assert!(page.body.contains("data-pager=\"next\"") && page.body.contains("data-pager=\"prev\""));
    let second = get_json(&mut c, "/api/v1/dashboard/ranking?kind=artists&page=2").await;
    for entry in second["entries"].as_array().unwrap() {
        assert!(
            page.body
                .contains(&escaped(entry["name"].as_str().unwrap()))
        );
    }
    let last_page = c
        .get(&format!("/dashboard/ranking?kind=artists&page={pages}"))
        .await;
    assert!(
        !last_page.body.contains("data-pager=\"next\""),
        "no next page after the last"
    );

    // The page shows what the API says.
    let page = c.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        stat(&page.body, "hours"),
        web::ui::charts::fmt_hours(total_ms)
    );
    assert_eq!(
        stat(&page.body, "plays"),
        web::ui::charts::fmt_int(g.n("plays_at_least_30s"))
    );
    assert_eq!(
        stat(&page.body, "artists"),
        web::ui::charts::fmt_int(g.n("distinct_artists"))
    );
    for y in &years {
        assert!(
            page.body
                .contains(&format!("href=\"/dashboard/recap/{y}\"")),
            "recap link {y}"
        );
    }

    // A higher play threshold counts fewer plays at once (the very next request), without
    // ingesting again: as many as the records of a minute or more.
    settings(&mut c, "UTC", 60).await;
    let after = get_json(&mut c, "/api/v1/dashboard").await;
    let minute_or_more = records
        .iter()
        .filter(|r| r["ms_played"].as_u64().unwrap() >= 60_000)
        .count() as u64;
    assert_eq!(u64_at(&after, "/overview/total/plays"), minute_or_more);
    assert!(minute_or_more < g.n("plays_at_least_30s"));
    assert_eq!(after["meta"]["min_play_seconds"], 60);
    assert_eq!(u64_at(&after, "/overview/total/ms_played"), total_ms);
    assert!(
        app.pipeline.queue_rows().await.is_empty(),
        "nothing ingested again"
    );
    let page = c.get("/dashboard").await;
    assert_eq!(
        stat(&page.body, "plays"),
        web::ui::charts::fmt_int(minute_or_more)
    );
    settings(&mut c, "UTC", 30).await;
    assert_eq!(
        get_json(&mut c, "/api/v1/dashboard").await["overview"],
        b["overview"]
    );
}

// ----------------------------------------------------------------------------------------
// 2. Local days and hours
// ----------------------------------------------------------------------------------------

const HOUR: u64 = 3_600_000;

/// Row `weekday` of the hour × weekday time matrix.
fn hour_row(b: &Value, weekday: usize) -> Vec<u64> {
    b["hour_weekday"]["ms_played"][weekday]
        .as_array()
        .expect("a row")
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

/// A 24-hour row with `cells` set.
fn row(cells: &[(usize, u64)]) -> Vec<u64> {
    let mut r = vec![0; 24];
    for &(h, ms) in cells {
        r[h] = ms;
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_days_and_hours_follow_the_time_zone_across_midnight_and_daylight_saving() {
    let (_app, mut c, _) = with_history(
        "tz@example.com",
        &[
            // Berlin (UTC+1): Monday 15 January 23:40 to Tuesday 00:20.
            track("2024-01-15T23:20:00Z", 40 * 60_000, "Mid Night", "Twelve"),
            // Berlin: Sunday 31 March 01:30 CET to 03:30 CEST, one real hour.
            track("2024-03-31T01:30:00Z", HOUR, "Spring Forward", "Lost Hour"),
            // Berlin: Sunday 27 October 02:30 CEST to 02:30 CET, one real hour.
            track("2024-10-27T01:30:00Z", HOUR, "Fall Back", "Hour Twice"),
        ],
    )
    .await;
    let day = |d: &str| format!("/api/v1/dashboard?range=custom&from={d}&to={d}");
    let two_days = "/api/v1/dashboard?range=custom&from=2024-01-15&to=2024-01-16";

    // In UTC, each stream lies within one day.
    let utc = get_json(&mut c, two_days).await;
    assert_eq!(
        series(&utc["over_time"]["days"]),
        vec![("2024-01-15".into(), 40 * 60_000, 1)]
    );
    assert_eq!(
        hour_row(&utc, 0),
        row(&[(22, 20 * 60_000), (23, 20 * 60_000)])
    );
    let spring = get_json(&mut c, &day("2024-03-31")).await;
    assert_eq!(hour_row(&spring, 6), row(&[(0, HOUR / 2), (1, HOUR / 2)]));

    settings(&mut c, "Europe/Berlin", 30).await;
    let b = get_json(&mut c, two_days).await;
    assert_eq!(b["meta"]["tz"], "Europe/Berlin");
    assert_eq!(
        series(&b["over_time"]["days"]),
        vec![
            ("2024-01-15".into(), 20 * 60_000, 0),
            ("2024-01-16".into(), 20 * 60_000, 1)
        ],
        "the time on each side of local midnight; the play on the day it ended"
    );
    assert_eq!(
        series(&b["over_time"]["months"]),
        vec![("2024-01".into(), 40 * 60_000, 1)]
    );
    assert_eq!(hour_row(&b, 0), row(&[(23, 20 * 60_000)]), "Monday 23:00");
    assert_eq!(hour_row(&b, 1), row(&[(0, 20 * 60_000)]), "Tuesday 00:00");
    assert_eq!(
        b["hour_weekday"]["plays"][1][0], 1,
        "the play at the hour it ended"
    );
    assert_eq!(b["overview"]["days_listened"], 2);

    // Spring: 01:30–02:00 and 03:00–03:30; there is no 02:00 that night.
    let spring = get_json(&mut c, &day("2024-03-31")).await;
    assert_eq!(u64_at(&spring, "/overview/total/ms_played"), HOUR);
    assert_eq!(
        hour_row(&spring, 6),
        row(&[(1, HOUR / 2), (3, HOUR / 2)]),
        "Sunday"
    );
    assert_eq!(spring["hour_weekday"]["plays"][6][3], 1);
    assert_eq!(
        series(&spring["over_time"]["days"]),
        vec![("2024-03-31".into(), HOUR, 1)]
    );
    // Autumn: 02:00–03:00 happens twice and holds the whole hour.
    let autumn = get_json(&mut c, &day("2024-10-27")).await;
    assert_eq!(hour_row(&autumn, 6), row(&[(2, HOUR)]), "Sunday");
    // All three together.
    let all = get_json(&mut c, "/api/v1/dashboard").await;
    assert_eq!(
        hour_row(&all, 6),
        row(&[(1, HOUR / 2), (2, HOUR), (3, HOUR / 2)])
    );
    assert_eq!(
        all["hour_weekday"]["busiest"],
        json!({"weekday": "Sun", "weekday_index": 6, "hour": 2, "ms_played": HOUR})
    );

    // The artist drill-down splits the same way (six-hour blocks): the midnight stream is in
    // Monday 18–24 and Tuesday 00–06.
    let a = get_json(&mut c, "/api/v1/dashboard/artist?name=Mid%20Night").await;
    assert_eq!(
        a["range_blocks"]["ms_played"][0],
        json!([0, 0, 0, 20 * 60_000])
    );
    assert_eq!(
        a["range_blocks"]["ms_played"][1],
        json!([20 * 60_000, 0, 0, 0])
    );
    assert_eq!(a["range_blocks"]["plays"][1], json!([1, 0, 0, 0]));
    assert_eq!(a["range_blocks"]["share"][0], json!([0.0, 0.0, 0.0, 0.5]));
    assert_eq!(a["range_blocks"]["share"][1], json!([0.5, 0.0, 0.0, 0.0]));
    let shares: f64 = a["range_blocks"]["share"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().filter_map(Value::as_f64))
        .sum();
    assert!((shares - 1.0).abs() < 1e-9, "the shares sum to 1: {shares}");
}

// ----------------------------------------------------------------------------------------
// 3. An artist in two uploads
// ----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_artist_in_two_uploads_counts_once_on_the_board_the_ranking_and_its_page() {
    let shared = [
        track("2024-04-01T10:00:00Z", 200_000, "Zed Overlap", "One"),
        track("2024-04-02T10:00:00Z", 210_000, "Zed Overlap", "Two"),
        track("2024-04-03T10:00:00Z", 20_000, "Zed Overlap", "Three"),
    ];
    let mut a_records = shared.to_vec();
    a_records.push(track(
        "2024-04-04T10:00:00Z",
        100_000,
        "Other Artist",
        "Elsewhere",
    ));
    let mut b_records = shared.to_vec();
    b_records.push(track(
        "2024-04-05T10:00:00Z",
        230_000,
        "Zed Overlap",
        "Four",
    ));
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    c.sign_up("two@example.com").await;
    let a = ready_upload(
        &app,
        &mut c,
        "Streaming_History_Audio_2024.json",
        &history(&a_records),
    )
    .await;
    let b = ready_upload(
        &app,
        &mut c,
        "Streaming_History_Audio_2024_1.json",
        &history(&b_records),
    )
    .await;

    // Zed: the three shared streams once, and B's fourth.
    let zed_ms = 200_000 + 210_000 + 20_000 + 230_000;
    let zed = json!({"ms_played": zed_ms, "streams": 4, "plays": 3, "skips": 0});
    let both = get_json(&mut c, &format!("/api/v1/dashboard?uploads={a},{b}")).await;
    let selected: BTreeSet<&str> = both["meta"]["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(selected, BTreeSet::from([a.as_str(), b.as_str()]));
    assert_eq!(
        both["meta"]["upload_names"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(u64_at(&both, "/overview/total/streams"), 5);
    assert_eq!(u64_at(&both, "/overview/total/ms_played"), zed_ms + 100_000);
    assert_eq!(both["overview"]["artists"], 2);
    assert_eq!(both["overview"]["tracks"], 5);
    let top = &both["tops"]["artists"][0];
    assert_eq!(
        (
            top["name"].clone(),
            top["ms_played"].clone(),
            top["plays"].clone(),
            top["rank"].clone()
        ),
        (json!("Zed Overlap"), json!(zed_ms), json!(3), json!(1))
    );
    // The same selection as repeated `u`, and as no selection (every ready upload).
    let repeated = get_json(&mut c, &format!("/api/v1/dashboard?u={b}&u={a}")).await;
    assert_eq!(repeated, both);
    assert_eq!(get_json(&mut c, "/api/v1/dashboard").await, both);
    // One upload alone.
    let only_a = get_json(&mut c, &format!("/api/v1/dashboard?uploads={a}")).await;
    assert_eq!(only_a["tops"]["artists"][0]["ms_played"], json!(430_000));
    let only_b = get_json(&mut c, &format!("/api/v1/dashboard?u={b}")).await;
    assert_eq!(only_b["overview"]["artists"], 1);

    // The ranking and the artist's view agree with the board.
    let ranking = get_json(
        &mut c,
        &format!("/api/v1/dashboard/ranking?uploads={a},{b}"),
    )
    .await;
    assert_eq!(ranking["total"], 2);
    assert_eq!(ranking["entries"][0], *top);
    let view = get_json(
        &mut c,
        &format!("/api/v1/dashboard/artist?name=Zed%20Overlap&uploads={a},{b}"),
    )
    .await;
    assert_eq!(view["name"], "Zed Overlap");
    assert_eq!(view["range"], zed);
    assert_eq!(view["all_time"], zed);
    assert_eq!(view["first_listen"], "2024-04-01T10:00:00Z");
    assert_eq!(view["last_listen"], "2024-04-05T10:00:00Z");
    assert_eq!(
        view["year_ranks"],
        json!([{"year": 2024, "rank": 1, "of": 2, "ms_played": zed_ms, "plays": 3}])
    );
    let titles: Vec<&str> = view["top_tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Four", "Two", "One", "Three"]);
    let one = get_json(
        &mut c,
        &format!("/api/v1/dashboard/artist?name=Zed%20Overlap&uploads={a}"),
    )
    .await;
    assert_eq!(u64_at(&one, "/all_time/streams"), 3);
    // The page shows the same totals.
    let page = c
        .get(&format!("/dashboard/artist?name=Zed%20Overlap&u={a}&u={b}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        stat(&page.body, "artist-hours"),
        web::ui::charts::fmt_hours(zed_ms)
    );
    assert_eq!(stat(&page.body, "artist-plays"), "3");
    assert_eq!(
        stat(&page.body, "artist-all-hours"),
        web::ui::charts::fmt_hours(zed_ms)
    );
    assert_eq!(stat(&page.body, "first"), "2024-04-01");
    assert_eq!(stat(&page.body, "last"), "2024-04-05");
    let board = c.get(&format!("/dashboard?u={a}&u={b}")).await;
    assert_eq!(stat(&board.body, "artists"), "2");
    assert_eq!(
        stat(&board.body, "hours"),
        web::ui::charts::fmt_hours(zed_ms + 100_000)
    );
}

// ----------------------------------------------------------------------------------------
// 4. Ranges and presets
// ----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_include_their_last_day_and_presets_end_on_the_last_day_of_listening() {
    let a = "Range Rover";
    let records = [
        track("2023-12-20T23:00:00Z", 55_000, a, "Before six months"),
        track("2023-12-21T00:30:00Z", 50_000, a, "First of six months"),
        track("2023-12-31T23:50:00Z", 70_000, a, "Old year"),
        track("2024-01-01T00:10:00Z", 80_000, a, "New year"),
        track("2024-02-04T12:00:00Z", 60_000, a, "Before from"),
        track("2024-02-05T00:00:10Z", 60_000, a, "Ends on from"),
        track("2024-02-07T10:00:00Z", 120_000, a, "Inside"),
        track("2024-02-10T23:59:59Z", 180_000, a, "Ends on to"),
        track("2024-02-11T00:00:30Z", 240_000, a, "Day after to"),
        track("2024-05-23T23:59:00Z", 45_000, a, "Before four weeks"),
        track("2024-05-24T08:00:00Z", 30_000, a, "First of four weeks"),
        track("2024-06-20T20:00:00Z", 300_000, a, "Last"),
    ];
    let all_ms: u64 = records
        .iter()
        .map(|r| r["ms_played"].as_u64().unwrap())
        .sum();
    let (_app, mut c, _) = with_history("range@example.com", &records).await;
    let titles = |b: &Value| -> BTreeSet<String> {
        b["tops"]["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let set =
        |names: &[&str]| -> BTreeSet<String> { names.iter().map(|s| s.to_string()).collect() };

    let custom = get_json(
        &mut c,
        "/api/v1/dashboard?range=custom&from=2024-02-05&to=2024-02-10",
    )
    .await;
    assert_eq!(
        (custom["meta"]["from"].clone(), custom["meta"]["to"].clone()),
        (json!("2024-02-05"), json!("2024-02-10"))
    );
    assert_eq!(custom["meta"]["range"], "custom");
    assert_eq!(
        titles(&custom),
        set(&["Ends on from", "Inside", "Ends on to"])
    );
    assert_eq!(u64_at(&custom, "/overview/total/ms_played"), 360_000);
    assert_eq!(u64_at(&custom, "/overview/total/streams"), 3);
    assert_eq!(custom["overview"]["last_stream"], "2024-02-10T23:59:59Z");
    // `from` and `to` alone mean a custom range too.
    let alone = get_json(&mut c, "/api/v1/dashboard?from=2024-02-05&to=2024-02-10").await;
    assert_eq!(alone["overview"], custom["overview"]);
    let open = get_json(&mut c, "/api/v1/dashboard?range=custom&from=2024-02-11").await;
    assert_eq!(open["meta"]["to"], Value::Null);
    assert_eq!(
        titles(&open),
        set(&[
            "Day after to",
            "Before four weeks",
            "First of four weeks",
            "Last"
        ])
    );

    // Presets end on the last day of listening (20 June 2024), whatever today is.
    let four = get_json(&mut c, "/api/v1/dashboard?range=4w").await;
    assert_eq!(
        (four["meta"]["from"].clone(), four["meta"]["to"].clone()),
        (json!("2024-05-24"), json!("2024-06-20"))
    );
    assert_eq!(titles(&four), set(&["First of four weeks", "Last"]));
    assert_eq!(four["meta"]["history_last_day"], "2024-06-20");
    let six = get_json(&mut c, "/api/v1/dashboard?range=6m").await;
    assert_eq!(
        (six["meta"]["from"].clone(), six["meta"]["to"].clone()),
        (json!("2023-12-21"), json!("2024-06-20"))
    );
    assert_eq!(u64_at(&six, "/overview/total/streams"), 11);
    assert_eq!(
        u64_at(&six, "/overview/total/ms_played"),
        all_ms - 55_000,
        "all but the day before"
    );
    let year = get_json(&mut c, "/api/v1/dashboard?range=year").await;
    assert_eq!(
        (year["meta"]["from"].clone(), year["meta"]["to"].clone()),
        (json!("2024-01-01"), json!("2024-12-31"))
    );
    assert_eq!(u64_at(&year, "/overview/total/streams"), 9);
    let y2023 = get_json(&mut c, "/api/v1/dashboard?range=2023").await;
    assert_eq!(
        titles(&y2023),
        set(&["Before six months", "First of six months", "Old year"])
    );
    assert_eq!(y2023["meta"]["range"], "2023");
    let all = get_json(&mut c, "/api/v1/dashboard?range=all").await;
    assert_eq!(u64_at(&all, "/overview/total/ms_played"), all_ms);
    assert_eq!(all["meta"]["years"], json!([2023, 2024]));

    // The pages' preset links carry the range; the chosen one is marked.
    let page = c.get("/dashboard?range=4w").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("href=\"/dashboard?range=4w\" aria-current=\"true\""),
        "4w is current"
    );
    assert!(page.body.contains("Showing 2024-05-24 to 2024-06-20."));

    // Music only: podcasts and audiobooks are empty, music is everything.
    let podcasts = get_json(&mut c, "/api/v1/dashboard?content=podcasts").await;
    assert_eq!(podcasts["meta"]["content"], "podcasts");
    assert_eq!(
        podcasts["overview"]["total"],
        json!({"ms_played": 0, "streams": 0, "plays": 0, "skips": 0})
    );
    assert_eq!(podcasts["overview"]["artists"], 0);
    assert_eq!(podcasts["tops"]["artists"], json!([]));
    assert_eq!(podcasts["over_time"]["months"], json!([]));
    let recap = get_json(&mut c, "/api/v1/dashboard/recap/2024?content=podcasts").await;
    assert_eq!(recap["total"]["ms_played"], 0);
    let music = get_json(&mut c, "/api/v1/dashboard?content=music").await;
    assert_eq!(music["overview"], all["overview"]);
    let page = c.get("/dashboard?content=podcasts").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(stat(&page.body, "plays"), "0");
    let audiobooks = get_json(
        &mut c,
        "/api/v1/dashboard/ranking?kind=audiobooks&content=audiobooks",
    )
    .await;
    assert_eq!(
        (
            audiobooks["total"].clone(),
            audiobooks["pages"].clone(),
            audiobooks["page"].clone()
        ),
        (json!(0), json!(0), json!(1))
    );

    // A recap is the year's slice of the all-time months.
    let recap = get_json(&mut c, "/api/v1/dashboard/recap/2023").await;
    let months = series(&all["over_time"]["months"]);
    let dec: u64 = months
        .iter()
        .filter(|m| m.0.starts_with("2023-"))
        .map(|m| m.1)
        .sum();
    assert_eq!(u64_at(&recap, "/total/ms_played"), dec);
    assert_eq!(u64_at(&recap, "/total/streams"), 3);
    assert_eq!(recap["first_stream"]["name"], "Before six months");
    let r2024 = get_json(&mut c, "/api/v1/dashboard/recap/2024").await;
    assert_eq!(
        u64_at(&r2024, "/total/ms_played") + dec,
        all_ms,
        "the two years hold all the time"
    );
    assert_eq!(r2024["previous_year_ms_played"], json!(dec));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_months_back_from_the_end_of_a_month_starts_the_day_after() {
    // 31 March back six months is 30 September (there is no 31st): the range starts on
    // 1 October. 31 August back six months is 29 February in a leap year.
    for (last, from) in [
        ("2024-03-31", "2023-10-01"),
        ("2024-08-31", "2024-03-01"),
        ("2023-08-30", "2023-03-01"),
        ("2024-12-31", "2024-07-01"),
        ("2024-07-15", "2024-01-16"),
    ] {
        let records = [
            track(&format!("{from}T12:00:00Z"), 60_000, "Edge", "First day"),
            track("2022-12-31T12:00:00Z", 60_000, "Edge", "Long before"),
            track(&format!("{last}T12:00:00Z"), 60_000, "Edge", "Last day"),
        ];
        let (_app, mut c, _) = with_history(&format!("six-{last}@example.com"), &records).await;
        let b = get_json(&mut c, "/api/v1/dashboard?range=6m").await;
        assert_eq!(
            (b["meta"]["from"].clone(), b["meta"]["to"].clone()),
            (json!(from), json!(last)),
            "6 months ending on {last}"
        );
        assert_eq!(u64_at(&b, "/overview/total/streams"), 2, "{last}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_shows_no_day_before_its_first() {
    let (_app, mut c, _) = with_history(
        "spill@example.com",
        &[
            track("2024-02-05T00:00:10Z", 60_000, "Spill", "Across midnight"),
            track("2024-02-06T10:00:00Z", 60_000, "Spill", "Next day"),
        ],
    )
    .await;
    let b = get_json(&mut c, "/api/v1/dashboard?from=2024-02-05&to=2024-02-06").await;
    let days = series(&b["over_time"]["days"]);
    assert_eq!(
        days.first().map(|d| d.0.as_str()),
        Some("2024-02-05"),
        "{days:?}"
    );
    assert_eq!(b["overview"]["days_listened"], 2);
    assert_eq!(b["overview"]["longest_streak"]["first"], "2024-02-05");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_loops_follow_the_chosen_pause() {
    let again = |end: &str| track(&format!("2024-05-06T{end}:00Z"), 180_000, "Looper", "Again");
    let (_app, mut c, _) = with_history(
        "gap@example.com",
        &[
            // Five times in a row, back to back: 10:00 to 10:15.
            again("10:03"),
            again("10:06"),
            again("10:09"),
            again("10:12"),
            again("10:15"),
            // After a pause of 22 minutes, 10:37 to 10:40.
            track("2024-05-06T10:40:00Z", 180_000, "Looper", "Other"),
            // After a pause of 77 minutes, 11:57 to 12:00.
            track("2024-05-06T12:00:00Z", 180_000, "Looper", "Late"),
        ],
    )
    .await;
    let count = |b: &Value| b["sessions"]["count"].as_u64().unwrap();
    let b = get_json(&mut c, "/api/v1/dashboard").await;
    assert_eq!(b["meta"]["session_gap_minutes"], 30);
    assert_eq!(
        count(&b),
        2,
        "30 minutes: the 22-minute pause does not end a session"
    );
    assert_eq!(
        b["sessions"]["longest"][0],
        json!({
            "start": "2024-05-06T10:00:00Z",
            "end": "2024-05-06T10:40:00Z",
            "duration_ms": 40 * 60_000,
            "streams": 6,
            "ms_played": 6 * 180_000,
            "loop": true
        })
    );
    assert_eq!(b["sessions"]["mean_ms_played"], json!(7 * 180_000 / 2));
    assert_eq!(
        b["loops"],
        json!([{
            "track": "Again",
            "artist": "Looper",
            "repeats": 5,
            "start": "2024-05-06T10:00:00Z",
            "end": "2024-05-06T10:15:00Z",
            "start_ms": epoch_ms("2024-05-06T10:00:00Z"),
            "end_ms": epoch_ms("2024-05-06T10:15:00Z"),
            "ms_played": 5 * 180_000
        }])
    );
    let short = get_json(&mut c, "/api/v1/dashboard?gap=10").await;
    assert_eq!(short["meta"]["session_gap_minutes"], 10);
    assert_eq!(count(&short), 3);
    assert_eq!(short["sessions"]["longest"][0]["streams"], 5);
    assert_eq!(
        short["loops"][0]["repeats"], 5,
        "the loop is within 10 minutes"
    );
    let long = get_json(&mut c, "/api/v1/dashboard?gap=120").await;
    assert_eq!(count(&long), 1);
    assert_eq!(
        long["overview"], b["overview"],
        "the pause changes sessions only"
    );
    let page = c.get("/dashboard?gap=10").await;
    assert!(
        page.body
            .contains("3 sessions; a pause longer than 10 minutes ends one.")
    );
    assert!(
        page.body.contains("name=\"gap\" value=\"10\""),
        "range links keep the pause"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controls_of_each_page_keep_what_the_page_is_about() {
    let (_app, mut c, id) = with_history(
        "links@example.com",
        &[
            track("2024-05-01T10:00:00Z", 100_000, "Linked Artist", "Song"),
            track("2024-06-01T10:00:00Z", 100_000, "Linked Artist", "Song"),
            track("2024-06-02T10:00:00Z", 100_000, "Somebody Else", "Other"),
        ],
    )
    .await;
    // The artist page: every preset, content and ranking link, and the range form, stay on
    // the artist.
    let page = c
        .get(&format!("/dashboard/artist?name=Linked%20Artist&u={id}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    for link in [
        "Last 4 weeks",
        "Last 6 months",
        "Latest year",
        "2024",
        "All time",
        "Music",
        "Rank by plays",
    ] {
        let href = href_of(&page.body, link);
        assert!(href.starts_with("/dashboard/artist?"), "{link}: {href}");
        let r = c.get(&href).await;
        assert_eq!(r.status, StatusCode::OK, "{link}: {href}: {}", r.body);
        assert!(r.body.contains("<h1>Linked Artist</h1>"), "{link}: {href}");
        assert!(
            href.contains(&format!("u={id}")),
            "{link} keeps the selection: {href}"
        );
    }
    let four = c.get(&href_of(&page.body, "Last 4 weeks")).await;
    assert_eq!(stat(&four.body, "artist-plays"), "1", "the range applies");
    assert!(
        page.body
            .contains("<input type=\"hidden\" name=\"name\" value=\"Linked Artist\">"),
        "the range form keeps the artist"
    );
    // The ranking of tracks: its presets stay on tracks.
    let page = c.get("/dashboard/ranking?kind=tracks").await;
    let href = href_of(&page.body, "Last 4 weeks");
    assert!(href.contains("kind=tracks"), "{href}");
    let r = c.get(&href).await;
    assert!(r.body.contains("Ranking: tracks"), "{href}");
    // A chosen session pause stays when the range changes.
    let page = c.get("/dashboard?gap=10").await;
    let href = href_of(&page.body, "Last 4 weeks");
    assert!(href.contains("gap=10"), "{href}");
    assert_eq!(
        get_json(&mut c, &format!("/api/v1{href}")).await["meta"]["session_gap_minutes"],
        10
    );
}

// ----------------------------------------------------------------------------------------
// 5. Refusals
// ----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_foreign_uploads_unknown_artists_and_strangers_are_refused() {
    let (app, mut c, mine) = with_history(
        "me@example.com",
        &[track(
            "2024-02-01T10:00:00Z",
            100_000,
            "Known Artist",
            "Song",
        )],
    )
    .await;
    let mut other = app.client();
    other.sign_up("other@example.com").await;
    let theirs = ready_upload(
        &app,
        &mut other,
        "Streaming_History_Audio_2024.json",
        &history(&[track(
            "2024-03-01T10:00:00Z",
            100_000,
            "Their Artist",
            "Theirs",
        )]),
    )
    .await;

    for path in [
        "/api/v1/dashboard",
        "/api/v1/dashboard/ranking",
        "/api/v1/dashboard/recap/2024",
        "/api/v1/dashboard/artist?name=Known%20Artist",
    ] {
        let sep = if path.contains('?') { '&' } else { '?' };
        for q in [
            format!("uploads={theirs}"),
            format!("uploads={mine},{theirs}"),
            format!("u={mine}&u={theirs}"),
            "uploads=no-such-upload".to_string(),
        ] {
            let r = c.get(&format!("{path}{sep}{q}")).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path} {q}: {}", r.body);
            assert!(!r.body.contains("Their Artist"));
        }
    }
    for path in [
        format!("/dashboard?u={theirs}"),
        format!("/dashboard/ranking?u={theirs}"),
        format!("/dashboard/recap/2024?u={theirs}"),
        format!("/dashboard/artist?name=Their%20Artist&u={theirs}"),
    ] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!r.body.contains("Their Artist"), "{path}");
    }

    // Bad values: 400, the message names the parameter.
    for (query, name) in [
        ("range=fortnight", "range"),
        ("range=20245", "range"),
        ("content=video", "“content”"),
        ("by=likes", "“by”"),
        ("kind=genres", "“kind”"),
        ("page=two", "“page”"),
        ("page=-1", "“page”"),
        ("range=custom&from=2024-13-01", "“from”"),
        ("range=custom&to=yesterday", "“to”"),
        ("from=2023-02-29", "“from”"),
        ("from=2024-02-10&to=2024-02-01", "“from”"),
        ("gap=0", "“gap”"),
        ("gap=1441", "“gap”"),
        ("gap=half", "“gap”"),
    ] {
        for path in ["/api/v1/dashboard/ranking", "/dashboard/ranking"] {
            let r = c.get(&format!("{path}?{query}")).await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{path}?{query}: {}",
                r.body
            );
            let message = if path.starts_with("/api") {
                r.json()["error"]["message"]
                    .as_str()
                    .expect("a message")
                    .to_string()
            } else {
                r.body.clone()
            };
            assert!(
                message.contains(name) || message.contains(&escaped(name)),
                "{path}?{query}: {message}"
            );
        }
    }
    let r = c.get("/api/v1/dashboard?range=fortnight").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c.get("/api/v1/dashboard/artist").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "no name: {}", r.body);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("“name”")
    );
    let r = c.get("/api/v1/dashboard/recap/twenty").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    for year in ["1800", "9999"] {
        let r = c.get(&format!("/api/v1/dashboard/recap/{year}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{year}: {}", r.body);
    }

    // Artists: unknown ones, and somebody else's, are not found.
    for name in ["Nobody%20Here", "Their%20Artist", "known%20artist"] {
        let r = c
            .get(&format!("/api/v1/dashboard/artist?name={name}"))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}: {}", r.body);
        let r = c.get(&format!("/dashboard/artist?name={name}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}");
    }
    let r = c.get("/api/v1/dashboard/artist?name=Known%20Artist").await;
    assert_eq!(r.status, StatusCode::OK);

    // Without a session (or with a session but no account): 401 for scripts.
    let mut stranger = app.client();
    for path in [
        "/api/v1/dashboard",
        "/api/v1/dashboard/ranking",
        "/api/v1/dashboard/artist?name=Known%20Artist",
        "/api/v1/dashboard/recap/2024",
        "/api/v1/dashboard?range=fortnight",
    ] {
        let r = stranger.get(path).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {}", r.body);
        assert!(!r.body.contains("Known Artist"));
    }
    for path in [
        "/dashboard",
        "/dashboard/ranking",
        "/dashboard/artist?name=Known%20Artist",
        "/dashboard/recap/2024",
    ] {
        let r = stranger.get(path).await;
        assert!(
            r.status == StatusCode::UNAUTHORIZED
                || (r.status.is_redirection()
                    && r.location().is_some_and(|l| l.contains("signin"))),
            "{path}: {} {:?}",
            r.status,
            r.location()
        );
        assert!(!r.body.contains("Known Artist"), "{path}");
    }
}

// ----------------------------------------------------------------------------------------
// 6. Hostile names
// ----------------------------------------------------------------------------------------

/// Asserts `body` has no markup from data: every `<script` is the page's own script tag, and
/// no element an injected name would bring.
fn assert_no_injected_markup(path: &str, body: &str) {
    for (at, _) in body.match_indices("<script") {
        let tag = &body[at..body[at..].find('>').map_or(body.len(), |e| at + e)];
        assert!(
            tag.starts_with("<script src=\"/static/"),
            "{path}: a script that is not the page's own: {tag}"
        );
    }
    for raw in ["<img", "onerror=", "<script>alert"] {
        assert!(!body.contains(raw), "{path} holds {raw:?} unescaped");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_are_escaped_on_every_dashboard_page() {
    let export = synth::generate(&synth::Options {
        plays: 3_000,
        first_year: 2023,
        last_year: 2024,
        seed: 13,
        nasty: true,
        ..synth::Options::default()
    });
    let zip = synth::zip_to(&export, std::io::Cursor::new(Vec::new()))
        .expect("zip")
        .into_inner();
    let app = WebApp::new(Engine::Sqlite).await;
    let mut c = app.client();
    c.sign_up("nasty@example.com").await;
    ready_upload(&app, &mut c, "my_spotify_data.zip", &zip).await;
    // Every artist, from the ranking.
    let mut artists: Vec<String> = Vec::new();
    let mut page = 1;
    loop {
        let r = get_json(
            &mut c,
            &format!("/api/v1/dashboard/ranking?kind=artists&page={page}"),
        )
        .await;
        artists.extend(
            r["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["name"].as_str().unwrap().to_string()),
        );
        if page >= r["pages"].as_u64().unwrap() as usize {
            break;
        }
        page += 1;
    }
    let hostile: Vec<&String> = artists
        .iter()
        .filter(|a| a.contains(['<', '"', '&', '\'', '\u{202e}', '{']))
        .collect();
    assert!(
        hostile.iter().any(|a| a.contains("<script>")),
        "the export has a markup artist: {hostile:?}"
    );
    let years = get_json(&mut c, "/api/v1/dashboard").await["meta"]["years"].clone();
    let mut paths: Vec<String> = vec![
        "/dashboard".into(),
        "/dashboard?by=plays".into(),
        "/dashboard?content=podcasts".into(),
        "/dashboard/ranking".into(),
        "/dashboard/ranking?kind=tracks".into(),
        "/dashboard/ranking?kind=albums".into(),
        "/dashboard/ranking?kind=shows".into(),
        "/dashboard/ranking?kind=episodes".into(),
    ];
    for y in years.as_array().unwrap() {
        paths.push(format!("/dashboard/recap/{y}"));
        paths.push(format!("/dashboard?range={y}"));
    }
    for a in &hostile {
        paths.push(format!("/dashboard/artist?name={}", enc(a)));
    }
    for path in &paths {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_no_injected_markup(path, &r.body);
    }
    // A hostile artist's page names it, escaped; the API gives the name as it is.
    let script = hostile.iter().find(|a| a.contains("<script>")).unwrap();
    let r = c
        .get(&format!("/dashboard/artist?name={}", enc(script)))
        .await;
    assert!(
        r.body.contains(&format!("<h1>{}</h1>", escaped(script))),
        "the heading names the artist, escaped"
    );
    assert!(r.body.contains(&escaped(script)));
    let view = get_json(
        &mut c,
        &format!("/api/v1/dashboard/artist?name={}", enc(script)),
    )
    .await;
    assert_eq!(view["name"], json!(script));
    let board = c.get("/dashboard").await.body;
    assert!(
        board.contains("&lt;script&gt;"),
        "the dashboard shows a markup name as text"
    );
}

// ----------------------------------------------------------------------------------------
// The worker's artifact: what the dashboards are prepared from
// ----------------------------------------------------------------------------------------

/// A signed-up visitor of a new app on `engine` with one ready upload per list of records;
/// returns the app, the visitor, the upload ids and the account.
async fn with_uploads(
    engine: Engine,
    email: &str,
    uploads: &[&[Value]],
) -> (WebApp, Client, Vec<String>, storage::users::User) {
    let app = WebApp::new(engine).await;
    let mut c = app.client();
    c.sign_up(email).await;
    let mut ids = Vec::new();
    for (i, records) in uploads.iter().enumerate() {
        let name = format!("Streaming_History_Audio_2024_{i}.json");
        ids.push(ready_upload(&app, &mut c, &name, &history(records)).await);
    }
    let user = storage::users::by_email(app.pipeline.db(), email)
        .await
        .unwrap()
        .expect("the account");
    (app, c, ids, user)
}

/// What a user notices of a dashboard: totals, the top artists and tracks, the days.
fn shown(v: &Value) -> Value {
    json!({
        "overview": v["overview"],
        "artists": v["tops"]["artists"],
        "tracks": v["tops"]["tracks"],
        "days": series(&v["over_time"]["days"]),
    })
}

both_engines!(every_stream_is_stored_once_in_the_artifact_and_the_dashboards_read_it);
async fn every_stream_is_stored_once_in_the_artifact_and_the_dashboards_read_it(engine: Engine) {
    let shared = track("2024-04-01T10:00:00Z", 200_000, "Zed Overlap", "One");
    let a_records = [
        shared.clone(),
        track("2024-04-02T10:00:00Z", 210_000, "Zed Overlap", "Two"),
        track("2024-04-03T23:30:00Z", 90_000, "Other Artist", "Late"),
    ];
    let b_records = [
        shared,
        track("2024-05-05T10:00:00Z", 230_000, "Zed Overlap", "Four"),
    ];
    let (app, mut c, ids, user) =
        with_uploads(engine, "artifact@example.com", &[&a_records, &b_records]).await;
    let (a, b) = (ids[0].clone(), ids[1].clone());
    let db = app.pipeline.db();
    let stored = storage::plays::artifact_for_user(db, &user.id)
        .await
        .unwrap()
        .expect("the worker wrote the artifact");
    assert_eq!(
        stored.streams, 4,
        "the shared stream is in the artifact once"
    );
    assert_eq!(
        stored.version, user.stats_version,
        "stamped with the stats it goes with"
    );
    assert!(
        !app.pipeline.has_table("plays").await,
        "no play is stored as a row"
    );
    let artifact = schema::Artifact::decode(&stored.bytes).unwrap();
    assert_eq!(artifact.uploads(), {
        let mut ids = vec![a.as_str(), b.as_str()];
        ids.sort();
        ids
    });
    assert_eq!(
        (
            app.pipeline.play_count(&a).await,
            app.pipeline.play_count(&b).await
        ),
        (3, 2)
    );

    let all = shown(&get_json(&mut c, "/api/v1/dashboard").await);
    let only_a = shown(&get_json(&mut c, &format!("/api/v1/dashboard?uploads={a}")).await);
    assert_eq!(all["overview"]["total"]["streams"], 4);
    assert_eq!(
        all["overview"]["total"]["ms_played"],
        200_000 + 210_000 + 90_000 + 230_000
    );
    assert_eq!(only_a["overview"]["total"]["streams"], 3);

    // A web instance that never saw the user (its memory made stale) reads the same.
    app.pipeline
        .execute("UPDATE users SET stats_version = stats_version + 1")
        .await;
    assert_eq!(shown(&get_json(&mut c, "/api/v1/dashboard").await), all);
    let page = c.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Zed Overlap"),
        "the top artist is on the page"
    );

    // Deleting B takes its own stream and leaves the shared one to A.
    let r = c.act(Method::DELETE, &format!("/api/v1/uploads/{b}")).await;
    assert!(r.status.is_success(), "{}", r.body);
    app.work().await;
    let left = get_json(&mut c, "/api/v1/dashboard").await;
    assert_eq!(left["overview"]["total"]["streams"], 3);
    assert_eq!(shown(&left), only_a);
    assert_eq!(app.pipeline.play_count(&b).await, 0);
}

/// A podcast episode of `show`.
fn episode(ts: &str, ms: u64, show: &str, name: &str) -> Value {
    let mut r = track(ts, ms, "x", "x");
    for key in [
        "master_metadata_track_name",
        "master_metadata_album_artist_name",
        "master_metadata_album_album_name",
        "spotify_track_uri",
    ] {
        r[key] = Value::Null;
    }
    r["episode_show_name"] = json!(show);
    r["episode_name"] = json!(name);
    r["spotify_episode_uri"] = json!(format!("spotify:episode:{}", spotify_id(name)));
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_name_links_to_its_page_and_tracks_albums_and_shows_have_one() {
    let records = [
        track("2024-04-01T10:00:00Z", 200_000, "Zed Overlap", "One"),
        track("2024-04-02T10:00:00Z", 210_000, "Zed Overlap", "One"),
        track("2024-05-03T10:00:00Z", 100_000, "Zed Overlap", "Two"),
        track("2024-05-04T10:00:00Z", 20_000, "Other Artist", "Short"),
        episode("2024-05-05T10:00:00Z", 1_800_000, "Night Talk", "Episode 1"),
    ];
    let (_app, mut c, _) = with_history("links@example.com", &records).await;
    let board = c.get("/dashboard").await;
    for link in [
        "href=\"/dashboard/artist?name=Zed+Overlap\"",
        "href=\"/dashboard/track?name=One&amp;artist=Zed+Overlap\"",
        "href=\"/dashboard/album?name=Zed+Overlap+album&amp;artist=Zed+Overlap\"",
        "href=\"/dashboard/show?name=Night+Talk\"",
    ] {
        assert!(board.body.contains(link), "the dashboard links {link}");
    }
    let ranking = c.get("/dashboard/ranking?kind=tracks").await;
    assert!(
        !ranking.body.contains("href=\"#\""),
        "no dead links in the ranking"
    );
    assert!(
        ranking.body.contains("href=\"/dashboard/track?"),
        "{}",
        ranking.body
    );

    // A track: its plays, its history, its album, its artist.
    let one = c
        .get("/dashboard/track?artist=Zed%20Overlap&name=One")
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(stat(&one.body, "item-plays"), "2");
    assert_eq!(stat(&one.body, "item-hours"), "7 min");
    assert_eq!(stat(&one.body, "first"), "2024-04-01");
    assert_eq!(stat(&one.body, "last"), "2024-04-02");
    assert!(
        one.body
            .contains("href=\"/dashboard/artist?name=Zed+Overlap\"")
    );
    assert!(one.body.contains("Zed Overlap album"));
    // An album: its tracks, ranked by time, each a link.
    let album = c
        .get("/dashboard/album?artist=Zed+Overlap&name=Zed+Overlap+album")
        .await;
    assert_eq!(album.status, StatusCode::OK, "{}", album.body);
    assert_eq!(stat(&album.body, "item-plays"), "3");
    let (first, second) = (
        album.body.find("1. One").expect("One first"),
        album.body.find("2. Two").expect("Two second"),
    );
    assert!(first < second);
    assert!(
        album
            .body
            .contains("href=\"/dashboard/track?name=Two&amp;artist=Zed+Overlap\"")
    );
    // A show: its episodes.
    let show = c.get("/dashboard/show?name=Night+Talk").await;
    assert_eq!(show.status, StatusCode::OK, "{}", show.body);
    assert_eq!(stat(&show.body, "item-hours"), "30 min");
    assert!(show.body.contains("Episode 1"));
    // A range without the track: its all-time numbers stay, the range's are zero.
    let may = c
        .get("/dashboard/track?artist=Zed+Overlap&name=One&from=2024-05-01&to=2024-05-31")
        .await;
    assert_eq!(stat(&may.body, "item-plays"), "0");
    assert_eq!(stat(&may.body, "item-all-hours"), "7 min");
    // What is not there is not found; what is incomplete says what is missing.
    let nobody = c.get("/dashboard/track?artist=Nobody&name=One").await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    let whose = c.get("/dashboard/album?name=Zed+Overlap+album").await;
    assert_eq!(whose.status, StatusCode::BAD_REQUEST);
    assert!(whose.body.contains("“artist”"), "{}", whose.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_skip_anatomy_places_each_skip_in_its_track_and_says_how_listening_began() {
    let skip = |ts: &str, ms: u64, title: &str, start: &str, shuffle: bool| {
        let mut r = track(ts, ms, "Ada", title);
        r["reason_start"] = json!(start);
        r["reason_end"] = json!("fwdbtn");
        r["skipped"] = json!(true);
        r["shuffle"] = json!(shuffle);
        r
    };
    let mut chosen = track("2024-04-01T10:00:00Z", 200_000, "Ada", "Song");
    chosen["reason_start"] = json!("clickrow");
    let records = [
        // "Song" is 200 s long: it played to its end.
        chosen,
        // Skipped at 30 s (15 %) with shuffle on, at 190 s (95 %) with shuffle on.
        skip("2024-04-02T10:00:00Z", 30_000, "Song", "trackdone", true),
        skip("2024-04-03T10:00:00Z", 190_000, "Song", "fwdbtn", true),
        // Never played to its end: its skip cannot be placed.
        skip("2024-04-04T10:00:00Z", 10_000, "Other", "appload", false),
    ];
    let (_app, mut c, _) = with_history("anatomy@example.com", &records).await;
    let a = get_json(&mut c, "/api/v1/dashboard/skips").await;
    assert_eq!(
        (&a["streams"], &a["skips"], &a["placed"]),
        (&json!(4), &json!(3), &json!(2))
    );
    assert_eq!(a["position"], json!([0, 1, 0, 0, 0, 0, 0, 0, 0, 1]));
    assert_eq!(a["shuffle"][0]["label"], "on");
    assert_eq!(a["shuffle"][0]["rate"], 1.0);
    assert_eq!(a["shuffle"][1]["rate"], 0.5);
    let began: Vec<(String, u64)> = a["origins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["label"].as_str().unwrap().into(),
                o["streams"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        began,
        [
            ("chosen".to_string(), 1),
            ("continued".into(), 2),
            ("resumed".into(), 1),
            ("unknown".into(), 0)
        ]
    );
    let page = c.get("/dashboard/skips").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("3 of 4 music streams skipped (75 %)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("You chose it"));
    assert!(
        c.get("/dashboard")
            .await
            .body
            .contains("href=\"/dashboard/skips\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_on_two_devices_at_once_are_counted_once_there_and_told_apart() {
    // 10:00–11:00 on the phone, 10:30–11:30 on a computer: 30 minutes on both.
    let mut desktop = track("2024-04-01T11:30:00Z", 3_600_000, "Bo", "Two");
    desktop["platform"] = json!("Windows 10 (10.0.19045; x64)");
    let records = [
        track("2024-04-01T11:00:00Z", 3_600_000, "Ada", "One"),
        desktop,
    ];
    let (_app, mut c, _) = with_history("overlaps@example.com", &records).await;
    let o = get_json(&mut c, "/api/v1/dashboard/overlaps").await;
    assert_eq!(o["ms_played"], 7_200_000);
    assert_eq!(o["counted_once_ms"], 5_400_000);
    assert_eq!(o["overlap_ms"], 1_800_000);
    assert_eq!(o["across_devices_ms"], 1_800_000);
    assert_eq!(o["pairs"][0]["ms"], 1_800_000);
    assert_eq!(o["episodes"][0]["start"], "2024-04-01T10:30:00Z");
    // Monday 10:00 holds its 60 minutes once, not 90.
    assert_eq!(o["counted_once_by_hour"][0][10], 3_600_000);
    let page = c.get("/dashboard/overlaps").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(stat(&page.body, "overlap-once"), "1.5 h");
    assert_eq!(stat(&page.body, "overlap-twice"), "30 min");
    assert!(
        c.get("/dashboard")
            .await
            .body
            .contains("href=\"/dashboard/overlaps\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_finds_names_in_the_history_each_a_link_to_its_page() {
    let records = [
        track(
            "2024-04-01T10:00:00Z",
            200_000,
            "Daft Punk",
            "One More Time",
        ),
        track("2024-04-02T10:00:00Z", 500_000, "Daft Punk", "Digital Love"),
        track("2024-04-03T10:00:00Z", 100_000, "Punkish", "Time Again"),
        episode("2024-04-04T10:00:00Z", 900_000, "Punk History", "Episode 1"),
    ];
    let (_app, mut c, _) = with_history("search@example.com", &records).await;
    let r = get_json(&mut c, "/api/v1/dashboard/search?q=punk").await;
    let found: Vec<(String, String)> = r["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["kind"].as_str().unwrap().into(),
                h["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("artist", "Daft Punk"),
        ("artist", "Punkish"),
        ("album", "Daft Punk album"),
        ("album", "Punkish album"),
        ("show", "Punk History"),
    ]
    .iter()
    .map(|(k, n)| (k.to_string(), n.to_string()))
    .collect();
    assert_eq!(found, want, "by kind, most listened first");
    assert_eq!(
        r["hits"][0]["ms_played"], 700_000,
        "the artist's time, all time"
    );
    let one = get_json(&mut c, "/api/v1/dashboard/search?q=TIME%20one").await;
    assert_eq!(one["total"], 1);
    assert_eq!(one["hits"][0]["by"], "Daft Punk");
    let none = get_json(&mut c, "/api/v1/dashboard/search?q=zzz").await;
    assert_eq!(
        (
            none["total"].as_u64(),
            none["hits"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    // The page: links to each thing's page; the dashboard carries the form.
    let page = c.get("/dashboard/search?q=punk").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("href=\"/dashboard/artist?name=Daft+Punk\""),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("href=\"/dashboard/show?name=Punk+History\"")
    );
    assert!(page.body.contains("5 matches for “punk”"), "{}", page.body);
    let nothing = c.get("/dashboard/search?q=zzz").await;
    assert!(
        nothing
            .body
            .contains("Nothing in your history matches “zzz”.")
    );
    assert!(
        c.get("/dashboard")
            .await
            .body
            .contains("action=\"/dashboard/search\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_periods_compare_with_the_numbers_of_each_and_the_artists_that_moved() {
    let records = [
        // 2023: Ada 3 h, Bo 2 h, Gone 1 h.
        track("2023-03-01T10:00:00Z", 3 * 3_600_000, "Ada", "A"),
        track("2023-05-01T10:00:00Z", 2 * 3_600_000, "Bo", "B"),
        track("2023-07-01T10:00:00Z", 3_600_000, "Gone", "G"),
        // 2024: Bo 4 h, New 3 h, Ada 1 h.
        track("2024-03-01T10:00:00Z", 4 * 3_600_000, "Bo", "B"),
        track("2024-05-01T10:00:00Z", 3 * 3_600_000, "New", "N"),
        track("2024-07-01T10:00:00Z", 3_600_000, "Ada", "A"),
    ];
    let (_app, mut c, _) = with_history("compare@example.com", &records).await;
    let cmp = get_json(&mut c, "/api/v1/dashboard/compare?range=2024").await;
    assert_eq!(cmp["a"]["label"], "2024");
    assert_eq!(cmp["b"]["label"], "2023", "a year against the year before");
    assert_eq!(cmp["a"]["total"]["ms_played"], 8 * 3_600_000);
    assert_eq!(cmp["b"]["total"]["ms_played"], 6 * 3_600_000);
    assert_eq!(cmp["a"]["artists"], 3);
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&cmp["artists"]["climbed"]), ["Bo"], "#2 → #1");
    assert_eq!(names(&cmp["artists"]["fell"]), ["Ada"], "#1 → #3");
    assert_eq!(names(&cmp["artists"]["arrived"]), ["New"]);
    assert_eq!(names(&cmp["artists"]["left"]), ["Gone"]);
    assert_eq!(
        cmp["summary"],
        "8 h in 2024, against 6 h in 2023. Your top artist: Bo (in 2023: Ada)."
    );
    // Any two periods: the first half of 2024 against 2023.
    let custom = get_json(
        &mut c,
        "/api/v1/dashboard/compare?from=2024-01-01&to=2024-06-30&vs_range=2023",
    )
    .await;
    assert_eq!(custom["a"]["label"], "2024-01-01 to 2024-06-30");
    assert_eq!(custom["a"]["total"]["ms_played"], 7 * 3_600_000);
    assert_eq!(custom["b"]["label"], "2023");
    // The page: numbers side by side, names linked, reached from the dashboard.
    let board = c.get("/dashboard?range=2024").await;
    assert!(
        board
            .body
            .contains("href=\"/dashboard/compare?range=2024\""),
        "{}",
        board.body
    );
    let page = c.get("/dashboard/compare?range=2024").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<h1>2024 against 2023</h1>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("href=\"/dashboard/artist?range=2024&amp;name=New\""),
        "{}",
        page.body
    );
    // All time has nothing before it: said so, not guessed.
    let all = get_json(&mut c, "/api/v1/dashboard/compare").await;
    assert!(
        all["summary"]
            .as_str()
            .unwrap()
            .contains("All time has nothing before it")
    );
    assert_eq!(all["b"]["total"]["ms_played"], 0);
    let bad = c
        .get("/api/v1/dashboard/compare?range=2024&vs_from=yesterday")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(api_message(&bad).contains("yesterday"), "{}", bad.body);
}

both_engines!(play_rows_stored_before_artifacts_are_carried_over_with_the_same_numbers);
async fn play_rows_stored_before_artifacts_are_carried_over_with_the_same_numbers(engine: Engine) {
    let records = [
        track("2024-04-01T10:00:00Z", 200_000, "Zed Overlap", "One"),
        track("2024-04-02T10:00:00Z", 210_000, "Zed Overlap", "Two"),
        track("2024-04-03T10:00:00Z", 20_000, "Other Artist", "Short"),
    ];
    let (app, mut c, ids, user) = with_uploads(engine, "before@example.com", &[&records]).await;
    let id = ids[0].clone();
    let all = shown(&get_json(&mut c, "/api/v1/dashboard").await);
    let csv = c.get("/api/v1/export?format=csv").await;
    let db = app.pipeline.db();

    // As a database from before the migrations: a row per play, no artifact.
    app.pipeline.as_before_contract().await;
    app.pipeline.as_play_rows(&user.id).await;
    app.pipeline
        .execute("UPDATE users SET stats_version = stats_version + 1")
        .await;
    // The contract refuses while a row is not carried over, and loses nothing.
    assert!(
        db.migrate().await.is_err(),
        "dropping rows not carried over is refused"
    );
    assert_eq!(
        app.pipeline.execute("UPDATE plays SET kind = kind").await,
        3
    );

    // What every process runs at start, three at once: the rows carried over once, then the
    // tables dropped once; none of them fails or writes the artifact again from no rows.
    let (a, b, c3) = tokio::join!(
        ingest_worker::artifact::migrate(db),
        ingest_worker::artifact::migrate(db),
        ingest_worker::artifact::migrate(db)
    );
    let (mut applied, mut carried) = (Vec::new(), 0);
    for (versions, users) in [a.unwrap(), b.unwrap(), c3.unwrap()] {
        applied.extend(versions);
        carried += users;
    }
    assert_eq!(applied, vec![storage::db::CONTRACT_PLAYS]);
    assert_eq!(carried, 1, "one user had rows, carried over once");
    let stored = storage::plays::artifact_for_user(db, &user.id)
        .await
        .unwrap()
        .expect("the artifact was written from the rows");
    assert_eq!(stored.streams, 3);
    for table in ["plays", "stats"] {
        assert!(!app.pipeline.has_table(table).await, "{table} is dropped");
    }
    assert!(app.pipeline.has_table("artifacts").await);
    assert_eq!(app.pipeline.play_count(&id).await, 3);
    assert_eq!(shown(&get_json(&mut c, "/api/v1/dashboard").await), all);
    assert_eq!(c.get("/api/v1/export?format=csv").await.body, csv.body);
    let (again, none) = ingest_worker::artifact::migrate(db).await.unwrap();
    assert!(
        again.is_empty() && none == 0,
        "a second start changes nothing"
    );
}

/// A small deterministic generator (64-bit LCG, Knuth's constants): the property below runs the
/// same cases every time.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}

both_engines!(
    the_overview_api_and_the_dashboard_agree_with_an_independent_count_on_any_range_and_selection
);
async fn the_overview_api_and_the_dashboard_agree_with_an_independent_count_on_any_range_and_selection(
    engine: Engine,
) {
    // Streams over three months (UTC, the default zone), some shared by both uploads.
    let mut rng = Lcg(0x5eed);
    let day0 = epoch_ms("2024-03-01T00:00:00Z") / 1000;
    let artists = ["Ada", "Bo", "Cy", "Di", "Ed"];
    let records: Vec<(Value, usize)> = (0..240)
        .map(|i| {
            let secs = day0 + rng.next(92 * 86_400) as i64;
            let sod = secs.rem_euclid(86_400);
            let ts = format!(
                "{}T{:02}:{:02}:{:02}Z",
                day_label(secs.div_euclid(86_400)),
                sod / 3600,
                sod / 60 % 60,
                sod % 60
            );
            let artist = artists[rng.next(artists.len() as u64) as usize];
            let title = format!("Song {}", rng.next(30));
            let ms = 5_000 + rng.next(300_000);
            // 0: only in A, 1: only in B, 2: in both.
            (
                track(&ts, ms, artist, &format!("{title} {i}")),
                (rng.next(3)) as usize,
            )
        })
        .collect();
    let a: Vec<Value> = records
        .iter()
        .filter(|(_, w)| *w != 1)
        .map(|(r, _)| r.clone())
        .collect();
    let b: Vec<Value> = records
        .iter()
        .filter(|(_, w)| *w != 0)
        .map(|(r, _)| r.clone())
        .collect();
    let (_app, mut c, ids, _) = with_uploads(engine, "agree@example.com", &[&a, &b]).await;
    for case in 0..24 {
        let which = rng.next(3) as usize;
        let from_z = day0 / 86_400 + rng.next(92) as i64;
        let to_z = from_z + rng.next(60) as i64;
        let (from, to) = (day_label(from_z), day_label(to_z));
        let selection = match which {
            0 => ids[0].clone(),
            1 => ids[1].clone(),
            _ => format!("{},{}", ids[0], ids[1]),
        };
        // The independent count: the selection's streams (each once) that ended in the range.
        let chosen: Vec<&Value> = records
            .iter()
            .filter(|(_, w)| match which {
                0 => *w != 1,
                1 => *w != 0,
                _ => true,
            })
            .map(|(r, _)| r)
            .filter(|r| {
                let z = epoch_ms(r["ts"].as_str().unwrap()).div_euclid(86_400_000);
                (from_z..=to_z).contains(&z)
            })
            .collect();
        let streams = chosen.len() as u64;
        let ms: u64 = chosen
            .iter()
            .map(|r| r["ms_played"].as_u64().unwrap())
            .sum();
        let artist_count = chosen
            .iter()
            .map(|r| r["master_metadata_album_artist_name"].as_str().unwrap())
            .collect::<BTreeSet<_>>()
            .len() as u64;
        let days: BTreeSet<i64> = chosen
            .iter()
            .map(|r| epoch_ms(r["ts"].as_str().unwrap()).div_euclid(86_400_000))
            .collect();

        let api = get_json(
            &mut c,
            &format!("/api/v1/stats?uploads={selection}&from={from}&to={to}"),
        )
        .await;
        let board = get_json(
            &mut c,
            &format!("/api/v1/dashboard?uploads={selection}&range=custom&from={from}&to={to}"),
        )
        .await;
        let o = &board["overview"];
        let what = format!("case {case}: uploads {which}, {from}..{to}");
        assert_eq!(
            u64_at(&api, "/total/streams"),
            streams,
            "{what}: /api/v1/stats"
        );
        assert_eq!(u64_at(o, "/total/streams"), streams, "{what}: dashboard");
        assert_eq!(u64_at(&api, "/distinct_artists"), artist_count, "{what}");
        assert_eq!(u64_at(o, "/artists"), artist_count, "{what}");
        assert_eq!(u64_at(&api, "/days_listened"), days.len() as u64, "{what}");
        assert_eq!(u64_at(o, "/days_listened"), days.len() as u64, "{what}");
        assert_eq!(api["total"], o["total"], "{what}: the same totals");
        assert_eq!(api["distinct_tracks"], o["tracks"], "{what}");
        // Listening time: a stream that started before the first day keeps its whole time in
        // the totals (it ended in the range); the stats API sums the same cells.
        assert_eq!(u64_at(o, "/total/ms_played"), ms, "{what}");
    }
}

/// The part of a page between `<main` and `</main>`: what the page shows, without the
/// per-request navigation and its masked CSRF tokens.
fn main_of(html: &str) -> &str {
    let start = html.find("<main").expect("a <main>");
    let end = html.rfind("</main>").expect("a </main>");
    &html[start..end]
}

both_engines!(the_default_dashboard_is_finished_the_moment_the_upload_is_ready);

/// The worker stores the default dashboard and its JSON twin in the transaction that marks the
/// upload ready: whoever sees the upload ready finds them, for the data version it has, and
/// another instance serves them without preparing anything. Watched from beside the worker,
/// polling the upload's row while it ingests.
async fn the_default_dashboard_is_finished_the_moment_the_upload_is_ready(engine: Engine) {
    let g = gen_history(3_000, 11, &[]);
    let app = WebApp::new(engine).await;
    let mut c = app.client();
    c.sign_up("moment@example.com").await;
    let r = c.upload("my_spotify_data.zip", &g.zip()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = storage::ids::UploadId::stored(r.json()["upload"]["id"].as_str().unwrap());
    let db = app.pipeline.db().clone();
    let watcher = tokio::spawn(async move {
        loop {
            let u = storage::uploads::by_id(&db, &id).await.unwrap().unwrap();
            if u.state == storage::uploads::State::Ready {
                let user = storage::users::by_id(&db, &u.owner_id)
                    .await
                    .unwrap()
                    .unwrap();
                let mut found = Vec::new();
                for name in ["/dashboard", "/api/v1/dashboard"] {
                    let key = web::dashboards::finished::view_key(name, None);
                    found.push(
                        storage::views::get(&db, &user, &key)
                            .await
                            .unwrap()
                            .is_some(),
                    );
                }
                return found;
            }
            assert_ne!(u.state, storage::uploads::State::Failed, "{:?}", u.reason);
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    });
    app.work().await;
    assert_eq!(
        watcher.await.unwrap(),
        vec![true, true],
        "the page and its JSON twin are there when the upload is seen ready"
    );
    let (state, router) = app.another_instance();
    let mut there = c.to(router);
    let page = there.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Top artists"), "{}", page.body);
    assert_eq!(state.dash().bytes(), 0, "served finished, nothing prepared");
}

both_engines!(an_uploads_summary_is_inspects_whether_read_off_the_first_dashboard_or_built_alone);

/// A first upload's summary is read off the stats its first dashboard built (the same plays);
/// a second upload's is built from its own plays. Either is what `backspin inspect` prints for
/// the same file (`Summary::tally`), number for number.
async fn an_uploads_summary_is_inspects_whether_read_off_the_first_dashboard_or_built_alone(
    engine: Engine,
) {
    let app = WebApp::new(engine).await;
    let mut c = app.client();
    c.sign_up("summary@example.com").await;
    for seed in [21, 22] {
        let zip = gen_history(2_000, seed, &[]).zip();
        let id = ready_upload(&app, &mut c, "my_spotify_data.zip", &zip).await;
        let stored: Value = serde_json::from_str(
            &app.pipeline
                .upload(&id)
                .await
                .unwrap()
                .summary
                .expect("a summary"),
        )
        .unwrap();
        let mut lib = schema::load(
            &["my_spotify_data.zip".to_string()],
            |_| Ok(std::io::Cursor::new(zip.as_slice())),
            &schema::Limits::default(),
        );
        let report = schema::dedupe(&mut lib.plays);
        let inspect = serde_json::to_value(schema::Summary::tally(
            &lib,
            &report,
            schema::Settings::default(),
        ))
        .unwrap();
        assert_eq!(stored, inspect, "upload of seed {seed}");
    }
}

both_engines!(another_instance_serves_the_first_default_views_the_worker_finished);

/// Once the worker has ingested an upload, the default dashboard, its JSON twin and the
/// default ranking are stored finished: a web instance that has never seen the user serves
/// them without preparing the user's plays (its cache stays empty), and they are what the
/// pages compute. A settings change makes them count no more until the worker's next
/// change, and the pages compute again under the new settings.
async fn another_instance_serves_the_first_default_views_the_worker_finished(engine: Engine) {
    let g = gen_history(3_000, 5, &[]);
    let app = WebApp::new(engine).await;
    let mut c = app.client();
    c.sign_up("views@example.com").await;
    ready_upload(&app, &mut c, "my_spotify_data.zip", &g.zip()).await;
    let user = storage::users::by_email(app.pipeline.db(), "views@example.com")
        .await
        .unwrap()
        .unwrap();
    for name in ["/dashboard", "/api/v1/dashboard", "/dashboard/ranking"] {
        assert!(
            storage::views::get(
                app.pipeline.db(),
                &user,
                &web::dashboards::finished::view_key(name, None)
            )
            .await
            .unwrap()
            .is_some(),
            "{name} stored"
        );
    }

    // A second instance: the finished views, nothing prepared.
    let (state, router) = app.another_instance();
    let mut there = c.to(router);
    let stored_page = there.get("/dashboard").await;
    assert_eq!(stored_page.status, StatusCode::OK);
    let stored_json = get_json(&mut there, "/api/v1/dashboard").await;
    let stored_ranking = there.get("/dashboard/ranking").await;
    assert_eq!(stored_ranking.status, StatusCode::OK);
    // The recap of every year and the top artists' pages, however the address is encoded.
    let year = stored_json["meta"]["years"][0].as_i64().unwrap();
    let recap = there.get(&format!("/dashboard/recap/{year}")).await;
    assert_eq!(recap.status, StatusCode::OK);
    let top = stored_json["tops"]["artists"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let artist = there
        .get(&format!(
            "/dashboard/artist?name={}",
            enc(&top).replace('+', "%20")
        ))
        .await;
    assert_eq!(artist.status, StatusCode::OK);
    assert!(artist.body.contains(&top));
    // The range presets the dashboard offers.
    let four_weeks = there.get("/dashboard?range=4w").await;
    assert!(
        four_weeks
            .body
            .contains("href=\"/dashboard?range=4w\" aria-current=\"true\"")
    );
    assert_eq!(state.dash().bytes(), 0, "nothing was prepared");

    // The same views computed by a third instance without them.
    app.pipeline.execute("DELETE FROM views").await;
    let (state, router) = app.another_instance();
    let mut third = c.to(router);
    let page = third.get("/dashboard").await;
    assert!(state.dash().bytes() > 0, "computed this time");
    assert_eq!(main_of(&stored_page.body), main_of(&page.body));
    assert_eq!(stored_json, get_json(&mut third, "/api/v1/dashboard").await);
    let ranking = third.get("/dashboard/ranking").await;
    assert_eq!(main_of(&stored_ranking.body), main_of(&ranking.body));
    let computed = third.get("/dashboard?range=4w").await;
    assert_eq!(main_of(&four_weeks.body), main_of(&computed.body));
    let computed = third.get(&format!("/dashboard/recap/{year}")).await;
    assert_eq!(main_of(&recap.body), main_of(&computed.body));
    let computed = third
        .get(&format!("/dashboard/artist?name={}", enc(&top)))
        .await;
    assert_eq!(main_of(&artist.body), main_of(&computed.body));
    assert!(stored_page.body.contains("Top artists"));

    // Views of the old settings no longer count.
    settings(&mut c, "Asia/Tokyo", 30).await;
    let (_, router) = app.another_instance();
    let mut fourth = c.to(router);
    let b = get_json(&mut fourth, "/api/v1/dashboard").await;
    assert_eq!(b["meta"]["tz"], "Asia/Tokyo");
    // And stored again under them, in the background.
    let user = storage::users::by_email(app.pipeline.db(), "views@example.com")
        .await
        .unwrap()
        .unwrap();
    e2e::eventually(
        std::time::Duration::from_secs(30),
        "the views stored under the new settings",
        || {
            let (db, user) = (app.pipeline.db().clone(), user.clone());
            async move {
                storage::views::get(
                    &db,
                    &user,
                    &web::dashboards::finished::view_key("/api/v1/dashboard", None),
                )
                .await
                .unwrap()
            }
        },
    )
    .await;
    let (state, router) = app.another_instance();
    let mut fifth = c.to(router);
    assert_eq!(get_json(&mut fifth, "/api/v1/dashboard").await, b);
    assert_eq!(state.dash().bytes(), 0, "served finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapters_and_moments_find_eras_sittings_trips_this_day_and_milestones() {
    let mut records = Vec::new();
    // Eras: three months of one artist, then three of another (May's plays after the trip).
    for (month, artist, title, days) in [
        (1, "Alpha Era", "Alpha Song", 1..=10),
        (2, "Alpha Era", "Alpha Song", 1..=10),
        (3, "Alpha Era", "Alpha Song", 1..=10),
        (4, "Beta Era", "Beta Song", 1..=10),
        (5, "Beta Era", "Beta Song", 11..=20),
        (6, "Beta Era", "Beta Song", 1..=10),
    ] {
        for d in days {
            records.push(track(
                &format!("2023-{month:02}-{d:02}T08:03:00Z"),
                180_000,
                artist,
                title,
            ));
        }
    }
    // An album sat through: five of its tracks back to back on 10 February 2023.
    for i in 0..5 {
        records.push(track(
            &format!("2023-02-10T10:{:02}:00Z", 3 + 3 * i),
            180_000,
            "Sitter",
            &format!("Part {}", i + 1),
        ));
    }
    // A stream under the play threshold the same day.
    records.push(track(
        "2023-02-10T12:00:00Z",
        10_000,
        "Alpha Era",
        "Short Blip",
    ));
    // Three days in Portugal, six streams.
    for i in 0..6 {
        let mut r = track(
            &format!("2023-05-0{}T{}:03:00Z", 1 + i / 2, 12 + i),
            180_000,
            "Beta Era",
            "Lisbon Song",
        );
        r["conn_country"] = json!("PT");
        records.push(r);
    }
    // One stream a year later, at 02:00 UTC on 10 February (the evening before in New York).
    records.push(track(
        "2024-02-10T02:00:00Z",
        240_000,
        "Gamma Late",
        "Late Song",
    ));
    let (_app, mut c, _) = with_history("stories@example.com", &records).await;

    let ch = get_json(&mut c, "/api/v1/dashboard/chapters").await;
    let eras: Vec<(String, String, Vec<String>)> = ch["eras"]["chapters"]
        .as_array()
        .expect("chapters")
        .iter()
        .map(|e| {
            (
                e["from"].as_str().expect("from").to_string(),
                e["to"].as_str().expect("to").to_string(),
                e["defining"]
                    .as_array()
                    .expect("defining")
                    .iter()
                    .map(|a| a["name"].as_str().expect("name").to_string())
                    .collect(),
            )
        })
        .collect();
    let owned = |a: &str, b: &str, names: &[&str]| {
        (
            a.to_string(),
            b.to_string(),
            names.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        eras,
        vec![
            owned("2023-01", "2023-03", &["Alpha Era", "Sitter"]),
            owned("2023-04", "2023-06", &["Beta Era"]),
            owned("2024-02", "2024-02", &["Gamma Late"]),
        ]
    );
    // The first chapter's time: 30 plays of 3 minutes, the sitting, the short stream.
    assert_eq!(
        ch["eras"]["chapters"][0]["ms_played"],
        json!(35 * 180_000 + 10_000)
    );
    assert_eq!(ch["sittings"]["sittings"], json!(1));
    assert_eq!(
        ch["sittings"]["latest"],
        json!([{"album": "Sitter album", "artist": "Sitter", "day": "2023-02-10", "tracks": 5, "ms_played": 900_000}])
    );

    let mo = get_json(&mut c, "/api/v1/dashboard/moments?on=02-10").await;
    let years: Vec<(i64, u64, u64, u64)> = mo["on_this_day"]["years"]
        .as_array()
        .expect("years")
        .iter()
        .map(|y| {
            (
                y["year"].as_i64().expect("year"),
                u64_at(y, "/streams"),
                u64_at(y, "/plays"),
                u64_at(y, "/ms_played"),
            )
        })
        .collect();
    assert_eq!(
        years,
        vec![(2024, 1, 1, 240_000), (2023, 7, 6, 6 * 180_000 + 10_000)]
    );
    assert_eq!(mo["trips"]["home"], json!("DE"));
    assert_eq!(mo["trips"]["total"], json!(1));
    let trip = &mo["trips"]["trips"][0];
    assert_eq!(
        (
            &trip["country"],
            &trip["from"],
            &trip["to"],
            &trip["days"],
            &trip["plays"]
        ),
        (
            &json!("PT"),
            &json!("2023-05-01"),
            &json!("2023-05-03"),
            &json!(3),
            &json!(6)
        )
    );
    assert_eq!(trip["tracks"][0]["name"], json!("Lisbon Song"));
    let miles = &mo["milestones"];
    assert_eq!(miles["plays"], json!(72));
    assert_eq!(
        miles["marks"],
        json!([{"play": 1, "day": "2023-01-01", "title": "Alpha Song", "by": "Alpha Era"}])
    );
    assert_eq!(
        (
            &miles["top_artist"]["artist"],
            &miles["top_artist"]["day"],
            &miles["top_artist"]["track"]
        ),
        (
            &json!("Beta Era"),
            &json!("2023-04-01"),
            &json!("Beta Song")
        )
    );

    // The range: 2024 holds one chapter, no first play, and its 10 February only.
    let y2024 = get_json(&mut c, "/api/v1/dashboard/moments?on=2019-02-10&range=2024").await;
    assert_eq!(y2024["milestones"]["marks"], json!([]));
    assert_eq!(
        y2024["on_this_day"]["years"].as_array().map(Vec::len),
        Some(1)
    );
    let ch2024 = get_json(&mut c, "/api/v1/dashboard/chapters?range=2024").await;
    assert_eq!(ch2024["eras"]["chapters"].as_array().map(Vec::len), Some(1));

    // The time zone: in New York the 2024 stream was on 9 February.
    settings(&mut c, "America/New_York", 30).await;
    let ny = get_json(&mut c, "/api/v1/dashboard/moments?on=02-10").await;
    let ny_years: Vec<i64> = ny["on_this_day"]["years"]
        .as_array()
        .expect("years")
        .iter()
        .map(|y| y["year"].as_i64().expect("year"))
        .collect();
    assert_eq!(ny_years, vec![2023]);

    // The pages show it, every name a link, linked from the dashboard.
    let board = c.get("/dashboard").await.body;
    assert!(
        board.contains("href=\"/dashboard/chapters\"")
            && board.contains("href=\"/dashboard/moments\"")
    );
    let page = c.get("/dashboard/chapters").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sitter album"), "{}", page.body);
    assert!(page.body.contains(&format!(
        "href=\"/dashboard/artist?name={}\"",
        enc("Alpha Era")
    )));
    let page = c.get("/dashboard/moments?on=2023-05-02").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Portugal") && page.body.contains("On 2 May"),
        "{}",
        page.body
    );
    let r = c.get("/api/v1/dashboard/moments?on=13-01").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(api_message(&r).contains("“on”"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_artists_shows_and_tracks_leave_every_view_at_once_and_come_back() {
    let mut records = Vec::new();
    for d in 1..=4 {
        records.push(track(
            &format!("2024-04-0{d}T10:00:00Z"),
            180_000,
            "Ada",
            "Song A",
        ));
    }
    for d in 1..=2 {
        records.push(track(
            &format!("2024-04-0{d}T11:00:00Z"),
            180_000,
            "Ada",
            "Song B",
        ));
    }
    for d in 1..=5 {
        records.push(track(
            &format!("2024-04-0{d}T19:00:00Z"),
            180_000,
            "Kids Choir",
            "Lullaby",
        ));
    }
    for d in 1..=2 {
        records.push(episode(
            &format!("2024-04-0{d}T23:00:00Z"),
            600_000,
            "Sleep Sounds",
            "Rain",
        ));
    }
    let (_app, mut c, _) = with_history("hiding@example.com", &records).await;
    let totals = |b: &Value| {
        (
            u64_at(b, "/overview/total/ms_played"),
            u64_at(b, "/overview/total/plays"),
        )
    };
    let all = get_json(&mut c, "/api/v1/dashboard").await;
    assert_eq!(totals(&all), (11 * 180_000 + 2 * 600_000, 13));

    // Hide the choir, the rain and one of Ada's tracks.
    let hide = json!({"hidden": [
        {"kind": "artist", "name": "Kids Choir"},
        {"kind": "show", "name": "Sleep Sounds"},
        {"kind": "track", "name": "Song B", "by": "Ada"},
    ]});
    let r = c.json(Method::PUT, "/api/v1/settings/hidden", &hide).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["hidden"].as_array().map(Vec::len), Some(3));
    let b = get_json(&mut c, "/api/v1/dashboard").await;
    assert_eq!(totals(&b), (4 * 180_000, 4), "only Ada's Song A is left");
    assert_eq!(b["overview"]["artists"], json!(1));
    let stats = get_json(&mut c, "/api/v1/stats").await;
    assert_eq!(u64_at(&stats, "/total/ms_played"), 4 * 180_000, "{stats}");
    let recap = get_json(&mut c, "/api/v1/dashboard/recap/2024").await;
    let names: Vec<&str> = recap["top_artists"]
        .as_array()
        .expect("top artists")
        .iter()
        .map(|a| a["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, vec!["Ada"]);
    let page = c.get("/dashboard").await.body;
    assert!(
        !page.contains("Kids Choir") && !page.contains("Sleep Sounds") && !page.contains("Song B")
    );
    let settings = c.get("/settings").await.body;
    assert!(
        settings.contains("Kids Choir")
            && settings.contains("Sleep Sounds")
            && settings.contains("Song B")
    );
    // The export keeps every play: nothing was deleted.
    let export = c.get("/account/export.json").await.json();
    assert_eq!(export.as_array().map(Vec::len), Some(13));

    // Refused, with the reason, and nothing changes.
    for (bad, says) in [
        (
            json!({"hidden": [{"kind": "track", "name": "Song A"}]}),
            "“by”",
        ),
        (
            json!({"hidden": [{"kind": "artist", "name": "Ada", "by": "Ada"}]}),
            "Only a track",
        ),
        (
            json!({"hidden": [{"kind": "artist", "name": "  "}]}),
            "Give the name",
        ),
    ] {
        let r = c.json(Method::PUT, "/api/v1/settings/hidden", &bad).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        assert!(api_message(&r).contains(says), "{}", api_message(&r));
    }
    for wrong in [
        json!({"hidden": [{"kind": "album", "name": "X"}]}),
        json!({"hidden": [{"kind": "show", "name": "X", "by": null}]}),
    ] {
        let r = c.json(Method::PUT, "/api/v1/settings/hidden", &wrong).await;
        assert!(r.status.is_client_error(), "{wrong}: {}", r.body);
    }
    assert_eq!(
        get_json(&mut c, "/api/v1/settings/hidden").await["hidden"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );

    // Shown again from the settings page: the choir is back at once.
    let r = c
        .post_form(
            "/settings/hidden/remove",
            &[("kind", "artist"), ("name", "Kids Choir"), ("by", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let b = get_json(&mut c, "/api/v1/dashboard").await;
    assert_eq!(totals(&b), (9 * 180_000, 9));
    // The artist page offers to hide the artist; the form comes filled in.
    let artist = c
        .get(&format!("/dashboard/artist?name={}", enc("Kids Choir")))
        .await
        .body;
    assert!(
        artist.contains("Hide this artist from every view"),
        "{artist}"
    );
    let form = c
        .get(&format!("/settings?hide=artist&name={}", enc("Kids Choir")))
        .await
        .body;
    assert!(form.contains("value=\"Kids Choir\""), "{form}");
    let r = c
        .post_form(
            "/settings/hidden",
            &[("kind", "artist"), ("name", "Kids Choir")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        totals(&get_json(&mut c, "/api/v1/dashboard").await),
        (4 * 180_000, 4)
    );
    // Showing what is not hidden is "not found".
    let r = c
        .post_form(
            "/settings/hidden/remove",
            &[("kind", "artist"), ("name", "Nobody")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// A zip of `files` whose entries are dated `(year, month, day)`, as Spotify's export is.
fn dated_zip(files: &[(&str, Vec<u8>)], (y, m, d): (u16, u8, u8)) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .last_modified_time(zip::DateTime::from_date_and_time(y, m, d, 9, 30, 0).expect("a date"));
    for (name, bytes) in files {
        zip.start_file(*name, options).expect("entry");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("zip").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_ledger_accounts_for_every_record_of_every_upload() {
    // The first upload: a plain extended-history file of eight records.
    let mut skipped = track("2024-04-02T10:00:00Z", 180_000, "Ada", "Two");
    skipped["skipped"] = json!(true);
    let mut private = track("2024-04-04T10:00:00Z", 180_000, "Ada", "Four");
    private["incognito_mode"] = json!(true);
    let three = track("2024-04-03T10:00:00Z", 180_000, "Ada", "Three");
    let one = track("2024-04-01T10:00:00Z", 180_000, "Ada", "One");
    let mut bad = track("2024-04-01T11:00:00Z", 180_000, "Ada", "Bad");
    bad["ts"] = json!("not a time");
    let first = vec![
        one.clone(),
        one.clone(), // repeated within the upload
        skipped,
        three.clone(),
        track("2024-04-03T11:00:00Z", 10_000, "Ada", "Blip"), // under the threshold
        episode("2024-04-02T20:00:00Z", 600_000, "Talk", "Ep 1"),
        private.clone(),
        bad,
    ];
    let (app, mut c, a) = with_history("ledger@example.com", &first).await;

    // The second: an export zip dated 15 April, holding two of the same streams, a new one,
    // and account data: a row its own extended history covers (5 April, inside 3–10 April) and
    // one the first upload's covers (2 April).
    let second_ext = vec![
        three,
        private,
        track("2024-04-10T10:00:00Z", 180_000, "Bo", "Ten"),
    ];
    let account = json!([
        {"endTime": "2024-04-02 12:00", "artistName": "Cy", "trackName": "Old", "msPlayed": 200_000},
        {"endTime": "2024-04-05 12:00", "artistName": "Cy", "trackName": "Mid", "msPlayed": 200_000},
    ]);
    let zip = dated_zip(
        &[
            (
                "Spotify Extended Streaming History/Streaming_History_Audio_2024.json",
                history(&second_ext),
            ),
            (
                "Spotify Account Data/StreamingHistory_music_0.json",
                serde_json::to_vec(&account).expect("JSON"),
            ),
        ],
        (2024, 4, 15),
    );
    let b = ready_upload(&app, &mut c, "my_spotify_data.zip", &zip).await;

    let l = get_json(&mut c, "/api/v1/dashboard/ledger").await;
    let ups = l["uploads"].as_array().expect("uploads");
    assert_eq!(ups.len(), 2);
    let (la, lb) = (&ups[0], &ups[1]);
    assert_eq!(
        (la["upload"].as_str(), lb["upload"].as_str()),
        (Some(a.as_str()), Some(b.as_str()))
    );
    let n = |v: &Value, p: &str| u64_at(v, p);
    // Every record accounted for: refused, repeated, covered, kept.
    for u in [la, lb] {
        assert_eq!(
            n(u, "/records"),
            n(u, "/unreadable")
                + n(u, "/repeated")
                + n(u, "/covered_by_own_extended")
                + n(u, "/kept"),
            "{u}"
        );
        let s = &u["streams"];
        assert_eq!(
            n(s, "/streams"),
            n(u, "/kept"),
            "the artifact holds what the upload kept"
        );
        assert_eq!(
            n(s, "/streams"),
            n(s, "/music_plays")
                + n(s, "/podcast_plays")
                + n(s, "/audiobook_plays")
                + n(s, "/short")
                + n(s, "/without_metadata")
        );
    }
    assert_eq!(
        [
            n(la, "/records"),
            n(la, "/unreadable"),
            n(la, "/repeated"),
            n(la, "/covered_by_own_extended"),
            n(la, "/kept")
        ],
        [8, 1, 1, 0, 6]
    );
    assert!(
        la["unreadable_reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains("Streaming_History_Audio_2024.json")),
        "{la}"
    );
    let sa = &la["streams"];
    assert_eq!(
        [
            n(sa, "/music_plays"),
            n(sa, "/podcast_plays"),
            n(sa, "/short"),
            n(sa, "/skipped"),
            n(sa, "/incognito")
        ],
        [4, 1, 1, 1, 1]
    );
    assert_eq!(
        [
            n(sa, "/new_streams"),
            n(sa, "/known_streams"),
            n(sa, "/days"),
            n(sa, "/new_days")
        ],
        [6, 0, 4, 4]
    );
    assert_eq!(sa["also_in"], json!([{"upload": b, "streams": 2}]));
    assert_eq!(
        la["exported"],
        Value::Null,
        "a plain file has no export date"
    );

    assert_eq!(
        [
            n(lb, "/records"),
            n(lb, "/unreadable"),
            n(lb, "/repeated"),
            n(lb, "/covered_by_own_extended"),
            n(lb, "/kept")
        ],
        [5, 0, 0, 1, 4]
    );
    let sb = &lb["streams"];
    assert_eq!(
        [
            n(sb, "/new_streams"),
            n(sb, "/known_streams"),
            n(sb, "/days"),
            n(sb, "/new_days")
        ],
        [2, 2, 4, 1]
    );
    assert_eq!(sb["also_in"], json!([{"upload": a, "streams": 2}]));
    assert_eq!(sb["covered_by"], json!([{"upload": a, "streams": 1}]));
    assert_eq!(
        (&lb["exported"], &lb["last_stream_day"], &lb["gap_days"]),
        (&json!("2024-04-15"), &json!("2024-04-10"), &json!(5))
    );

    // The page says it in words, linked from the dashboard.
    assert!(
        c.get("/dashboard")
            .await
            .body
            .contains("href=\"/dashboard/ledger\"")
    );
    let page = c.get("/dashboard/ledger").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("Spotify left out 5 days before the export"),
        "{}",
        page.body
    );
    assert!(page.body.contains("1 new day"), "{}", page.body);
}

both_engines!(a_range_is_read_from_its_days_of_the_artifact_and_knows_what_came_before);
/// A web instance that does not hold a user's selection answers a range's dashboard from the
/// artifact's segments of those days only (the whole selection is not prepared), and the
/// answer is the whole selection's: an artist heard before the range is not new in it, the
/// history's first and last day are the whole history's.
async fn a_range_is_read_from_its_days_of_the_artifact_and_knows_what_came_before(engine: Engine) {
    let shared = track("2024-03-10T22:30:00Z", 240_000, "Fresh Face", "Debut");
    let a_records = [
        track("2023-11-20T10:00:00Z", 200_000, "Known Before", "Old Song"),
        track("2024-03-02T10:00:00Z", 180_000, "Known Before", "Old Song"),
        track("2024-03-03T10:00:00Z", 150_000, "Known Before", "New Song"),
        shared.clone(),
        track("2024-06-01T10:00:00Z", 100_000, "Later Only", "After"),
    ];
    let b_records = [
        shared,
        track("2024-03-20T08:00:00Z", 120_000, "Fresh Face", "Second"),
    ];
    let (app, mut c, mut ids, _) =
        with_uploads(engine, "window@example.com", &[&a_records, &b_records]).await;
    ids.sort();
    // Another instance: nothing of this user in its memory.
    app.pipeline
        .execute("UPDATE users SET stats_version = stats_version + 1")
        .await;
    let user = storage::users::by_email(app.pipeline.db(), "window@example.com")
        .await
        .unwrap()
        .unwrap();
    let range = "from=2024-03-01&to=2024-03-31";
    let part = get_json(&mut c, &format!("/api/v1/dashboard?{range}")).await;
    assert!(
        !app.state.dash().holds(&user, &ids),
        "the range was read without preparing the whole selection"
    );
    let d = &part["discoveries"];
    assert_eq!(d["new_artists"], 1, "Fresh Face only: {d}");
    assert_eq!(d["new_tracks"], 3, "New Song, Debut, Second: {d}");
    assert_eq!(
        part["overview"]["total"]["streams"], 4,
        "the shared stream once"
    );
    assert_eq!(part["meta"]["history_first_day"], "2023-11-20");
    assert_eq!(part["meta"]["history_last_day"], "2024-06-01");
    assert_eq!(part["meta"]["years"], json!([2023, 2024]));
    let page = c.get(&format!("/dashboard?{range}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Fresh Face"),
        "the new artist is on the page"
    );

    // The same range once the whole selection is in memory (a ranking of it prepares it).
    let ranking = c.get(&format!("/api/v1/dashboard/ranking?{range}")).await;
    assert_eq!(ranking.status, StatusCode::OK, "{}", ranking.body);
    assert!(
        app.state.dash().holds(&user, &ids),
        "the whole selection is prepared"
    );
    let whole = get_json(&mut c, &format!("/api/v1/dashboard?{range}")).await;
    assert_eq!(part, whole);
}

both_engines!(a_range_reads_from_the_database_only_the_bytes_of_its_days);
/// A range of a long history is prepared from the bytes of its days only: the database is
/// asked for the artifact's header, then for the segments of those days and the names they
/// use, a fraction of the artifact, and the dashboard is the one the whole selection gives.
async fn a_range_reads_from_the_database_only_the_bytes_of_its_days(engine: Engine) {
    use std::sync::atomic::Ordering::Relaxed;
    // Three years, a stream every two hours, new songs and artists all along: four segments
    // of the artifact.
    let start = chrono::DateTime::parse_from_rfc3339("2022-01-01T00:00:00Z").unwrap();
    let records: Vec<Value> = (0..13_140i64)
        .map(|i| {
            let at = start + chrono::Duration::hours(2 * i);
            track(
                &at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                200_000,
                &format!("Artist {}", i / 50),
                &format!("Song {}", i / 4),
            )
        })
        .collect();
    let (app, mut c, ids, user) = with_uploads(engine, "long@example.com", &[&records]).await;
    // The whole selection the upload's page prepares in the background once it is ready is
    // counted before the range is asked for.
    let m = app.state.metrics();
    for _ in 0..400 {
        if m.prepared_whole.load(Relaxed) > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    // Another instance: nothing of this user in its memory.
    app.pipeline
        .execute("UPDATE users SET stats_version = stats_version + 1")
        .await;
    let stored = storage::plays::artifact_for_user(app.pipeline.db(), &user.id)
        .await
        .unwrap()
        .unwrap();
    let (read_before, windows_before, whole_before) = (
        m.artifact_bytes_read.load(Relaxed),
        m.prepared_windows.load(Relaxed),
        m.prepared_whole.load(Relaxed),
    );
    let range = "from=2022-02-01&to=2022-02-28";
    let part = get_json(&mut c, &format!("/api/v1/dashboard?{range}")).await;
    let read = m.artifact_bytes_read.load(Relaxed) - read_before;
    assert_eq!(m.prepared_windows.load(Relaxed), windows_before + 1);
    assert_eq!(
        m.prepared_whole.load(Relaxed),
        whole_before,
        "nothing read whole"
    );
    assert!(
        read > 0 && read * 3 < stored.bytes.len() as u64,
        "{read} bytes read of an artifact of {}",
        stored.bytes.len()
    );
    // February 2022: 28 days of 12 streams.
    assert_eq!(part["overview"]["total"]["streams"], 28 * 12);
    assert_eq!(part["meta"]["history_first_day"], "2022-01-01");
    let user = storage::users::by_email(app.pipeline.db(), "long@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(!app.state.dash().holds(&user, &ids));
    // The same answer once the whole selection is in memory.
    let ranking = c.get(&format!("/api/v1/dashboard/ranking?{range}")).await;
    assert_eq!(ranking.status, StatusCode::OK, "{}", ranking.body);
    assert!(app.state.dash().holds(&user, &ids));
    assert_eq!(
        part,
        get_json(&mut c, &format!("/api/v1/dashboard?{range}")).await
    );
}

both_engines!(artifacts_of_the_format_before_are_written_again_at_start_with_the_same_numbers);
/// An artifact a build before format 2 wrote (one deflated body, no segments) is still read,
/// and every process's start writes it again in the current format, keeping its version: the
/// dashboards show the same, and a range is then read from its days only.
async fn artifacts_of_the_format_before_are_written_again_at_start_with_the_same_numbers(
    engine: Engine,
) {
    let records = [
        track("2024-04-01T10:00:00Z", 200_000, "Zed Overlap", "One"),
        track("2024-04-02T10:00:00Z", 210_000, "Zed Overlap", "Two"),
        track("2024-04-20T10:00:00Z", 20_000, "Other Artist", "Short"),
    ];
    let (app, mut c, ids, _) = with_uploads(engine, "format1@example.com", &[&records]).await;
    let all = shown(&get_json(&mut c, "/api/v1/dashboard").await);
    let range = "/api/v1/dashboard?from=2024-04-02&to=2024-04-30";
    let april = get_json(&mut c, range).await;
    assert_eq!(april["discoveries"]["new_artists"], 1, "Other Artist");
    let db = app.pipeline.db();
    let user = storage::users::by_email(db, "format1@example.com")
        .await
        .unwrap()
        .unwrap();
    let stored = storage::plays::artifact_for_user(db, &user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.format, i16::from(schema::artifact::FORMAT));
    let artifact = schema::Artifact::decode(&stored.bytes).unwrap();
    let mut tx = db.begin().await.unwrap();
    storage::plays::reencode_artifact(&mut tx, &user.id, 1, &schema::artifact::encode_1(&artifact))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Another instance, before the rewrite: format 1 is read whole.
    app.pipeline
        .execute("UPDATE users SET stats_version = stats_version + 1")
        .await;
    assert_eq!(get_json(&mut c, range).await, april);
    assert_eq!(shown(&get_json(&mut c, "/api/v1/dashboard").await), all);

    // A start: written again, once, in format 2, with the same version and streams.
    ingest_worker::artifact::migrate(db).await.unwrap();
    let again = storage::plays::artifact_for_user(db, &user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.format, i16::from(schema::artifact::FORMAT));
    assert_eq!(
        (again.version, again.streams),
        (stored.version, stored.streams)
    );
    let back = schema::Artifact::decode(&again.bytes).unwrap();
    assert_eq!(back.plays, artifact.plays);
    assert_eq!(
        ingest_worker::artifact::reencode_all(db).await.unwrap(),
        0,
        "once"
    );
    app.pipeline
        .execute("UPDATE users SET stats_version = stats_version + 1")
        .await;
    let user = storage::users::by_email(db, "format1@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(get_json(&mut c, range).await, april);
    let mut ids = ids;
    ids.sort();
    assert!(
        !app.state.dash().holds(&user, &ids),
        "the range was read from its days only"
    );
    assert_eq!(shown(&get_json(&mut c, "/api/v1/dashboard").await), all);
}
