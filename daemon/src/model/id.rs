//! Object ids (64 hex digits, as Docker's) and timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngCore;

/// A fresh random id: 32 bytes as 64 lowercase hex digits.
pub fn new_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The 12-digit form users see in tables.
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Now, in RFC 3339 UTC with nanoseconds ("2026-11-29T06:40:01.123456789Z"),
/// the way Docker prints `Created`.
pub fn now_rfc3339() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs() as i64, now.subsec_nanos())
}

/// `secs.nanos` since the Unix epoch in the same form as [`now_rfc3339`].
pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Unix time in ns of a timestamp we wrote ("2026-11-29T06:40:01.5Z") or
/// a user typed ("2026-11-29", "2026-11-29T06:40:01").
pub fn unix_nanos_of(raw: &str) -> Option<i128> {
    let raw = raw.strip_suffix('Z').unwrap_or(raw);
    let (date, time) = raw.split_once('T').unwrap_or((raw, "00:00:00"));
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, dd) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&dd) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let nanos = match frac {
        "" => 0,
        f if f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<i128>().ok()? * 10i128.pow(9 - f.len() as u32)
        }
        _ => return None,
    };
    let secs = days_from_civil(y, m as u32, dd as u32) * 86_400 + h * 3600 + mi * 60 + s;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// Docker's `until` values: a Unix timestamp ("1700000000[.5]"), a date or
/// date-time, or a duration back from now ("10m", "1h30m", "36h").
pub fn parse_timestamp(raw: &str) -> Option<i128> {
    if let Some(ago) = parse_duration_nanos(raw) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_nanos() as i128;
        return Some(now - ago);
    }
    if let Ok(secs) = raw.parse::<f64>() {
        return Some((secs * 1e9) as i128);
    }
    unix_nanos_of(raw)
}

fn parse_duration_nanos(raw: &str) -> Option<i128> {
    let mut total: i128 = 0;
    let mut rest = raw;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        let value: i128 = rest.get(..digits)?.parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let unit = match &rest[..unit_len] {
            "h" => 3_600_000_000_000,
            "m" => 60_000_000_000,
            "s" => 1_000_000_000,
            "ms" => 1_000_000,
            _ => return None,
        };
        total += value * unit;
        rest = &rest[unit_len..];
    }
    Some(total)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm), so we need no date crate for one timestamp format.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_and_distinct() {
        let a = new_id();
        assert_eq!(a.len(), 64);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, new_id());
        assert_eq!(short_id(&a).len(), 12);
    }

    #[test]
    fn parses_what_it_formats_and_what_users_type() {
        let now = now_rfc3339();
        let t = unix_nanos_of(&now).expect("parse our own format");
        assert_eq!(
            rfc3339((t / 1_000_000_000) as i64, (t % 1_000_000_000) as u32),
            now
        );
        assert_eq!(unix_nanos_of("1970-01-02"), Some(86_400 * 1_000_000_000));
        assert_eq!(
            unix_nanos_of("2000-02-29T00:00:00"),
            Some(951_782_400 * 1_000_000_000)
        );
        assert_eq!(unix_nanos_of("2000-13-01"), None);
        assert_eq!(parse_timestamp("100"), Some(100_000_000_000));
        assert_eq!(parse_duration_nanos("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration_nanos("10x"), None);
        assert_eq!(parse_timestamp("soon"), None);
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(rfc3339(1_795_934_401, 0), "2026-11-29T06:40:01.000000000Z");
    }
}
