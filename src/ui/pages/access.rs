//! The access check of an instance: the decision the proxy's check would give a request now,
//! with how it was reached. Asking about a consumer is a plain GET form (the question is in
//! the URL, so it works without JavaScript and can be shared); asking about a typed key is
//! for Admins and only offered once the page runs, so the key never lands in a URL.

use crate::domain::access::{AccessAnswer, LimitFinding, QuotaFinding, RuleFinding};
use crate::domain::limits::group_digits;
use crate::server_fns::access::{explain_access, ExplainAccess};
use crate::ui::components::{can_write, LocalTime};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn AccessCheckPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let gateway = move || params.read().get("id").unwrap_or_default();
    let asked = move || {
        let q = query.read();
        (q.get("consumer"), q.get("path"), q.get("environment"))
    };
    let by_consumer = Resource::new(
        move || (gateway(), asked()),
        |(gw, (consumer, path, environment))| async move {
            match (consumer.filter(|c| !c.trim().is_empty()), path) {
                (Some(c), Some(p)) => Some(explain_access(gw, None, Some(c), p, environment).await),
                _ => None,
            }
        },
    );
    let by_key = ServerAction::<ExplainAccess>::new();
    // The key field exists only in the running page (never in a form that could GET it).
    let running = RwSignal::new(false);
    Effect::new(move |_| running.set(true));
    let key = RwSignal::new(String::new());
    let field = move |name: &str| query.read_untracked().get(name).unwrap_or_default();
    let (path, environment) = (
        RwSignal::new(field("path")),
        RwSignal::new(field("environment")),
    );
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        if key.get_untracked().is_empty() {
            return; // a consumer: the GET form puts the question in the URL
        }
        ev.prevent_default();
        by_key.dispatch(ExplainAccess {
            gateway_id: gateway(),
            key: Some(key.get_untracked()),
            consumer_name: None,
            path: path.get_untracked(),
            environment: Some(environment.get_untracked()).filter(|e| !e.is_empty()),
        });
    };
    view! {
        <h1>"Access check"</h1>
        <p class="hint">"The decision the proxy's check would give a request now, and how it was reached."</p>
        <form method="get" class="access-form" on:submit=on_submit>
            <div class="field">
                <label for="access-consumer">"Consumer name"</label>
                <input id="access-consumer" name="consumer" value=field("consumer") autocomplete="off" />
            </div>
            {move || (running.get() && can_write()).then(|| view! {
                <div class="field">
                    <label for="access-key">"Or an API key or a JWT"</label>
                    <input id="access-key" type="password" autocomplete="off"
                        prop:value=move || key.get() on:input=move |ev| key.set(event_target_value(&ev)) />
                </div>
            })}
            <div class="field">
                <label for="access-path">"Request path"</label>
                <input id="access-path" name="path" required value=path.get_untracked() placeholder="/v1/chat/completions"
                    on:input=move |ev| path.set(event_target_value(&ev)) />
            </div>
            <div class="field">
                <label for="access-environment">"Environment"</label>
                <input id="access-environment" name="environment" value=environment.get_untracked() placeholder="the default one"
                    on:input=move |ev| environment.set(event_target_value(&ev)) />
            </div>
            <button type="submit" class="primary">"Check access"</button>
        </form>
        <Transition fallback=|| view! { <p class="loading">"Checking…"</p> }>
            {move || {
                let keyed = by_key.value().get();
                let answer = match keyed {
                    Some(a) if !key.get().is_empty() => Some(a),
                    _ => by_consumer.get().flatten(),
                };
                answer.map(|a| match a {
                    Ok(a) => view! { <Decision answer=a /> }.into_any(),
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                })
            }}
        </Transition>
    }
}

