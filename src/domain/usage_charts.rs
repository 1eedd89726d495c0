//! The Usage page's four charts: which they are, the CSV of what each shows, and (on the
//! server) each drawn as SVG with `plotters`. The SVG is served as an image, so it works
//! without JavaScript and nothing in it runs; its text (names included) is escaped by
//! plotters' SVG backend.

use super::format_time;
use super::usage::{ALLOWED, OUTCOMES};
use super::usage_overview::{TopEntry, UsageOverview};

/// One of the Usage page's charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Chart {
    /// Requests per bucket, stacked by outcome.
    Requests,
    /// Prompt and completion tokens per bucket, stacked.
    Tokens,
    /// The consumers with the most requests (allowed and refused).
    Consumers,
    /// The model APIs with the most requests (allowed and refused).
    Apis,
}

impl Chart {
    pub const ALL: [Chart; 4] = [
        Chart::Requests,
        Chart::Tokens,
        Chart::Consumers,
        Chart::Apis,
    ];

    /// The chart's name in URLs (`/v1/usage/chart?chart=requests`).
    pub fn as_str(self) -> &'static str {
        match self {
            Chart::Requests => "requests",
            Chart::Tokens => "tokens",
            Chart::Consumers => "consumers",
            Chart::Apis => "apis",
        }
    }

    pub fn parse(s: &str) -> Option<Chart> {
        Chart::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn title(self) -> &'static str {
        match self {
            Chart::Requests => "Requests over time",
            Chart::Tokens => "Tokens over time",
            Chart::Consumers => "Top consumers",
            Chart::Apis => "Top model APIs",
        }
    }

    /// The chart in words: its text alternative.
    pub fn summary(self, o: &UsageOverview) -> String {
        match self {
            Chart::Requests => o.requests_summary(),
            Chart::Tokens => o.tokens_summary(),
            Chart::Consumers => {
                UsageOverview::top_summary(&o.top_consumers, "consumers", NO_CONSUMER)
            }
            Chart::Apis => UsageOverview::top_summary(&o.top_apis, "model APIs", NO_API),
        }
    }

    /// What the chart shows, as CSV (times in RFC 3339 UTC).
    pub fn csv(self, o: &UsageOverview) -> String {
        let mut out = String::new();
        let time = |t: i64| format!("{}Z", format_time(t).replace(' ', "T"));
        match self {
            Chart::Requests => {
                let mut header = vec!["time".to_owned()];
                header.extend(o.outcomes.iter().map(|s| s.outcome.clone()));
                header.push("total".to_owned());
                line(&mut out, &header);
                for (i, t) in o.times.iter().enumerate() {
                    let counts: Vec<i64> = o.outcomes.iter().map(|s| s.requests[i]).collect();
                    let mut row = vec![time(*t)];
                    row.extend(counts.iter().map(i64::to_string));
                    row.push(counts.iter().sum::<i64>().to_string());
                    line(&mut out, &row);
                }
            }
            Chart::Tokens => {
                line(
                    &mut out,
                    &["time", "prompt_tokens", "completion_tokens"].map(String::from),
                );
                for (i, t) in o.times.iter().enumerate() {
                    line(
                        &mut out,
                        &[
                            time(*t),
                            o.prompt_tokens[i].to_string(),
                            o.completion_tokens[i].to_string(),
                        ],
                    );
                }
            }
            Chart::Consumers => ranking(&mut out, "consumer", &o.top_consumers),
            Chart::Apis => ranking(&mut out, "api", &o.top_apis),
        }
        out
    }
}

/// What a ranking calls the requests that reached no consumer (no valid key).
pub const NO_CONSUMER: &str = "(no consumer)";
/// What a ranking calls the requests that matched no model API.
pub const NO_API: &str = "(no model API)";

fn ranking(out: &mut String, what: &str, entries: &[TopEntry]) {
    line(
        out,
        &[
            format!("{what}_id"),
            format!("{what}_name"),
            "requests".into(),
            "allowed".into(),
            "denied".into(),
            "tokens".into(),
        ],
    );
    for e in entries {
        line(
            out,
            &[
                e.id().to_owned(),
                e.name.clone().unwrap_or_default(),
                e.requests.to_string(),
                e.allowed.to_string(),
                (e.requests - e.allowed).to_string(),
                e.tokens.to_string(),
            ],
        );
    }
}

