//! Civil dates and Spotify's timestamp spellings, without a date library (Howard Hinnant's
//! algorithms). All times are UTC epoch milliseconds.

pub(crate) const SECOND: i64 = 1000;
pub(crate) const MINUTE: i64 = 60 * SECOND;
pub(crate) const HOUR: i64 = 60 * MINUTE;
pub(crate) const DAY: i64 = 24 * HOUR;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(if m <= 2 { y - 1 } else { y });
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i32, u32, u32) {
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

/// Epoch milliseconds of midnight, January 1st of `year`.
pub(crate) fn year_start(year: i32) -> i64 {
    days_from_civil(year, 1, 1) * DAY
}

/// The calendar year of an instant.
pub(crate) fn year_of(ms: i64) -> i32 {
    civil_from_days(ms.div_euclid(DAY)).0
}

/// Monday = 0 … Sunday = 6.
pub(crate) fn weekday(ms: i64) -> u32 {
    (ms.div_euclid(DAY) + 3).rem_euclid(7) as u32
}

fn put2(out: &mut [u8], v: i64) {
    out[0] = b'0' + (v / 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

/// `YYYY-MM-DD HH:MM` into the first 16 bytes.
fn put_minute(out: &mut [u8], ms: i64) {
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY));
    let sod = ms.rem_euclid(DAY) / SECOND;
    put2(&mut out[0..], i64::from(y) / 100);
    put2(&mut out[2..], i64::from(y) % 100);
    out[4] = b'-';
    put2(&mut out[5..], i64::from(m));
    out[7] = b'-';
    put2(&mut out[8..], i64::from(d));
    out[10] = b' ';
    put2(&mut out[11..], sod / 3600);
    out[13] = b':';
    put2(&mut out[14..], sod / 60 % 60);
}

/// Extended history's `ts`: `2023-04-01T13:30:30Z`, truncated to the second.
pub(crate) fn ts_text(ms: i64) -> [u8; 20] {
    let mut out = [0u8; 20];
    put_minute(&mut out, ms);
    out[10] = b'T';
    out[16] = b':';
    put2(&mut out[17..], ms.rem_euclid(DAY) / SECOND % 60);
    out[19] = b'Z';
    out
}

/// Account data's `endTime`: `2023-04-01 13:30`, truncated to the minute.
pub(crate) fn minute_text(ms: i64) -> [u8; 16] {
    let mut out = [0u8; 16];
    put_minute(&mut out, ms);
    out
}

/// The text of a timestamp buffer (always ASCII).
pub(crate) fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_spelled_as_spotify_spells_them() {
        let t = 1_680_355_830_999; // 2023-04-01T13:30:30.999Z
        assert_eq!(text(&ts_text(t)), "2023-04-01T13:30:30Z");
        assert_eq!(text(&minute_text(t)), "2023-04-01 13:30");
        assert_eq!(year_of(t), 2023);
        assert_eq!(weekday(t), 5, "a Saturday");
        assert_eq!(year_start(1970), 0);
        assert_eq!(text(&ts_text(year_start(2024) - 1)), "2023-12-31T23:59:59Z");
    }

    #[test]
    fn civil_dates_round_trip() {
        for z in (-100_000..100_000).step_by(13) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }
}
