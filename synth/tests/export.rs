//! The files of a synthetic export look like Spotify's: names, sizes, keys, printing,
//! platform eras, timestamp units, addresses, account data. (That an ingestion of them gives
//! the facts is tested in `backspin/tests/generate.rs`, against the real parser.)

use std::collections::HashSet;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use synth::{Export, Generation, Options};

/// A record with its keys in file order (serde_json's own map may sort them).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Row(Vec<(String, Value)>);

impl Row {
    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }
}

impl std::ops::Index<&str> for Row {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap_or(&Value::Null)
    }
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Row, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Row;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Row, A::Error> {
                let mut v = Vec::new();
                while let Some(entry) = m.next_entry()? {
                    v.push(entry);
                }
                Ok(Row(v))
            }
        }
        d.deserialize_map(Entries)
    }
}

fn rows(bytes: &[u8]) -> Vec<Row> {
    serde_json::from_slice(bytes).expect("a JSON array of objects")
}

fn audio(export: &Export) -> impl Iterator<Item = (&str, &[u8])> {
    export
        .files
        .iter()
        .filter(|(p, _)| p.contains("Streaming_History_Audio_") || p.contains("/endsong_"))
        .map(|(p, b)| (p.as_str(), b.as_slice()))
}

fn small(generation: Generation) -> Options {
    Options {
        plays: 3_000,
        generation,
        max_file_bytes: 300_000,
        account_data: true,
        ..Options::default()
    }
}

#[test]
fn audio_files_stay_under_the_size_limit_and_are_named_as_their_generation_names_them() {
    for g in Generation::ALL {
        let o = small(g);
        let export = synth::generate(&o);
        let files: Vec<(&str, &[u8])> = audio(&export).collect();
        assert!(files.len() >= 3, "{g}: {} files", files.len());
        for (n, (path, bytes)) in files.iter().enumerate() {
            assert!(
                bytes.len() <= o.max_file_bytes,
                "{path}: {} bytes",
                bytes.len()
            );
            let rows = rows(bytes);
            let year = |r: &Row| r["ts"].as_str().unwrap()[..4].to_string();
            let (first, last) = (year(&rows[0]), year(&rows[rows.len() - 1]));
            let years = if first == last {
                first
            } else {
                format!("{first}-{last}")
            };
            let expected = match g {
                Generation::G1 => format!("MyData/endsong_{n}.json"),
                _ => format!(
                    "Spotify Extended Streaming History/Streaming_History_Audio_{years}_{n}.json"
                ),
            };
            assert_eq!(*path, expected);
        }
        let records: usize = files.iter().map(|(_, b)| rows(b).len()).sum();
        assert_eq!(records, export.facts.records, "{g}");
        assert_eq!(
            records, 3_001,
            "{g}: the streams asked for and 0.05 % duplicates"
        );
    }
}

