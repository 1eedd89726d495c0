//! The Usage page of an instance: for a range (the last hour, 24 hours, 7 or 30 days, or from–to)
//! and filters kept in the URL, what the enforcement check decided and the gateway reported —
//! requests over time by outcome, tokens over time, the top consumers and model APIs. Each chart
//! is an SVG drawn by the server (an image: it needs no JavaScript), with its words as the text
//! alternative, a table view and a CSV download of what it shows.

use crate::domain::limits::group_digits;
use crate::domain::usage_charts::{Chart, NO_API, NO_CONSUMER};
use crate::domain::usage_overview::{TopEntry, UsageFilter, UsageOverview, UsageRange};
use crate::domain::{format_time, url_encode};
use crate::error::AppError;
use crate::server_fns::environments::list_environments;
use crate::server_fns::groups::list_groups;
use crate::server_fns::model_apis::list_apis;
use crate::server_fns::usage::instance_usage;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// Up to this many groups or model APIs are offered in a select; with more, the filter is a
/// text field (a name or an ID) that suggests the first of them.
const OFFERED: u32 = 100;

/// The groups, model APIs and environments offered as filters: `(id, name)`, and whether
/// that is all of them.
type Choices = [(Vec<(String, String)>, bool); 3];

async fn choices(instance_id: String) -> Result<Choices, AppError> {
    let groups = list_groups(instance_id.clone(), String::new(), Some(1), Some(OFFERED)).await?;
    let apis = list_apis(instance_id.clone(), String::new(), Some(1), Some(OFFERED)).await?;
    let envs = list_environments(instance_id).await?;
    let all = |total: i64, listed: usize| total <= listed as i64;
    Ok([
        (
            groups
                .items
                .iter()
                .map(|g| (g.id.clone(), g.name.clone()))
                .collect(),
            all(groups.total_size, groups.items.len()),
        ),
        (
            apis.items
                .iter()
                .map(|a| (a.id.clone(), a.name.clone()))
                .collect(),
            all(apis.total_size, apis.items.len()),
        ),
        (envs.into_iter().map(|e| (e.id, e.name)).collect(), true),
    ])
}

