//! Times as the viewer's clock shows them. The server (and a browser without JavaScript) has
//! no idea of the viewer's time zone, so it renders UTC and says so; once hydrated, the
//! browser shows its own zone with the offset. The UTC value stays in `datetime` and the
//! tooltip either way.

use crate::domain::format_time;
use leptos::prelude::*;

#[component]
pub fn LocalTime(ms: i64) -> impl IntoView {
    let utc = format!("{} UTC", format_time(ms));
    let shown = RwSignal::new(utc.clone());
    Effect::new(move |_| shown.set(in_browser_zone(ms)));
    let iso = format!("{}Z", format_time(ms).replace(' ', "T"));
    view! { <time datetime=iso title=utc>{move || shown.get()}</time> }
}

/// `YYYY-MM-DD HH:MM:SS UTC+hh:mm` in the browser's zone at that instant (its offset then,
/// daylight saving included); plain `… UTC` where the zone is UTC.
#[cfg(feature = "hydrate")]
fn in_browser_zone(ms: i64) -> String {
    // getTimezoneOffset is UTC minus local, in minutes.
    let east = -(js_sys::Date::new(&(ms as f64).into()).get_timezone_offset() as i64);
    with_offset(ms, east)
}

#[cfg(not(feature = "hydrate"))]
fn in_browser_zone(ms: i64) -> String {
    with_offset(ms, 0)
}

/// The time `east_minutes` ahead of UTC, labelled with that offset.
fn with_offset(ms: i64, east_minutes: i64) -> String {
    let local = format_time(ms + east_minutes * 60_000);
    if east_minutes == 0 {
        return format!("{local} UTC");
    }
    let sign = if east_minutes < 0 { '-' } else { '+' };
    let m = east_minutes.abs();
    format!("{local} UTC{sign}{:02}:{:02}", m / 60, m % 60)
}

#[cfg(test)]
mod tests {
    use super::with_offset;

    #[test]
    fn a_zone_east_of_utc_is_ahead_and_says_so() {
        assert_eq!(with_offset(0, 330), "1970-01-01 05:30:00 UTC+05:30");
    }

    #[test]
    fn a_zone_west_of_utc_can_fall_on_the_previous_day() {
        assert_eq!(with_offset(0, -480), "1969-12-31 16:00:00 UTC-08:00");
    }

    #[test]
    fn utc_itself_has_no_offset_suffix() {
        assert_eq!(with_offset(0, 0), "1970-01-01 00:00:00 UTC");
    }
}