#[test]
fn each_generation_has_its_keys_printing_and_timestamp_units() {
    let keys = |g| -> Vec<&str> {
        let g1 = vec![
            "ts",
            "username",
            "platform",
            "ms_played",
            "conn_country",
            "ip_addr_decrypted",
            "user_agent_decrypted",
            "master_metadata_track_name",
            "master_metadata_album_artist_name",
            "master_metadata_album_album_name",
            "episode_name",
            "episode_show_name",
            "reason_start",
            "reason_end",
            "shuffle",
            "skipped",
            "offline",
            "offline_timestamp",
            "incognito_mode",
            "city",
            "region",
            "metro_code",
            "longitude",
            "latitude",
        ];
        let g4 = vec![
            "ts",
            "platform",
            "ms_played",
            "conn_country",
            "ip_addr",
            "master_metadata_track_name",
            "master_metadata_album_artist_name",
            "master_metadata_album_album_name",
            "spotify_track_uri",
            "episode_name",
            "episode_show_name",
            "spotify_episode_uri",
            "reason_start",
            "reason_end",
            "shuffle",
            "skipped",
            "offline",
            "offline_timestamp",
            "incognito_mode",
        ];
        match g {
            Generation::G1 => g1,
            Generation::G3 => {
                let mut k = g1[..19].to_vec();
                k.insert(10, "spotify_track_uri");
                k.insert(13, "spotify_episode_uri");
                k
            }
            Generation::G4 => g4,
            Generation::G5 => {
                let mut k = g4;
                let at = k.iter().position(|&x| x == "reason_start").unwrap();
                k.splice(
                    at..at,
                    [
                        "audiobook_title",
                        "audiobook_uri",
                        "audiobook_chapter_uri",
                        "audiobook_chapter_title",
                    ],
                );
                k
            }
        }
    };
    for g in Generation::ALL {
        let export = synth::generate(&small(g));
        let old = matches!(g, Generation::G1 | Generation::G3);
        for (path, bytes) in audio(&export) {
            let head = if old {
                &b"[{\"ts\":\""[..]
            } else {
                &b"[\n  {\n    \"ts\": \""[..]
            };
            assert!(bytes.starts_with(head), "{g} {path} printing");
            for row in rows(bytes) {
                assert_eq!(row.keys(), keys(g), "{g} keys in order");
                let ts = row["ts"].as_str().unwrap();
                let offline_ts = row["offline_timestamp"].as_i64().unwrap();
                // offline_timestamp is roughly the start: within a few hours before the end.
                let end_s = parse_ts(ts);
                let start_s = if old { offline_ts / 1000 } else { offline_ts };
                assert!(
                    (end_s - 6 * 3600..=end_s).contains(&start_s),
                    "{g} {ts} vs {offline_ts}"
                );
            }
        }
    }
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ` (days from civil, Hinnant).
fn parse_ts(ts: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| ts[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

#[test]
fn platforms_are_verbose_before_october_2022_and_short_after() {
    let export = synth::generate(&Options {
        plays: 5_000,
        ..Options::default()
    });
    let short = [
        "android",
        "ios",
        "windows",
        "osx",
        "cast",
        "web_player",
        "playstation",
        "linux",
    ];
    let (mut before, mut after) = (HashSet::new(), HashSet::new());
    for (_, bytes) in audio(&export) {
        for row in rows(bytes) {
            let p = row["platform"].as_str().unwrap().to_string();
            if row["ts"].as_str().unwrap() < "2022-10-11" {
                before.insert(p)
            } else {
                after.insert(p)
            };
        }
    }
    assert!(
        before.iter().all(|p| !short.contains(&p.as_str())),
        "{before:?}"
    );
    assert!(
        after.iter().all(|p| short.contains(&p.as_str())),
        "{after:?}"
    );
    assert!(
        before.len() >= 5 && after.len() >= 5,
        "some variety: {before:?} {after:?}"
    );
}

#[test]
fn addresses_come_only_from_the_documentation_ranges() {
    let export = synth::generate(&small(Generation::G3));
    let mut v6 = 0;
    for (_, bytes) in audio(&export) {
        for row in rows(bytes) {
            let ip = row["ip_addr_decrypted"].as_str().unwrap();
            let addr: std::net::IpAddr = ip.parse().expect("a valid address");
            match addr {
                std::net::IpAddr::V4(a) => assert_eq!(a.octets()[..3], [192, 0, 2], "{ip}"),
                std::net::IpAddr::V6(a) => {
                    v6 += 1;
                    assert_eq!(a.segments()[..2], [0x2001, 0xdb8], "{ip}");
                }
            }
        }
    }
    assert!(v6 > 0, "IPv6 too");
}

#[test]
fn old_generations_leave_skipped_mostly_null_and_new_ones_always_say() {
    for (g, null_share) in [
        (Generation::G3, 0.85..0.95),
        (Generation::G5, 0.0..0.000_001),
    ] {
        let export = synth::generate(&small(g));
        let (mut null, mut all) = (0, 0);
        for (_, bytes) in audio(&export) {
            for row in rows(bytes) {
                all += 1;
                null += usize::from(row["skipped"].is_null());
            }
        }
        let share = null as f64 / all as f64;
        assert!(null_share.contains(&share), "{g}: {share}");
    }
}

#[test]
fn hostile_names_reach_the_files_intact_and_leave_the_streams_alone() {
    let plain = synth::generate(&Options {
        plays: 3_000,
        ..Options::default()
    });
    let nasty = synth::generate(&Options {
        plays: 3_000,
        nasty: true,
        ..Options::default()
    });
    let names = |export: &Export| -> HashSet<String> {
        audio(export)
            .flat_map(|(_, b)| rows(b))
            .flat_map(|r| {
                [
                    "master_metadata_track_name",
                    "master_metadata_album_artist_name",
                    "episode_show_name",
                ]
                .map(|k| r[k].as_str().map(String::from))
            })
            .flatten()
            .collect()
    };
    let (plain_names, nasty_names) = (names(&plain), names(&nasty));
    for hostile in [
        "NUL\u{0}byte",
        "<script>alert(\"xss\")</script>",
        "\u{202e}evil\u{202c}",
        &"x".repeat(600),
    ] {
        assert!(nasty_names.contains(hostile), "{hostile:?} in the names");
        assert!(
            !plain_names.contains(hostile),
            "{hostile:?} only when asked for"
        );
    }
    let (p, n) = (&plain.facts, &nasty.facts);
    assert_eq!(
        (p.records, p.total_ms_played, &p.ms_played_by_year),
        (n.records, n.total_ms_played, &n.ms_played_by_year)
    );
}

#[test]
fn every_generation_and_order_describes_the_same_streams() {
    let base = synth::generate(&small(Generation::G5)).facts;
    for g in Generation::ALL {
        for unsorted in [false, true] {
            let mut f = synth::generate(&Options {
                unsorted,
                ..small(g)
            })
            .facts;
            (f.files, f.bytes) = (base.files.clone(), base.bytes);
            assert_eq!(f, base, "{g}, unsorted {unsorted}");
        }
    }
}

#[test]
fn unsorted_exports_swap_neighbours_and_sorted_ones_do_not() {
    for unsorted in [false, true] {
        let export = synth::generate(&Options {
            plays: 3_000,
            unsorted,
            ..Options::default()
        });
        let ts: Vec<String> = audio(&export)
            .flat_map(|(_, b)| rows(b))
            .map(|r| r["ts"].as_str().unwrap().to_string())
            .collect();
        let descents = ts.windows(2).filter(|w| w[0] > w[1]).count();
        if unsorted {
            assert!(
                (300..600).contains(&descents),
                "about 30 % of pairs swapped: {descents}"
            );
        } else {
            assert_eq!(descents, 0);
        }
    }
}

#[test]
fn account_data_covers_the_last_year_at_minute_resolution_without_repeated_rows() {
    let export = synth::generate(&Options {
        plays: 20_000,
        dupes: 0.01,
        ..small(Generation::G5)
    });
    let last = export.facts.last_ts.clone().unwrap();
    let year_before = format!(
        "{}{}",
        last[..4].parse::<i32>().unwrap() - 1,
        &last[4..16].replace('T', " ")
    );
    let mut music = 0;
    for (path, bytes) in export
        .files
        .iter()
        .filter(|(p, _)| p.starts_with("Spotify Account Data/"))
    {
        assert!(
            bytes.starts_with(b"[ {\n  \"endTime\" : \""),
            "{path}: Jackson style"
        );
        let rows = rows(bytes);
        assert!(rows.len() <= 10_000, "{path}");
        let ends: Vec<&str> = rows
            .iter()
            .map(|r| r["endTime"].as_str().unwrap())
            .collect();
        assert!(
            ends.windows(2).all(|w| w[0] <= w[1]),
            "{path} sorted by endTime"
        );
        assert!(
            ends.iter()
                .all(|e| e.len() == 16 && *e >= year_before.as_str()),
            "{path}: the last 12 months"
        );
        let distinct: HashSet<&Row> = rows.iter().collect();
        assert_eq!(
            distinct.len(),
            rows.len(),
            "{path}: identical rows collapsed"
        );
        if path.contains("_music_") {
            music += rows.len();
            assert_eq!(
                rows[0].keys(),
                ["endTime", "artistName", "trackName", "msPlayed"]
            );
        }
    }
    assert!(music > 1_000, "{music} music rows");
}