/// One CSV line: fields with a comma, quote or line break quoted; a field a spreadsheet would
/// read as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`.
fn line(out: &mut String, fields: &[String]) {
    let cells: Vec<String> = fields
        .iter()
        .map(|f| {
            let f = if f.starts_with(['=', '+', '-', '@']) && f.parse::<i64>().is_err() {
                format!("'{f}")
            } else {
                f.clone()
            };
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f
            }
        })
        .collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

/// An outcome's colour in the charts: green for allowed, a fixed colour per refusal reason.
pub fn outcome_colour(outcome: &str) -> (u8, u8, u8) {
    const PALETTE: [(u8, u8, u8); 12] = [
        (190, 30, 45),
        (230, 120, 20),
        (120, 70, 160),
        (30, 110, 190),
        (200, 160, 0),
        (150, 90, 40),
        (220, 80, 150),
        (90, 90, 90),
        (0, 150, 150),
        (110, 140, 30),
        (240, 70, 40),
        (100, 40, 110),
    ];
    if outcome == ALLOWED {
        return (46, 125, 50);
    }
    let at = OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(0);
    PALETTE[at % PALETTE.len()]
}

#[cfg(feature = "ssr")]
pub use svg::svg;

#[cfg(feature = "ssr")]
mod svg {
    use super::*;
    use crate::domain::limits::group_digits;
    use crate::domain::usage_overview::TOP;
    use plotters::prelude::*;

    const SIZE: (u32, u32) = (760, 300);
    const PROMPT: RGBColor = RGBColor(30, 110, 190);
    const COMPLETION: RGBColor = RGBColor(240, 150, 40);
    const DENIED: RGBColor = RGBColor(190, 30, 45);
    const GREEN_ALLOWED: RGBColor = RGBColor(46, 125, 50);

    /// The chart as an SVG document.
    pub fn svg(chart: Chart, o: &UsageOverview) -> Result<String, String> {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            match chart {
                Chart::Requests => {
                    let layers: Vec<(String, RGBColor, &[i64])> = o
                        .outcomes
                        .iter()
                        .map(|s| {
                            let (r, g, b) = outcome_colour(&s.outcome);
                            (s.outcome.clone(), RGBColor(r, g, b), s.requests.as_slice())
                        })
                        .collect();
                    stacked(&root, o, &layers, "requests")
                }
                Chart::Tokens => stacked(
                    &root,
                    o,
                    &[
                        ("prompt".into(), PROMPT, o.prompt_tokens.as_slice()),
                        (
                            "completion".into(),
                            COMPLETION,
                            o.completion_tokens.as_slice(),
                        ),
                    ],
                    "tokens",
                ),
                Chart::Consumers => ranked(&root, &o.top_consumers, NO_CONSUMER),
                Chart::Apis => ranked(&root, &o.top_apis, NO_API),
            }
            .map_err(|e| e.to_string())?;
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(out)
    }

    type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
    type Failure<'a> = DrawingAreaErrorKind<<SVGBackend<'a> as DrawingBackend>::ErrorType>;

