//! The Authorization page of an instance: who may call which model API in which
//! environment, until when; grant, edit expiry, revoke. Filters live in the URL.

use super::dialogs::{EditExpiryDialog, GrantDialog, RevokeDialog};
use crate::domain::authorization::{ExpireMode, ExpireStatus, PrincipalType};
use crate::domain::records::AuthorizationRule;
use crate::server_fns::rules::list_rules;
use crate::ui::components::LocalTime;
use crate::ui::components::{can_write, ListQuery, ListTable};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// Which dialog is open.
#[derive(Debug, Clone, PartialEq)]
enum Open {
    None,
    Grant,
    Edit(AuthorizationRule),
    Revoke(AuthorizationRule),
}

#[component]
pub fn AuthorizationPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let instance_id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let list_query = Memo::new(move |_| {
        let map = query.read();
        ListQuery::from_params(&map, "rule").with_filters(&map, &["who", "status"])
    });
    let reload = RwSignal::new(0u32);
    let open = RwSignal::new(Open::None);
    let rules = Resource::new(
        move || (instance_id.get(), list_query.get(), reload.get()),
        |(iid, q, _)| {
            let (who, status) = (q.filter("who"), q.filter("status"));
            list_rules(iid, q.q, who, status, Some(q.page), Some(q.size))
        },
    );
    let changed = Callback::new(move |_: ()| {
        open.set(Open::None);
        reload.update(|r| *r += 1);
    });
    let close = Callback::new(move |_: ()| open.set(Open::None));
    let writer = can_write();
    view! {
        <h1>"Authorization"</h1>
        <p class="hint">"A rule lets a consumer, or every member of a consumer group, call a model API in an environment. ShortTerm rules stop granting at their expiry time."</p>
        <div class="toolbar">
            {writer.then(|| view! { <button type="button" class="primary" on:click=move |_| open.set(Open::Grant)>"Grant authorization"</button> })}
            <form method="get" role="search" class="search filters" aria-label="Filter rules">
                <label for="filter-api">"API name"</label>
                <input id="filter-api" type="search" name="q" value=move || list_query.get().q />
                <label for="filter-who">"Consumer name"</label>
                <input id="filter-who" type="search" name="who" value=move || list_query.get().filter("who") />
                <label for="filter-status">"Status"</label>
                <select id="filter-status" name="status">
                    <option value="" selected=move || list_query.get().filter("status").is_empty()>"All"</option>
                    {[ExpireStatus::InEffect, ExpireStatus::Expired].into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || list_query.get().filter("status") == s.as_str()>{s.label()}</option>
                    }).collect_view()}
                </select>
                <button type="submit">"Search"</button>
            </form>
        </div>
        <ListTable what="authorization rules" label="Authorization rules" page=rules query=list_query selected_key="rule"
            columns=vec!["Consumer / group", "Model API", "Environment", "Expiry", "Status", "Creation Time", "Actions"]
            row=move |r: AuthorizationRule, _: &ListQuery| rule_row(r, writer, open) />
        {move || match open.get() {
            Open::None => ().into_any(),
            Open::Grant => view! { <GrantDialog instance_id=instance_id.get() on_close=close on_done=changed /> }.into_any(),
            Open::Edit(r) => view! { <EditExpiryDialog rule=r on_close=close on_done=changed /> }.into_any(),
            Open::Revoke(r) => view! { <RevokeDialog rule=r on_close=close on_done=changed /> }.into_any(),
        }}
    }
}

/// "LongTerm" or "ShortTerm, until …" as the console shows it.
pub fn expiry_text(mode: ExpireMode, at: Option<i64>) -> AnyView {
    match (mode, at) {
        (ExpireMode::ShortTerm, Some(t)) => {
            view! { "ShortTerm, until " <LocalTime ms=t /> }.into_any()
        }
        _ => "LongTerm".into_any(),
    }
}

fn rule_row(r: AuthorizationRule, writer: bool, open: RwSignal<Open>) -> impl IntoView {
    let principal = match r.principal_type {
        PrincipalType::Consumer => view! {
            <a href=format!("/instances/{}/consumers?consumer={}", r.instance_id, r.principal.id)>{r.principal.name.clone()}</a>
        }
        .into_any(),
        PrincipalType::ConsumerGroup => view! { <span>{format!("{} (group)", r.principal.name)}</span> }.into_any(),
    };
    let who = format!("{} → {}", r.principal.name, r.api.name);
    let (edit, revoke) = (r.clone(), r.clone());
    let status_class = match r.expire_status {
        ExpireStatus::InEffect => "ok",
        ExpireStatus::Expired => "warn",
    };
    view! {
        <tr id=r.id.clone()>
            <td>{principal}</td>
            <td>{r.api.name.clone()}<br /><span class="mono">{r.base_path.clone()}</span></td>
            <td>{r.environment.name.clone()}</td>
            <td>{expiry_text(r.expire_mode, r.expire_timestamp)}</td>
            <td class=status_class>{r.expire_status.label()}</td>
            <td><LocalTime ms=r.created_at /></td>
            <td class="actions">{writer.then(|| view! {
                <button type="button" class="link" aria-label=format!("Edit expiry of {who}") on:click=move |_| open.set(Open::Edit(edit.clone()))>"Edit expiry"</button>
                <button type="button" class="link danger" aria-label=format!("Revoke {who}") on:click=move |_| open.set(Open::Revoke(revoke.clone()))>"Revoke"</button>
            })}</td>
        </tr>
    }
}