/// The decision, then each step of it.
#[component]
fn Decision(answer: AccessAnswer) -> impl IntoView {
    let verdict = if answer.allowed { "allowed" } else { "refused" };
    let key = answer
        .key
        .map(|k| match (k.found, k.enabled, k.expires_at) {
            (false, ..) => view! { "no key bound to a consumer has this value" }.into_any(),
            (true, Some(false), _) => view! { "found, disabled" }.into_any(),
            (true, _, Some(at)) => {
                view! { "found, enabled, expires " <LocalTime ms=at /> }.into_any()
            }
            (true, _, None) => view! { "found, enabled, does not expire" }.into_any(),
        });
    let consumer = answer.consumer.map(|c| {
        format!(
            "{} ({}), {}",
            c.name,
            c.consumer_id,
            if c.enabled { "enabled" } else { "disabled" }
        )
    });
    let environment = answer
        .environment
        .map(|e| format!("{} ({})", e.name, e.environment_id));
    let api = answer.api.map(|a| {
        format!(
            "{} ({}), matched by base path {}",
            a.name, a.api_id, a.base_path
        )
    });
    let rules = answer.rules;
    let limits = answer.limits;
    let quotas = answer.quotas;
    let quota_summary = if quotas.is_empty() {
        "none covers this request".to_owned()
    } else {
        format!("{}, listed below", quotas.len())
    };
    let limit_summary = if limits.is_empty() {
        "none covers this request".to_owned()
    } else {
        format!("{} window(s), listed below", limits.len())
    };
    view! {
        <section class="decision" aria-label="Decision">
            <h2>"Decision: " {verdict} " (" {answer.status} ")"</h2>
            <p role="status">{answer.message}</p>
            <dl class="facts">
                {key.map(|k| view! { <dt>"API key"</dt><dd>{k}</dd> })}
                <dt>"Consumer"</dt><dd>{consumer.unwrap_or_else(|| "not reached".into())}</dd>
                <dt>"Environment"</dt><dd>{environment.unwrap_or_else(|| "not reached".into())}</dd>
                <dt>"Model API"</dt><dd>{api.unwrap_or_else(|| "not reached".into())}</dd>
                <dt>"Rate limits"</dt><dd>{limit_summary}</dd>
                <dt>"Quotas"</dt><dd>{quota_summary}</dd>
                <dt>"Configuration revision"</dt><dd>{answer.revision}</dd>
            </dl>
            <h3>"Rules considered"</h3>
            {if rules.is_empty() {
                view! { <p>"No rule was considered."</p> }.into_any()
            } else {
                view! {
                    <table>
                        <caption class="visually-hidden">"Rules considered"</caption>
                        <thead><tr><th scope="col">"Rule of"</th><th scope="col">"Model API"</th><th scope="col">"Environment"</th><th scope="col">"Expires"</th><th scope="col">"Verdict"</th></tr></thead>
                        <tbody>{rules.into_iter().map(rule_row).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
            {(!quotas.is_empty()).then(|| view! {
                <h3>"Quotas that apply"</h3>
                <table>
                    <caption class="visually-hidden">"Quotas that apply"</caption>
                    <thead><tr><th scope="col">"Quota of"</th><th scope="col">"Counts"</th><th scope="col">"Used"</th><th scope="col">"Starts anew in"</th><th scope="col">"Verdict"</th></tr></thead>
                    <tbody>{quotas.into_iter().map(quota_row).collect_view()}</tbody>
                </table>
            })}
            {(!limits.is_empty()).then(|| view! {
                <h3>"Rate limits that apply"</h3>
                <table>
                    <caption class="visually-hidden">"Rate limits that apply"</caption>
                    <thead><tr><th scope="col">"Limit of"</th><th scope="col">"Window"</th><th scope="col">"Limit"</th><th scope="col">"Left now"</th><th scope="col">"Policy"</th><th scope="col">"Verdict"</th></tr></thead>
                    <tbody>{limits.into_iter().map(limit_row).collect_view()}</tbody>
                </table>
            })}
        </section>
    }
}

fn quota_row(q: QuotaFinding) -> impl IntoView {
    let verdict = match (q.decides, q.used >= q.amount) {
        (true, _) => "decides: used up",
        (false, true) => "used up",
        (false, false) => "has room",
    };
    view! {
        <tr>
            <td>{format!("{} {}", q.subject_type.label(), q.subject_name)}</td>
            <td>{format!("{} a {}", q.metric.as_str(), q.period.as_str())}</td>
            <td>{format!("{} of {}", group_digits(q.used), group_digits(q.amount))}</td>
            <td>{format!("{} s", group_digits(q.resets_in))}</td>
            <td>{verdict}</td>
        </tr>
    }
}

fn limit_row(l: LimitFinding) -> impl IntoView {
    let verdict = match (l.decides, l.retry_after) {
        (true, Some(s)) => format!("decides: used up, room again in {s} s"),
        (true, None) => "the tightest".to_owned(),
        (false, Some(s)) => format!("used up, room again in {s} s"),
        (false, None) => "has room".to_owned(),
    };
    view! {
        <tr>
            <td>{format!("{} {}", l.subject_type.label(), l.subject_name)}</td>
            <td>{format!("a {}", l.window)}</td>
            <td>{group_digits(l.limit)}</td>
            <td>{group_digits(l.remaining)}</td>
            <td>{l.policy.as_str()}</td>
            <td>{verdict}</td>
        </tr>
    }
}

fn rule_row(r: RuleFinding) -> impl IntoView {
    let of = match r.consumer_group {
        Some(g) if g.enabled => format!("group {}", g.name),
        Some(g) => format!("group {} (disabled)", g.name),
        None => "the consumer".to_owned(),
    };
    let verdict = match r.verdict.as_str() {
        "applies" => "applies",
        "other-api" => "another model API",
        "other-environment" => "another environment",
        "expired" => "expired",
        "group-disabled" => "its group is disabled",
        other => other,
    }
    .to_owned();
    view! {
        <tr>
            <td>{of}</td>
            <td>{r.api_name}</td>
            <td>{r.environment_name}</td>
            <td>{match r.expires_at {
                Some(at) => view! { <LocalTime ms=at /> }.into_any(),
                None => view! { "never" }.into_any(),
            }}</td>
            <td>{verdict}</td>
        </tr>
    }
}
