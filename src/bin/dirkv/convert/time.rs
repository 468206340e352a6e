//! Times people type: a TTL (`set --ttl 15m`) and the times of export and import lines
//! (UTC as `ls -l` shows them, or milliseconds since the Unix epoch).

use serde_json::Value as Json;

/// A TTL as `set --ttl` takes it: a whole number and a unit, `ms`, `s`, `m`, `h` or `d`.
///
/// # Errors
///
/// A message saying what form it takes.
pub(crate) fn parse_ttl(text: &str) -> Result<std::time::Duration, String> {
    let form = "a whole number and a unit: ms, s, m, h or d (as in 90s, 15m, 2h, 7d)";
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let ms_per: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "" => return Err(format!("`{text}` has no unit; give {form}")),
        _ => return Err(format!("`{text}` is not {form}")),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not {form}"))?;
    let ms = n
        .checked_mul(ms_per)
        .ok_or_else(|| format!("`{text}` is too long a time"))?;
    if ms == 0 {
        return Err("a TTL of 0 would expire the entry at once; give a longer one".into());
    }
    Ok(std::time::Duration::from_millis(ms))
}

/// A time as `ls -l` and `export` write it (`2025-01-02T03:04:05.000Z`, UTC), or a JSON
/// number of milliseconds since the Unix epoch, as milliseconds since the Unix epoch.
///
/// # Errors
///
/// A message saying which forms are taken.
pub(crate) fn time_from_json(json: &Json) -> Result<u64, String> {
    let form = "a UTC time such as \"2025-01-02T03:04:05.000Z\" or milliseconds since 1970";
    match json {
        Json::Number(n) => n.as_u64().ok_or_else(|| format!("{n} is not {form}")),
        Json::String(text) => parse_utc(text).ok_or_else(|| format!("{json} is not {form}")),
        _ => Err(format!("{json} is not {form}")),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.f…]Z` as milliseconds since the Unix epoch (digits past the
/// milliseconds are dropped); `None` when it is not of that form or before 1970.
fn parse_utc(text: &str) -> Option<u64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let num = |s: &str, len: usize| -> Option<i64> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?, 4)?, num(d.next()?, 2)?, num(d.next()?, 2)?);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, frac),
        None => (time, ""),
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (time.contains('.') && frac.is_empty()) {
        return None;
    }
    let ms_text = format!("{frac:0<3}");
    let ms: i64 = ms_text.get(..3)?.parse().ok()?;
    let mut t = hms.split(':');
    let (h, min, sec) = (num(t.next()?, 2)?, num(t.next()?, 2)?, num(t.next()?, 2)?);
    if t.next().is_some() || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    // Howard Hinnant's days_from_civil, the inverse of `utc_text`'s civil_from_days.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let ms = ((days * 24 + h) * 60 + min) * 60_000 + sec * 1000 + ms;
    u64::try_from(ms).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_read_back_what_utc_text_writes() {
        use dirkv::format::time::utc_text;
        for ms in [0, 951_782_400_123, 1_735_787_045_000, 4_102_444_799_999] {
            let text = Json::String(format!("{}Z", utc_text(ms)));
            assert_eq!(time_from_json(&text), Ok(ms), "{text}");
        }
        let j = |s: &str| Json::String(s.into());
        assert_eq!(time_from_json(&j("1970-01-01T00:00:01Z")), Ok(1000));
        assert_eq!(time_from_json(&j("1970-01-01T00:00:00.1234Z")), Ok(123));
        assert_eq!(time_from_json(&Json::from(42u64)), Ok(42));
        for bad in [
            "1970-01-01T00:00:00",
            "1970-1-01T00:00:00Z",
            "1970-13-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00.Z",
            "1970-01-01 00:00:00Z",
            "yesterday",
        ] {
            assert!(time_from_json(&j(bad)).is_err(), "{bad}");
        }
        assert!(time_from_json(&Json::from(-1)).is_err());
    }

    #[test]
    fn ttls_take_a_unit() {
        use std::time::Duration;
        assert_eq!(parse_ttl("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_ttl("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
        for bad in [
            "60",
            "s",
            "1.5h",
            "-1s",
            "1w",
            "0s",
            "99999999999999999999d",
            " 1s",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