    /// Bars per time bucket, the layers stacked in order, with a legend.
    fn stacked<'a>(
        root: &Area<'a>,
        o: &UsageOverview,
        layers: &[(String, RGBColor, &[i64])],
        unit: &str,
    ) -> Result<(), Failure<'a>> {
        let width = o.granularity.ms();
        let heights: Vec<i64> = (0..o.times.len())
            .map(|i| layers.iter().map(|l| l.2[i]).sum())
            .collect();
        let top = heights.iter().copied().max().unwrap_or(0).max(1);
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(64)
            .build_cartesian_2d(o.from..o.to, 0i64..top + top / 10 + 1)?;
        let label = |t: &i64| o.time_label(*t);
        let count = |v: &i64| group_digits(*v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(8)
            .y_labels(6)
            .x_label_formatter(&label)
            .y_label_formatter(&count)
            .y_desc(unit)
            .light_line_style(RGBColor(240, 240, 240))
            .max_light_lines(1)
            .label_style(("sans-serif", 13))
            .draw()?;
        let mut base = vec![0i64; o.times.len()];
        for (name, colour, values) in layers {
            if values.iter().all(|v| *v == 0) {
                continue;
            }
            let bars: Vec<Rectangle<(i64, i64)>> = o
                .times
                .iter()
                .enumerate()
                .filter(|(i, _)| values[*i] > 0)
                .map(|(i, t)| {
                    let (lo, hi) = (base[i], base[i] + values[i]);
                    base[i] = hi;
                    Rectangle::new([(*t, lo), (*t + width, hi)], colour.filled())
                })
                .collect();
            let c = *colour;
            chart
                .draw_series(bars)?
                .label(name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], c.filled()));
        }
        if layers.iter().any(|l| l.2.iter().any(|v| *v > 0)) {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 200, 200))
                .label_font(("sans-serif", 13))
                .draw()?;
        }
        Ok(())
    }

    /// One horizontal bar in row `row`, from `from` to `to`, with a gap above and below.
    fn bar(row: u32, from: i64, to: i64, colour: RGBColor) -> Rectangle<(i64, SegmentValue<u32>)> {
        let mut r = Rectangle::new(
            [
                (from, SegmentValue::Exact(row)),
                (to, SegmentValue::Exact(row + 1)),
            ],
            colour.filled(),
        );
        r.set_margin(4, 4, 0, 0);
        r
    }

    /// Horizontal bars, the first entry at the top: allowed, then refused, requests.
    fn ranked<'a>(root: &Area<'a>, entries: &[TopEntry], empty: &str) -> Result<(), Failure<'a>> {
        // Always TOP rows, so that a bar is as thick with one entry as with ten.
        let n = TOP as u32;
        let top = entries.iter().map(|e| e.requests).max().unwrap_or(0).max(1);
        let names: Vec<String> = entries
            .iter()
            .map(|e| {
                let name = e.label(empty);
                if name.chars().count() > 24 {
                    format!("{}…", name.chars().take(23).collect::<String>())
                } else {
                    name
                }
            })
            .collect();
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(180)
            .build_cartesian_2d(0i64..top + top / 10 + 1, (0u32..n).into_segmented())?;
        let count = |v: &i64| group_digits(*v);
        let name = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) => (n - 1)
                .checked_sub(*i)
                .and_then(|at| names.get(at as usize))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_labels(6)
            .y_labels(n as usize)
            .x_label_formatter(&count)
            .y_label_formatter(&name)
            .light_line_style(RGBColor(240, 240, 240))
            .max_light_lines(1)
            .label_style(("sans-serif", 13))
            .draw()?;
        let row = |i: usize| n - 1 - i as u32;
        chart
            .draw_series(
                entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.allowed > 0)
                    .map(|(i, e)| bar(row(i), 0, e.allowed, GREEN_ALLOWED)),
            )?
            .label("allowed")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], GREEN_ALLOWED.filled()));
        chart
            .draw_series(
                entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.requests > e.allowed)
                    .map(|(i, e)| bar(row(i), e.allowed, e.requests, DENIED)),
            )?
            .label("refused")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], DENIED.filled()));
        if !entries.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 200, 200))
                .label_font(("sans-serif", 13))
                .draw()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_field_that_a_spreadsheet_would_run_is_defused_and_quoted_when_needed() {
        let mut out = String::new();
        line(
            &mut out,
            &[
                "=SUM(A1)".into(),
                "a,b".into(),
                "-5".into(),
                "say \"hi\"".into(),
            ],
        );
        assert_eq!(out, "'=SUM(A1),\"a,b\",-5,\"say \"\"hi\"\"\"\r\n");
    }

    #[test]
    fn every_outcome_has_a_colour_and_allowed_is_green() {
        assert_eq!(outcome_colour(ALLOWED), (46, 125, 50));
        assert_ne!(outcome_colour("no-rule"), outcome_colour("no-key"));
    }
}