#[component]
pub fn UsagePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let instance_id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let filter = Memo::new(move |_| {
        let q = query.read();
        UsageFilter {
            range: q.get("range"),
            from: q.get("from"),
            to: q.get("to"),
            consumer: q.get("consumer"),
            group: q.get("group"),
            api: q.get("api"),
            environment: q.get("environment"),
        }
    });
    let usage = Resource::new(
        move || (instance_id.get(), filter.get()),
        |(iid, f)| instance_usage(iid, f),
    );
    let offered = Resource::new(move || instance_id.get(), choices);
    view! {
        <h1>"Usage"</h1>
        <p class="hint">"What the enforcement check decided for this instance, counted by every replica and written every few seconds, and the tokens the gateway reports. Times are UTC."</p>
        <Transition fallback=|| view! { <p class="loading">"Loading filters…"</p> }>
            {move || {
                let filter = filter.get();
                Suspend::new(async move {
                    let offered = offered.await.unwrap_or_default();
                    view! { <Filters filter offered /> }
                })
            }}
        </Transition>
        <Transition fallback=|| view! { <p class="loading">"Loading usage…"</p> }>
            {move || Suspend::new(async move {
                match usage.await {
                    Ok(o) => overview_view(instance_id.get_untracked(), filter.get_untracked(), o).into_any(),
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The range and filter form: a GET form, so it works without JavaScript and its answer is a
/// URL that can be shared.
#[component]
fn Filters(filter: UsageFilter, offered: Choices) -> impl IntoView {
    let range = UsageRange::parse(filter.range.as_deref());
    let [groups, apis, envs] = offered;
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    view! {
        <form method="get" role="search" class="filters" aria-label="Usage range and filters">
            <label for="usage-range">"Range"</label>
            <select id="usage-range" name="range">
                {UsageRange::ALL.into_iter().map(|r| view! {
                    <option value=r.as_str() selected=r == range>{r.label()}</option>
                }).collect_view()}
            </select>
            <label for="usage-from">"From (UTC, custom range)"</label>
            <input id="usage-from" type="datetime-local" name="from" value=value(&filter.from) />
            <label for="usage-to">"To (UTC, custom range)"</label>
            <input id="usage-to" type="datetime-local" name="to" value=value(&filter.to) />
            <label for="usage-consumer">"Consumer (name or ID)"</label>
            <input id="usage-consumer" type="search" name="consumer" value=value(&filter.consumer) />
            {choice("usage-group", "Consumer group", "group", groups, value(&filter.group))}
            {choice("usage-api", "Model API", "api", apis, value(&filter.api))}
            {choice("usage-environment", "Environment", "environment", envs, value(&filter.environment))}
            <button type="submit">"Show usage"</button>
        </form>
    }
}

/// A select of `(id, name)` with "All" first (a chosen ID that is not offered stays offered);
/// or, when `options` are not all there are, a text field for a name or ID that suggests them.
fn choice(
    id: &'static str,
    label: &'static str,
    name: &'static str,
    (mut options, all): (Vec<(String, String)>, bool),
    chosen: String,
) -> impl IntoView {
    if !all {
        let list = format!("{id}-names");
        return view! {
            <label for=id>{format!("{label} (name or ID)")}</label>
            <input id=id type="search" name=name value=chosen list=list.clone() />
            <datalist id=list>
                {options.into_iter().map(|(_, text)| view! { <option value=text></option> }).collect_view()}
            </datalist>
        }
        .into_any();
    }
    if !chosen.is_empty() && !options.iter().any(|(v, _)| *v == chosen) {
        options.push((chosen.clone(), chosen.clone()));
    }
    view! {
        <label for=id>{label}</label>
        <select id=id name=name>
            <option value="" selected=chosen.is_empty()>"All"</option>
            {options.into_iter().map(|(v, text)| {
                let selected = v == chosen;
                view! { <option value=v selected=selected>{text}</option> }
            }).collect_view()}
        </select>
    }
    .into_any()
}

fn overview_view(instance_id: String, filter: UsageFilter, o: UsageOverview) -> impl IntoView {
    // The charts draw exactly this answer's range (a named range would move on meanwhile).
    let pinned = UsageFilter {
        range: Some(UsageRange::Custom.as_str().to_owned()),
        from: Some(o.from.to_string()),
        to: Some(o.to.to_string()),
        ..filter.clone()
    };
    let chart_query = format!(
        "gatewayId={}&{}",
        url_encode(&instance_id),
        pinned.query_string()
    );
    let t = o.totals.clone();
    view! {
        <p>{format!("From {} to {} UTC, by {}.", &format_time(o.from)[..16], &format_time(o.to)[..16], o.granularity.as_str())}</p>
        <dl class="facts">
            <dt>"Requests"</dt><dd>{group_digits(t.requests)}</dd>
            <dt>"Allowed"</dt><dd>{group_digits(t.allowed)}</dd>
            <dt>"Refused"</dt><dd>{group_digits(t.denied)}</dd>
            <dt>"Prompt tokens"</dt><dd>{group_digits(t.prompt_tokens)}</dd>
            <dt>"Completion tokens"</dt><dd>{group_digits(t.completion_tokens)}</dd>
        </dl>
        <div class="charts">
            {Chart::ALL.into_iter().map(|c| figure(c, &o, &chart_query, &filter)).collect_view()}
        </div>
    }
}

fn figure(
    chart: Chart,
    o: &UsageOverview,
    chart_query: &str,
    filter: &UsageFilter,
) -> impl IntoView {
    let title = chart.title();
    let src = format!("/v1/usage/chart?chart={}&{chart_query}", chart.as_str());
    let csv = format!("/v1/usage/chart/csv?chart={}&{chart_query}", chart.as_str());
    let table = match chart {
        Chart::Requests => requests_table(o).into_any(),
        Chart::Tokens => tokens_table(o).into_any(),
        Chart::Consumers => ranking_table(
            &o.top_consumers,
            "Consumer",
            NO_CONSUMER,
            filter,
            |f, id| f.consumer = Some(id.to_owned()),
        )
        .into_any(),
        Chart::Apis => ranking_table(&o.top_apis, "Model API", NO_API, filter, |f, id| {
            f.api = Some(id.to_owned())
        })
        .into_any(),
    };
    view! {
        <figure class="chart">
            <figcaption><h2>{title}</h2></figcaption>
            <img src=src alt=chart.summary(o) width="760" height="300" />
            <details>
                <summary>{format!("{title} as a table")}</summary>
                {table}
            </details>
            <a href=csv download="" rel="external">{format!("Download {title} as CSV")}</a>
        </figure>
    }
}

fn requests_table(o: &UsageOverview) -> impl IntoView {
    let busy: Vec<usize> = (0..o.times.len())
        .filter(|i| o.outcomes.iter().any(|s| s.requests[*i] > 0))
        .collect();
    let headings: Vec<String> = o.outcomes.iter().map(|s| s.outcome.clone()).collect();
    let rows = busy
        .into_iter()
        .map(|i| {
            let counts: Vec<i64> = o.outcomes.iter().map(|s| s.requests[i]).collect();
            let total: i64 = counts.iter().sum();
            view! {
                <tr>
                    <th scope="row">{o.time_label(o.times[i])}</th>
                    {counts.into_iter().map(|n| view! { <td>{group_digits(n)}</td> }).collect_view()}
                    <td>{group_digits(total)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table>
            <caption>"Requests per bucket by outcome (buckets without requests left out)"</caption>
            <thead><tr>
                <th scope="col">"Time (UTC)"</th>
                {headings.into_iter().map(|h| view! { <th scope="col">{h}</th> }).collect_view()}
                <th scope="col">"Total"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

fn tokens_table(o: &UsageOverview) -> impl IntoView {
    let rows = (0..o.times.len())
        .filter(|i| o.prompt_tokens[*i] + o.completion_tokens[*i] > 0)
        .map(|i| {
            view! {
                <tr>
                    <th scope="row">{o.time_label(o.times[i])}</th>
                    <td>{group_digits(o.prompt_tokens[i])}</td>
                    <td>{group_digits(o.completion_tokens[i])}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table>
            <caption>"Tokens per bucket (buckets without tokens left out)"</caption>
            <thead><tr><th scope="col">"Time (UTC)"</th><th scope="col">"Prompt tokens"</th><th scope="col">"Completion tokens"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// A ranking, each named entry a link that narrows the page to it.
fn ranking_table(
    entries: &[TopEntry],
    what: &'static str,
    empty: &'static str,
    filter: &UsageFilter,
    narrow: fn(&mut UsageFilter, &str),
) -> impl IntoView {
    let rows = entries
        .iter()
        .map(|e| {
            let label = e.label(empty);
            let name = if e.id().is_empty() {
                view! { <span>{label}</span> }.into_any()
            } else {
                let mut f = filter.clone();
                narrow(&mut f, e.id());
                view! { <a href=format!("?{}", f.query_string())>{label}</a> }.into_any()
            };
            view! {
                <tr>
                    <th scope="row">{name}</th>
                    <td>{group_digits(e.requests)}</td>
                    <td>{group_digits(e.allowed)}</td>
                    <td>{group_digits(e.requests - e.allowed)}</td>
                    <td>{group_digits(e.tokens)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table>
            <thead><tr>
                <th scope="col">{what}</th><th scope="col">"Requests"</th><th scope="col">"Allowed"</th>
                <th scope="col">"Refused"</th><th scope="col">"Tokens"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
