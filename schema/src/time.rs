//! Timestamps as Spotify writes them, parsed without allocation into epoch milliseconds (UTC).
//!
//! Extended history writes `2023-04-01T13:30:30Z`; the 2020 ReadMe shows
//! `2023-04-01 13:30:30 UTC` (never seen, tolerated); account data writes `2023-04-01 13:30`
//! (minute-truncated). All three are UTC and mark the END of a stream.

/// Milliseconds since the Unix epoch, UTC.
pub type EpochMs = i64;

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses any of Spotify's three timestamp spellings into epoch milliseconds.
///
/// Returns `None` for anything else, including impossible dates such as February 30th.
pub fn parse_spotify_ts(s: &str) -> Option<EpochMs> {
    let b = s.as_bytes();
    if b.len() < 16
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
    {
        return None;
    }
    let y = i64::from(digits(&b[0..4])?);
    let mo = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    let h = digits(&b[11..13])?;
    let mi = digits(&b[14..16])?;
    let rest = &b[16..];
    let (sec, tail) = match rest {
        [b':', s1, s2, tail @ ..] => (digits(&[*s1, *s2])?, tail),
        tail => (0, tail),
    };
    // Fractional seconds are not written by Spotify, but a hand-edited file may carry them.
    let tail = match tail {
        [b'.', frac @ ..] => {
            let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            &frac[n..]
        }
        t => t,
    };
    if !matches!(tail, b"" | b"Z" | b" UTC" | b"+00:00") {
        return None;
    }
    if !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(days * MS_PER_DAY + (i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(sec)) * 1000)
}

/// Formats epoch milliseconds as RFC 3339 UTC with second precision (`2023-04-01T13:30:30Z`).
pub fn format_rfc3339(ms: EpochMs) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// Truncates to the start of the minute, as account data does.
pub fn floor_minute(ms: EpochMs) -> EpochMs {
    ms.div_euclid(60_000) * 60_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_three_spellings_to_the_same_instant() {
        let iso = parse_spotify_ts("2023-04-01T13:30:30Z").unwrap();
        assert_eq!(parse_spotify_ts("2023-04-01 13:30:30 UTC"), Some(iso));
        assert_eq!(parse_spotify_ts("2023-04-01 13:30"), Some(iso - 30_000));
        assert_eq!(format_rfc3339(iso), "2023-04-01T13:30:30Z");
        assert_eq!(iso, 1_680_355_830_000);
    }

    #[test]
    fn rejects_impossible_or_foreign_timestamps() {
        for bad in [
            "2023-02-30T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-04-01T24:00:00Z",
            "2023-04-01T13:30:30+02:00",
            "yesterday",
            "",
            "2023-04-01T13:30:3",
        ] {
            assert_eq!(parse_spotify_ts(bad), None, "{bad}");
        }
        assert!(parse_spotify_ts("2024-02-29T00:00:00Z").is_some());
    }

    #[test]
    fn civil_round_trip_over_four_centuries() {
        for z in (-200_000..200_000).step_by(37) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(i64::from(y), m, d), z);
        }
    }
}
