//! The consumer list of an instance (search, pagination, actions), with its details panel
//! (basic information, credentials, authorization rules).

use super::credentials::{
    toggle_credential, AddCredentialDialog, RemoveCredentialDialog, RotateCredentialDialog,
};
use super::dialogs::{DeleteConsumerDialog, EditConsumerDialog, NewConsumerDialog, UnbindDialog};
use super::rules::{
    rules_query, ConsumerRules, PAGE_KEY as RULES_PAGE_KEY, PAGE_SIZE as RULES_PAGE,
    SEARCH_KEY as RULES_SEARCH,
};
use crate::domain::credentials::CredentialMethod;
use crate::domain::records::{Consumer, Credential, Quota};
use crate::domain::rule_view::ConsumerAuthorizationRule;
use crate::domain::url_encode;
use crate::domain::usage_charts::Chart;
use crate::domain::usage_overview::{UsageFilter, UsageOverview, UsageRange};
use crate::domain::Page;
use crate::error::AppError;
use crate::server_fns::consumers::consumer_details;
use crate::server_fns::consumers::{list_consumers, remove_from_group, set_consumer_enabled};
use crate::server_fns::groups::list_groups;
use crate::server_fns::quotas::quota_page;
use crate::server_fns::usage::instance_usage;
use crate::ui::components::notify;
use crate::ui::components::LocalTime;
use crate::ui::components::{can_write, ListQuery, ListTable, Toolbar};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The query-string key of the opened details panel.
const SELECTED: &str = "consumer";

/// Which dialog is open.
#[derive(Debug, Clone, PartialEq)]
pub enum Open {
    None,
    New,
    Edit(Consumer),
    Delete(Consumer),
    AddCredential(Consumer),
    Unbind(Consumer, Credential),
    RotateCredential(Credential),
    RemoveCredential(Consumer, Credential),
}

/// URL keys of the list's own filters: a group's members, a key's holders.
const GROUP_FILTER: &str = "group";
const KEY_FILTER: &str = "key";
/// The details panel's state, dropped when another consumer is opened or the panel closed.
const PANEL_STATE: &[&str] = &[RULES_SEARCH, RULES_PAGE_KEY];

#[component]
pub fn ConsumersPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let instance_id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    // The opened panel's own state (its rule search and page) rides along in the URL.
    let list_query = Memo::new(move |_| {
        let map = query.read();
        ListQuery::from_params(&map, SELECTED).with_filters(
            &map,
            &[GROUP_FILTER, KEY_FILTER, RULES_SEARCH, RULES_PAGE_KEY],
        )
    });
    let reload = RwSignal::new(0u32);
    let open = RwSignal::new(Open::None);
    // `?new=1` (coming back from the Keys page's New Key) opens New Consumer once hydrated.
    Effect::new(move |_| {
        if query.read().get("new").as_deref() == Some("1") && can_write() {
            open.set(Open::New);
        }
    });
    let consumers = Resource::new(
        move || {
            (
                instance_id.get(),
                list_query
                    .get()
                    .with_selected(None)
                    .without_filters(PANEL_STATE),
                reload.get(),
            )
        },
        |(iid, q, _)| {
            let (group, key) = (q.filter(GROUP_FILTER), q.filter(KEY_FILTER));
            list_consumers(iid, q.q, group, key, Some(q.page), Some(q.size))
        },
    );
    let groups = Resource::new(
        move || instance_id.get(),
        |iid| list_groups(iid, String::new(), Some(1), Some(100)),
    );
    let changed = Callback::new(move |_: ()| {
        open.set(Open::None);
        reload.update(|r| *r += 1);
    });
    let close = Callback::new(move |_: ()| open.set(Open::None));
    let writer = can_write();
    view! {
        <h1>"Consumer"</h1>
        <p class="hint">"A consumer is a final API caller. Consumers must join at least one consumer group to obtain access to model APIs through it."</p>
        <Toolbar new_label="New Consumer" on_new=move |_| open.set(Open::New)
            search_id="consumer-search" search_label="Search consumers by name" search_placeholder="Search by name"
            search=Signal::derive(move || list_query.get().q)>
            <label for="consumer-group-filter" class="visually-hidden">"Only members of"</label>
            <select id="consumer-group-filter" name=GROUP_FILTER>
                <option value="">"All consumer groups"</option>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let chosen = list_query.get().filter(GROUP_FILTER);
                        groups.await.map(|page| page.items.into_iter().map(|g| {
                            let selected = g.id == chosen;
                            view! { <option value=g.id selected=selected>{g.name}</option> }
                        }).collect_view()).ok()
                    })}
                </Suspense>
            </select>
            <label for="consumer-key-filter" class="visually-hidden">"Holding a key named or starting with"</label>
            <input id="consumer-key-filter" type="search" name=KEY_FILTER placeholder="Key name or prefix" value=move || list_query.get().filter(KEY_FILTER) />
        </Toolbar>
        <div class="split">
            <section class="list" aria-label="Consumer list">
                <ListTable what="consumers" page=consumers query=list_query selected_key=SELECTED
                    columns=vec!["ID/Name", "Consumer Group", "Credentials", "Creation Time", "Description", "Actions"]
                    row=move |c: Consumer, q: &ListQuery| consumer_row(c, q, writer, open) />
            </section>
            {move || list_query.get().selected.map(|id| {
                let here = list_query.get();
                let close_href = here.with_selected(None).without_filters(PANEL_STATE).href(SELECTED);
                view! { <ConsumerDetails id=id here=here close_href=close_href reload=reload open=open /> }
            })}
        </div>
        {move || match open.get() {
            Open::None => ().into_any(),
            Open::New => view! { <NewConsumerDialog instance_id=instance_id.get() on_close=close on_done=changed /> }.into_any(),
            Open::Edit(c) => view! { <EditConsumerDialog consumer=c on_close=close on_done=changed /> }.into_any(),
            Open::Delete(c) => view! { <DeleteConsumerDialog consumer=c on_close=close on_done=changed /> }.into_any(),
            Open::AddCredential(c) => view! { <AddCredentialDialog consumer=c on_close=close on_done=changed /> }.into_any(),
            Open::Unbind(c, k) => view! { <UnbindDialog consumer=c credential=k on_close=close on_done=changed /> }.into_any(),
            Open::RotateCredential(k) => view! { <RotateCredentialDialog credential=k on_close=close on_done=changed /> }.into_any(),
            Open::RemoveCredential(c, k) => view! { <RemoveCredentialDialog consumer=c credential=k on_close=close on_done=changed /> }.into_any(),
        }}
    }
}

