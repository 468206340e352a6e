//! Times as entry headers and manifests hold them (milliseconds since the Unix epoch), shown
//! as text.

/// A UTC time as `YYYY-MM-DDTHH:MM:SS.mmm` (no zone letter).
pub fn utc_text(ms: u64) -> String {
    let days = i64::try_from(ms / 86_400_000).unwrap_or(i64::MAX / 2);
    let rest = ms % 86_400_000;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_is_rfc3339_like() {
        assert_eq!(utc_text(0), "1970-01-01T00:00:00.000");
        assert_eq!(utc_text(951_782_400_123), "2000-02-29T00:00:00.123");
        assert_eq!(utc_text(1_735_787_045_000), "2025-01-02T03:04:05.000");
    }
}
