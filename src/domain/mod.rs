//! Pure types and rules, compiled into both the server and the WASM bundle so the browser
//! shows exactly the error the server enforces.

pub mod access;
pub mod apis;
pub mod authorization;
pub mod config;
pub mod credentials;
pub mod ids;
pub mod inputs;
pub mod instance_overview;
pub mod keys;
pub mod limits;
pub mod names;
pub mod paging;
pub mod proxy_config;
pub mod quotas;
pub mod records;
pub mod request_path;
pub mod rule_view;
pub mod usage;
pub mod usage_charts;
pub mod usage_overview;

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

/// Parses `YYYY-MM-DDTHH:MM[:SS]` (an HTML `datetime-local` value) as UTC milliseconds.
pub fn parse_time_utc(s: &str) -> Option<i64> {
    let (date, time) = s.trim().split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute) = (t.next()??, t.next()??);
    let second = t.next().unwrap_or(Some(0))?;
    let valid = (1970..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..60).contains(&second);
    if !valid {
        return None;
    }
    // Howard Hinnant's days-from-civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let ms = ((days * 86_400) + hour * 3600 + minute * 60 + second) * 1000;
    // Reject dates like 31 February, which the arithmetic above would roll over.
    (format_time(ms)[..10] == date[..]).then_some(ms)
}

/// Formats milliseconds as a `datetime-local` value (UTC, to the second).
pub fn format_input_time(ms: i64) -> String {
    format_time(ms).replace(' ', "T")
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

/// Where the console goes when there is nowhere else to go.
pub const HOME_PATH: &str = "/instances";

/// The `next` of a sign-in, if it is a path on this origin, else the instance list. Only
/// visible ASCII is accepted (no tab, CR/LF or space that a browser strips or a header
/// cannot carry, no backslash that a browser reads as a slash), the path must start with a
/// single `/`, and it must still do so once percent-decoded.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(n) = next else {
        return HOME_PATH.into();
    };
    let visible = |s: &[u8]| s.iter().all(|b| (0x21..=0x7e).contains(b) && *b != b'\\');
    let local = |s: &[u8]| s.first() == Some(&b'/') && !matches!(s.get(1), Some(b'/' | b'\\'));
    let decoded = percent_decode(n.as_bytes());
    let ok = n.len() <= 2048
        && visible(n.as_bytes())
        && local(n.as_bytes())
        && local(&decoded)
        && !decoded.iter().any(|b| *b < 0x20 || *b == 0x7f)
        && !n.starts_with("/login");
    if ok {
        n.to_owned()
    } else {
        HOME_PATH.into()
    }
}

/// Every well-formed `%XX` decoded to its byte (others left as they are).
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match (
            s[i],
            s.get(i + 1).copied().and_then(hex),
            s.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::safe_next;
    use proptest::prelude::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/instances/gw-x/consumers?page=2")),
            "/instances/gw-x/consumers?page=2"
        );
        assert_eq!(
            safe_next(Some("/audit?rid=cs-x&q=%20a")),
            "/audit?rid=cs-x&q=%20a"
        );
        assert_eq!(safe_next(None), "/instances");
    }

    #[test]
    fn every_hostile_next_goes_home() {
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example/x",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/\n",
            " /instances",
            "https://evil.example",
            "http:/evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%09/evil.example",
            "/%0a",
            "/%0d%0aSet-Cookie:x",
            "/caf\u{e9}",
            "/login",
            "/login?next=//evil",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/instances", "{hostile:?}");
        }
    }

    proptest! {
        #[test]
        fn what_is_followed_stays_on_this_origin(s in "\\PC{0,12}|/[/\\\\%0-9a-fA-F\t\n.:@a-z]{0,12}") {
            let next = safe_next(Some(&s));
            prop_assert!(next.starts_with('/') && !next.starts_with("//"));
            prop_assert!(!next.contains('\\') && next.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        }
    }

    #[test]
    fn times_format_as_utc_calendar_dates() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00");
        assert_eq!(super::format_time(1_795_443_758_000), "2026-11-23 14:22:38");
        assert_eq!(super::format_time(951_782_400_000), "2000-02-29 00:00:00");
    }

    #[test]
    fn datetime_input_values_parse_as_utc() {
        assert_eq!(
            super::parse_time_utc("2026-11-23T14:22:38"),
            Some(1_795_443_758_000)
        );
        assert_eq!(
            super::parse_time_utc("2026-11-23T14:22"),
            Some(1_795_443_720_000)
        );
        assert_eq!(super::parse_time_utc("2026-02-31T00:00"), None);
        assert_eq!(super::parse_time_utc("tomorrow"), None);
        assert_eq!(
            super::format_input_time(1_795_443_758_000),
            "2026-11-23T14:22:38"
        );
    }

    proptest::proptest! {
        #[test]
        fn formatted_times_parse_back(ms in 0i64..253_402_300_799i64) {
            let ms = ms * 1000;
            proptest::prop_assert_eq!(super::parse_time_utc(&super::format_input_time(ms)), Some(ms));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,30}") {
            let _ = super::parse_time_utc(&s);
        }
    }
}
