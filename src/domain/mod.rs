//! Pure types and rules, compiled into both the server and the WASM bundle so the browser
//! shows exactly the error the server enforces.

pub mod apis;
pub mod authorization;
pub mod ids;
pub mod inputs;
pub mod keys;
pub mod names;
pub mod paging;
pub mod records;
pub mod rule_view;

pub use ids::{IdKind, ResourceId};
pub use names::{Description, DescriptionError, Name, NameError};
pub use paging::{Page, PageRequest};

/// Formats milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC), without a clock or
/// time-zone database so it renders identically on the server and in the browser.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Percent-encodes all but RFC 3986 unreserved characters, for query strings and redirects.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_format_as_utc_calendar_dates() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00");
        assert_eq!(super::format_time(1_795_443_758_000), "2026-11-23 14:22:38");
        assert_eq!(super::format_time(951_782_400_000), "2000-02-29 00:00:00");
    }
}