fn consumer_row(c: Consumer, q: &ListQuery, writer: bool, open: RwSignal<Open>) -> impl IntoView {
    let href = q
        .with_selected(Some(c.id.clone()))
        .without_filters(PANEL_STATE)
        .href(SELECTED);
    let groups = if c.groups.is_empty() {
        "—".to_owned()
    } else {
        c.groups
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (edit, delete) = (c.clone(), c.clone());
    let label = c.name.clone();
    view! {
        <tr>
            <td>
                <a href=href aria-label=format!("{} details", c.name)>
                    <span class="id">{c.id.clone()}</span>
                    <br />
                    <span>{c.name.clone()}</span>
                </a>
                {(!c.enabled).then(|| view! { " " <span class="badge">"Disabled"</span> })}
            </td>
            <td>{groups}</td>
            <td>{c.credentials.len()}</td>
            <td><LocalTime ms=c.created_at /></td>
            <td class="description">{c.description.clone()}</td>
            <td class="actions">
                {writer.then(|| view! {
                    <button type="button" class="link" aria-label=format!("Edit {label}") on:click=move |_| open.set(Open::Edit(edit.clone()))>"Edit"</button>
                    <button type="button" class="link danger" aria-label=format!("Delete {label}") on:click=move |_| open.set(Open::Delete(delete.clone()))>"Delete"</button>
                })}
            </td>
        </tr>
    }
}

/// The panel on the right: Basic Information and Credential Management.
#[component]
fn ConsumerDetails(
    id: String,
    here: ListQuery,
    close_href: String,
    reload: RwSignal<u32>,
    open: RwSignal<Open>,
) -> impl IntoView {
    // The consumer and the first page of its rules load together, so the panel renders
    // completely on the server without a nested suspense.
    let (rules_search, rules_page) = rules_query(&here);
    // Its quotas come in the same load, for the same reason.
    let consumer = Resource::new(
        move || (id.clone(), reload.get()),
        move |(id, _)| {
            let search = rules_search.clone();
            async move {
                let (c, rules) =
                    consumer_details(id.clone(), search, Some(rules_page), Some(RULES_PAGE))
                        .await?;
                let quotas = quota_page(c.instance_id.clone(), id.clone(), Some(1), Some(20))
                    .await?
                    .items;
                // Its last 7 days (a panel without them is still a panel).
                let week = UsageFilter {
                    range: Some(UsageRange::LastWeek.as_str().to_owned()),
                    consumer: Some(id),
                    ..UsageFilter::default()
                };
                let usage = instance_usage(c.instance_id.clone(), week).await.ok();
                Ok::<_, AppError>(Loaded {
                    c,
                    rules,
                    quotas,
                    usage,
                })
            }
        },
    );
    let writer = can_write();
    view! {
        <aside class="details" aria-labelledby="details-title">
            <div class="details-head">
                <h2 id="details-title">"Consumer details"</h2>
                <a href=close_href aria-label="Close details">"✕"</a>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading consumer…"</p> }>
                {move || {
                    let here = here.clone();
                    Suspend::new(async move {
                    match consumer.await {
                        Ok(loaded) => details_body(loaded, here, writer, open, reload).into_any(),
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}}
            </Transition>
        </aside>
    }
}

/// The consumer's requests over the last 7 days by outcome: the Usage page's chart, with its
/// words as the text alternative, and the way to the page.
fn usage_section(c: &Consumer, o: &UsageOverview) -> impl IntoView {
    let chart = format!(
        "/v1/usage/chart?chart=requests&gatewayId={}&range=custom&from={}&to={}&consumer={}",
        url_encode(&c.instance_id),
        o.from,
        o.to,
        url_encode(&c.id)
    );
    let page = format!(
        "/instances/{}/usage?range=7d&consumer={}",
        c.instance_id,
        url_encode(&c.id)
    );
    view! {
        <section aria-labelledby="usage-section">
            <h3 id="usage-section">"Usage, last 7 days"</h3>
            <img class="small-chart" src=chart alt=Chart::Requests.summary(o) width="760" height="300" />
            <p><a href=page>"Usage of this consumer"</a></p>
        </section>
    }
}

/// Enabled or Disabled, with the button that flips it for Admins. A disabled consumer is
/// refused by enforcement whatever its keys and rules.
fn status_control(c: &Consumer, writer: bool, reload: RwSignal<u32>) -> impl IntoView {
    let (id, name, enabled, version) = (c.id.clone(), c.name.clone(), c.enabled, c.version);
    let toggle = move |_| {
        let (id, name) = (id.clone(), name.clone());
        leptos::task::spawn_local(async move {
            match set_consumer_enabled(id, !enabled, version).await {
                Ok(_) => notify(
                    false,
                    format!(
                        "Consumer {name} {}.",
                        if enabled { "disabled" } else { "enabled" }
                    ),
                ),
                Err(e) => notify(true, e.to_string()),
            }
            reload.update(|r| *r += 1);
        });
    };
    view! {
        <span>{if enabled { "Enabled" } else { "Disabled" }}</span>
        {writer.then(|| view! {
            " "
            <button type="button" class="link" on:click=toggle>{if enabled { "Disable consumer" } else { "Enable consumer" }}</button>
        })}
    }
}

/// The consumer's groups, each with a Remove button for Admins.
fn group_list(c: &Consumer, writer: bool, reload: RwSignal<u32>) -> impl IntoView {
    if c.groups.is_empty() {
        return view! { "—" }.into_any();
    }
    let items = c
        .groups
        .iter()
        .map(|g| {
            let (cid, gid, name) = (c.id.clone(), g.id.clone(), g.name.clone());
            let remove = move |_| {
                let (cid, gid, name) = (cid.clone(), gid.clone(), name.clone());
                leptos::task::spawn_local(async move {
                    match remove_from_group(cid, gid).await {
                        Ok(_) => notify(false, format!("Removed from consumer group {name}.")),
                        Err(e) => notify(true, e.to_string()),
                    }
                    reload.update(|r| *r += 1);
                });
            };
            let label = format!("Remove from {}", g.name);
            view! {
                <li>
                    {g.name.clone()}
                    {writer.then(|| view! { <button type="button" class="link danger" aria-label=label on:click=remove>"Remove"</button> })}
                </li>
            }
        })
        .collect_view();
    view! { <ul class="plain">{items}</ul> }.into_any()
}

/// "Authentication Method: API Key, HMAC (AK/SK)": the methods of the consumer's
/// credentials, in the order of `CredentialMethod::ALL`.
fn authentication_methods(c: &Consumer) -> String {
    let methods: Vec<&str> = CredentialMethod::ALL
        .into_iter()
        .filter(|m| c.credentials.iter().any(|k| k.method == *m))
        .map(CredentialMethod::label)
        .collect();
    if methods.is_empty() {
        "Authentication Method: none yet".to_owned()
    } else {
        format!("Authentication Method: {}", methods.join(", "))
    }
}

/// What the details panel shows, loaded at once.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Loaded {
    c: Consumer,
    rules: Page<ConsumerAuthorizationRule>,
    quotas: Vec<Quota>,
    usage: Option<UsageOverview>,
}

fn details_body(
    Loaded {
        c,
        rules,
        quotas,
        usage,
    }: Loaded,
    here: ListQuery,
    writer: bool,
    open: RwSignal<Open>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let groups = group_list(&c, writer, reload);
    let limits_href = format!("/instances/{}/limits?consumer={}", c.instance_id, c.id);
    let quotas_href = format!("/instances/{}/quotas?consumer={}", c.instance_id, c.id);
    let add = c.clone();
    let credentials = c.credentials.clone();
    let owner = c.clone();
    view! {
        <section aria-labelledby="basic-info">
            <h3 id="basic-info">"Basic Information"</h3>
            <dl class="facts">
                <dt>"ID"</dt><dd>{c.id.clone()}</dd>
                <dt>"Name"</dt><dd>{c.name.clone()}</dd>
                <dt>"Status"</dt><dd>{status_control(&c, writer, reload)}</dd>
                <dt>"Consumer Group"</dt><dd>{groups}</dd>
                <dt>"Creation Time"</dt><dd><LocalTime ms=c.created_at /></dd>
                <dt>"Modification Time"</dt><dd><LocalTime ms=c.updated_at /></dd>
                <dt>"Description"</dt><dd>{if c.description.is_empty() { "—".to_owned() } else { c.description.clone() }}</dd>
            </dl>
            <p><a href=limits_href>"Rate limits that cover this consumer"</a></p>
        </section>
        {usage.map(|o| usage_section(&c, &o))}
        <section aria-labelledby="quotas-section">
            <h3 id="quotas-section">"Quotas"</h3>
            {if quotas.is_empty() {
                view! { <p class="empty">"No quota covers this consumer."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain quotas">
                        {quotas.iter().map(|q| view! { <li>{crate::ui::pages::quotas::usage_bar(q)}</li> }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <p><a href=quotas_href>"Quotas that cover this consumer"</a></p>
        </section>
        <section aria-labelledby="credential-management">
            <h3 id="credential-management">"Credential Management"</h3>
            <p>{authentication_methods(&c)}</p>
            {writer.then(|| view! { <button type="button" on:click=move |_| open.set(Open::AddCredential(add.clone()))>"Add Credential"</button> })}
            {if credentials.is_empty() {
                view! { <p class="empty">"No credentials bound."</p> }.into_any()
            } else {
                view! {
                    <table aria-label="Credentials">
                        <thead><tr><th scope="col">"Name"</th><th scope="col">"Authentication Method"</th><th scope="col">"Key"</th><th scope="col">"Status"</th><th scope="col">"Actions"</th></tr></thead>
                        <tbody>
                            {credentials.into_iter().map(|k| {
                                let (owner, key) = (owner.clone(), k.clone());
                                let actions = if k.method == CredentialMethod::ApiKey {
                                    let label = format!("Unbind {}", k.name);
                                    view! {
                                        <button type="button" class="link danger" aria-label=label on:click=move |_| open.set(Open::Unbind(owner.clone(), key.clone()))>"Unbind"</button>
                                    }.into_any()
                                } else {
                                    let toggle = toggle_credential(&k, reload);
                                    let toggle_label = format!("{} {}", if k.enabled { "Disable" } else { "Enable" }, k.name);
                                    let rotate_label = format!("Rotate {}", k.name);
                                    let remove_label = format!("Remove {}", k.name);
                                    let rotated = key.clone();
                                    view! {
                                        <button type="button" class="link" aria-label=toggle_label on:click=move |_| toggle(())>{if k.enabled { "Disable" } else { "Enable" }}</button>
                                        {rotated.rotatable.then(|| view! {
                                            " "
                                            <button type="button" class="link" aria-label=rotate_label on:click=move |_| open.set(Open::RotateCredential(rotated.clone()))>"Rotate"</button>
                                        })}
                                        " "
                                        <button type="button" class="link danger" aria-label=remove_label on:click=move |_| open.set(Open::RemoveCredential(owner.clone(), key.clone()))>"Remove"</button>
                                    }.into_any()
                                };
                                view! {
                                    <tr>
                                        <td>{k.name.clone()}</td>
                                        <td>{k.method.label()}</td>
                                        <td class="mono">{if k.method == CredentialMethod::ApiKey { crate::domain::keys::masked(&k.identifier) } else { k.identifier.clone() }}</td>
                                        <td>{if k.enabled { "Enabled" } else { "Disabled" }}</td>
                                        <td>{writer.then_some(actions)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <ConsumerRules instance_id=c.instance_id.clone() rules=rules here=here />
    }
}
