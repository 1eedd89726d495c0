//! Grant, edit-expiry and revoke dialogs of the Authorization page.

use crate::domain::authorization::ExpireMode;
use crate::domain::inputs::{NewRule, RuleExpiryUpdate};
use crate::domain::records::AuthorizationRule;
use crate::domain::{format_input_time, parse_time_utc};
use crate::error::AppError;
use crate::server_fns::consumers::list_consumers;
use crate::server_fns::environments::list_environments;
use crate::server_fns::groups::list_groups;
use crate::server_fns::model_apis::list_apis;
use crate::server_fns::rules::{create_rule, delete_rule, update_rule_expiry};
use crate::ui::components::{save, FormDialog, SearchSelect, SelectOne};
use leptos::prelude::*;

/// The expiry mode and, for ShortTerm, the expiry time (UTC) as typed.
#[component]
fn ExpiryFields(
    mode: RwSignal<String>,
    time: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let modes = vec![
        ("LongTerm".to_owned(), "LongTerm (until revoked)".to_owned()),
        (
            "ShortTerm".to_owned(),
            "ShortTerm (until a time)".to_owned(),
        ),
    ];
    view! {
        <SelectOne id="rule-expire-mode" label="Expiry mode" options=modes value=mode />
        <Show when=move || mode.get() == ExpireMode::ShortTerm.as_str()>
            <div class="field">
                <label for="rule-expire-at">"Expiry time (UTC)"</label>
                <input id="rule-expire-at" type="datetime-local" step="1" aria-describedby="rule-expire-at-error"
                    prop:value=move || time.get() on:input=move |ev| time.set(event_target_value(&ev)) />
                <p class="field-error" id="rule-expire-at-error">{move || error.get()}</p>
            </div>
        </Show>
    }
}

/// The expiry time in milliseconds, or the message to show at the time field.
fn expiry_ms(mode: &str, time: &str) -> Result<Option<i64>, String> {
    if mode != ExpireMode::ShortTerm.as_str() {
        return Ok(None);
    }
    parse_time_utc(time)
        .map(Some)
        .ok_or_else(|| "Enter the expiry date and time.".to_owned())
}

fn time_error(
    server: RwSignal<Option<AppError>>,
    local: RwSignal<Option<String>>,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        local.get().or_else(|| {
            server
                .get()
                .and_then(|e| e.field_message("ExpireTimestamp"))
        })
    })
}

/// The field that shows its own server error.
const FIELDS: &[&str] = &["ExpireTimestamp"];

fn principal_types() -> Vec<(String, String)> {
    vec![
        ("Consumer".to_owned(), "Consumer".to_owned()),
        ("ConsumerGroup".to_owned(), "Consumer group".to_owned()),
    ]
}

