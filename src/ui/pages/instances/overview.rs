//! The instance page's overview below its basic information: what it holds, today's
//! decisions with a small chart, the quotas near their limit, how current this replica's
//! enforcement snapshot is, and "Connect a proxy" with the nginx and Envoy configurations
//! filled in for this gateway and this console, each with a Copy button.

use crate::domain::instance_overview::InstanceOverview;
use crate::domain::limits::group_digits;
use crate::domain::proxy_config::{envoy, host_port, nginx, NginxSite};
use crate::domain::url_encode;
use crate::server_fns::instances::instance_overview;
use crate::ui::pages::quotas::{subject_text, usage_bar};
use leptos::prelude::*;

#[component]
pub fn InstanceDashboard(#[prop(into)] id: Signal<String>) -> impl IntoView {
    let overview = Resource::new(move || id.get(), instance_overview);
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading the overview…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => dashboard(o).into_any(),
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn dashboard(o: InstanceOverview) -> impl IntoView {
    view! {
        {holdings(&o)}
        {today(&o)}
        {near_limit(&o)}
        {snapshot(&o)}
        {connect(&o)}
    }
}

fn link(o: &InstanceOverview, tail: &str) -> String {
    format!("{}{tail}", base(o))
}

fn base(o: &InstanceOverview) -> String {
    format!("/instances/{}", o.gateway_id)
}

fn holdings(o: &InstanceOverview) -> impl IntoView {
    let rows = [
        ("Consumers", o.consumers, "/consumers"),
        ("Consumer groups", o.consumer_groups, "/groups"),
        ("Keys", o.keys, "/keys"),
        ("Model APIs", o.apis, "/apis"),
        (
            "Authorization rules in effect",
            o.rules_in_effect,
            "/authorization",
        ),
    ];
    view! {
        <section aria-labelledby="overview-holds">
            <h2 id="overview-holds">"What it holds"</h2>
            // A list, not a <dl>: links inside <dd> broke hydration (as in the consumer panel).
            <ul class="counts">
                {rows.into_iter().map(|(what, n, tail)| view! {
                    <li><a href=link(o, tail)>{format!("{what}: {}", group_digits(n))}</a></li>
                }).collect_view()}
            </ul>
        </section>
    }
}

fn today(o: &InstanceOverview) -> impl IntoView {
    let t = &o.today;
    let words = format!(
        "Requests today (UTC, since midnight): {} allowed, {} refused.",
        group_digits(t.allowed),
        group_digits(t.denied)
    );
    let chart = format!(
        "/v1/usage/chart?chart=requests&gatewayId={}&range=custom&from={}&to={}",
        url_encode(&o.gateway_id),
        o.today_from,
        o.today_to
    );
    view! {
        <section aria-labelledby="overview-today">
            <h2 id="overview-today">"Today"</h2>
            <p>{words.clone()}</p>
            <img class="small-chart" src=chart alt=words width="760" height="300" />
            <p><a href=link(o, "/usage")>"Usage of this instance"</a></p>
        </section>
    }
}

fn near_limit(o: &InstanceOverview) -> impl IntoView {
    let quotas = o.quotas_near_limit.clone();
    let body = if quotas.is_empty() {
        view! { <p>"No quota has reached its warning threshold in its current period."</p> }
            .into_any()
    } else {
        view! {
            <table>
                <caption class="visually-hidden">"Quotas near their limit"</caption>
                <thead><tr><th scope="col">"Quota of"</th><th scope="col">"Used this period"</th></tr></thead>
                <tbody>
                    {quotas.into_iter().map(|q| view! {
                        <tr><td>{subject_text(&q)}</td><td>{usage_bar(&q)}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <section aria-labelledby="overview-quotas">
            <h2 id="overview-quotas">"Quotas near their limit"</h2>
            {body}
            <p><a href=link(o, "/quotas")>"All quotas"</a></p>
        </section>
    }
}

fn snapshot(o: &InstanceOverview) -> impl IntoView {
    let state = match o.snapshot_revision {
        None => "This replica has not loaded this instance's enforcement data yet: it loads it on the first check.".to_owned(),
        Some(r) if r >= o.revision => format!("This replica enforces revision {r}, the current one."),
        Some(r) => format!(
            "This replica enforces revision {r}; the database is at revision {}: it catches up within a second.",
            o.revision
        ),
    };
    let confirmed = format!(
        "Last confirmed current {} s ago.",
        group_digits(o.snapshot_confirmed_ago / 1000)
    );
    view! {
        <section aria-labelledby="overview-snapshot">
            <h2 id="overview-snapshot">"Enforcement snapshot"</h2>
            <p>{state}" "{confirmed}</p>
        </section>
    }
}

fn connect(o: &InstanceOverview) -> impl IntoView {
    let console = host_port(&o.console_origin);
    let nginx_text = nginx(&NginxSite {
        listen: "8080",
        console: &console,
        backend: "http://model-backend",
        gateway_id: Some(&o.gateway_id),
    });
    let envoy_text = envoy(&o.console_origin, &o.gateway_id);
    view! {
        <section aria-labelledby="overview-connect">
            <h2 id="overview-connect">"Connect a proxy"</h2>
            <p class="hint">"The proxy asks this console's /authz/check before it forwards each request. For nginx, run the console with CONSOLE_AUTHZ_TRUST_PROXY_HEADERS=1 (or give a replica CONSOLE_AUTHZ_GATEWAY_ID and leave out the two X-Gateway lines), put these blocks in http { }, and replace http://model-backend with your model backend."</p>
            <Snippet title="nginx" text=nginx_text />
            <Snippet title="Envoy" text=envoy_text />
        </section>
    }
}

/// A configuration to copy: its text, and a Copy button (and, without JavaScript, the text to
/// select by hand).
#[component]
fn Snippet(title: &'static str, text: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let value = text.clone();
    let copy = move |_| {
        let _ = window().navigator().clipboard().write_text(&value);
        copied.set(true);
    };
    let label = format!("{title} configuration");
    view! {
        <h3>{title}</h3>
        <pre class="config" aria-label=label.clone() tabindex="0"><code>{text}</code></pre>
        <button type="button" on:click=copy aria-label=format!("Copy the {label}")>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}