#[component]
pub fn GrantDialog(
    instance_id: String,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let principal_type = RwSignal::new("Consumer".to_owned());
    let principal = RwSignal::new(String::new());
    let api = RwSignal::new(String::new());
    let environment = RwSignal::new(String::new());
    let mode = RwSignal::new("LongTerm".to_owned());
    let time = RwSignal::new(String::new());
    let local = RwSignal::new(None::<String>);
    let server = RwSignal::new(None::<AppError>);
    let iid = instance_id.clone();
    let envs = Resource::new(|| (), move |_| list_environments(iid.clone()));
    let (ci, gi, ai) = (instance_id.clone(), instance_id.clone(), instance_id);
    let find_consumers = move |q: String, n: u32| {
        let iid = ci.clone();
        async move {
            let p = list_consumers(iid, q, String::new(), String::new(), Some(1), Some(n)).await?;
            Ok((
                p.total_size,
                p.items.into_iter().map(|c| (c.id, c.name)).collect(),
            ))
        }
    };
    let find_groups = move |q: String, n: u32| {
        let iid = gi.clone();
        async move {
            let p = list_groups(iid, q, Some(1), Some(n)).await?;
            Ok((
                p.total_size,
                p.items.into_iter().map(|g| (g.id, g.name)).collect(),
            ))
        }
    };
    let find_apis = move |q: String, n: u32| {
        let iid = ai.clone();
        async move {
            let p = list_apis(iid, q, Some(1), Some(n)).await?;
            Ok((
                p.total_size,
                p.items
                    .into_iter()
                    .map(|a| (a.id, format!("{} ({})", a.name, a.base_path)))
                    .collect(),
            ))
        }
    };
    let pending = RwSignal::new(false);
    let submit = move |_| {
        server.set(None);
        local.set(None);
        let at = match expiry_ms(&mode.get_untracked(), &time.get_untracked()) {
            Ok(at) => at,
            Err(msg) => return local.set(Some(msg)),
        };
        let input = NewRule {
            principal_type: principal_type.get_untracked(),
            principal_id: principal.get_untracked(),
            api_id: api.get_untracked(),
            environment_id: environment.get_untracked(),
            expire_mode: mode.get_untracked(),
            expire_timestamp: at,
        };
        save(
            pending,
            server,
            create_rule(input),
            |r| {
                format!(
                    "{} may now call {} in {}.",
                    r.principal.name, r.api.name, r.environment.name
                )
            },
            on_done,
        );
    };
    view! {
        <FormDialog title="Grant authorization" on_close=on_close on_submit=submit pending=pending server=server fields=FIELDS>
                <SelectOne id="rule-principal-type" label="Authorize" options=principal_types() value=principal_type />
                {move || if principal_type.get() == "Consumer" {
                    view! { <SearchSelect id="rule-consumer" label="Consumer" noun="consumers" fetch=find_consumers.clone() value=principal /> }.into_any()
                } else {
                    view! { <SearchSelect id="rule-group" label="Consumer group" noun="consumer groups" fetch=find_groups.clone() value=principal /> }.into_any()
                }}
                <SearchSelect id="rule-api" label="Model API" noun="model APIs" fetch=find_apis value=api />
                <Suspense fallback=|| view! { <p class="loading">"Loading environments…"</p> }>
                    {move || Suspend::new(async move {
                        match envs.await {
                            Ok(list) => {
                                let opts: Vec<_> = list.into_iter().map(|e| (e.id, e.name)).collect();
                                if environment.get_untracked().is_empty() {
                                    environment.set(opts.first().map(|(id, _)| id.clone()).unwrap_or_default());
                                }
                                view! { <SelectOne id="rule-environment" label="Environment" options=opts value=environment /> }.into_any()
                            }
                            Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
                <ExpiryFields mode=mode time=time error=time_error(server, local) />
        </FormDialog>
    }
}

#[component]
pub fn EditExpiryDialog(
    rule: AuthorizationRule,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let mode = RwSignal::new(rule.expire_mode.as_str().to_owned());
    let time = RwSignal::new(
        rule.expire_timestamp
            .map(format_input_time)
            .unwrap_or_default(),
    );
    let local = RwSignal::new(None::<String>);
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let (id, version) = (rule.id.clone(), rule.version);
    let submit = move |_| {
        server.set(None);
        local.set(None);
        let at = match expiry_ms(&mode.get_untracked(), &time.get_untracked()) {
            Ok(at) => at,
            Err(msg) => return local.set(Some(msg)),
        };
        let input = RuleExpiryUpdate {
            expire_mode: mode.get_untracked(),
            expire_timestamp: at,
            version,
        };
        save(
            pending,
            server,
            update_rule_expiry(id.clone(), input),
            |_| "Expiry saved.".to_owned(),
            on_done,
        );
    };
    view! {
        <FormDialog title="Edit expiry" on_close=on_close on_submit=submit pending=pending server=server fields=FIELDS>
            <p>{format!("{} → {} in {}", rule.principal.name, rule.api.name, rule.environment.name)}</p>
            <ExpiryFields mode=mode time=time error=time_error(server, local) />
        </FormDialog>
    }
}

#[component]
pub fn RevokeDialog(
    rule: AuthorizationRule,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let id = rule.id.clone();
    let submit = move |_| {
        let change = delete_rule(id.clone());
        save(
            pending,
            server,
            change,
            |_| "Authorization revoked.".to_owned(),
            on_done,
        );
    };
    view! {
        <FormDialog title="Revoke authorization" on_close=on_close on_submit=submit pending=pending server=server danger=true>
            <p>{format!("{} will no longer be able to call {} in {}.", rule.principal.name, rule.api.name, rule.environment.name)}</p>
        </FormDialog>
    }
}
