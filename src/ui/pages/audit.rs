//! The audit log: one gateway's (`/instances/:id/audit`) or everything (`/audit`). Filters
//! by resource, actor and time live in the URL, so the page works without JavaScript too.

use crate::domain::records::AuditEvent;
use crate::domain::IdKind;
use crate::server_fns::audit::list_audit_events;
use crate::ui::components::LocalTime;
use crate::ui::components::{Console, ListQuery, ListTable};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The log of the gateway in the route.
#[component]
pub fn InstanceAuditPage() -> impl IntoView {
    let params = use_params_map();
    let instance_id = Memo::new(move |_| params.read().get("id"));
    view! { <AuditLog instance_id=instance_id /> }
}

/// Every gateway's log, and the account-level entries.
#[component]
pub fn GlobalAuditPage() -> impl IntoView {
    let none = Memo::new(|_| None::<String>);
    view! {
        <Console>
            <main class="page">
                <AuditLog instance_id=none />
            </main>
        </Console>
    }
}

#[component]
fn AuditLog(instance_id: Memo<Option<String>>) -> impl IntoView {
    let query = use_query_map();
    let list_query = Memo::new(move |_| {
        let map = query.read();
        ListQuery::from_params(&map, "event").with_filters(&map, &["type", "rid", "from", "to"])
    });
    let events = Resource::new(
        move || (instance_id.get(), list_query.get()),
        |(iid, q)| {
            list_audit_events(
                iid,
                q.filter("type"),
                q.filter("rid"),
                q.q.clone(),
                q.filter("from"),
                q.filter("to"),
                Some(q.page),
                Some(q.size),
            )
        },
    );
    let global = move || instance_id.get().is_none();
    view! {
        <h1>"Audit log"</h1>
        <p class="hint">
            {move || if global() { "Every change made through the console, the REST API or the CLI, in every gateway." } else { "Every change made to this gateway through the console, the REST API or the CLI." }}
            " Times are shown in your time zone (UTC without JavaScript); the time filters take UTC. Secrets never appear here."
        </p>
        <form method="get" role="search" class="filters" aria-label="Filter the audit log">
            <label for="audit-type">"Resource type"</label>
            <select id="audit-type" name="type">
                <option value="" selected=move || list_query.get().filter("type").is_empty()>"All"</option>
                {IdKind::ALL.into_iter().map(|k| view! {
                    <option value=k.noun() selected=move || list_query.get().filter("type") == k.noun()>{k.noun()}</option>
                }).collect_view()}
            </select>
            <label for="audit-rid">"Resource ID"</label>
            <input id="audit-rid" type="search" name="rid" value=move || list_query.get().filter("rid") />
            <label for="audit-actor">"Actor"</label>
            <input id="audit-actor" type="search" name="q" value=move || list_query.get().q />
            <label for="audit-from">"From (UTC)"</label>
            <input id="audit-from" type="datetime-local" step="1" name="from" value=move || list_query.get().filter("from") />
            <label for="audit-to">"To (UTC)"</label>
            <input id="audit-to" type="datetime-local" step="1" name="to" value=move || list_query.get().filter("to") />
            <button type="submit">"Filter"</button>
        </form>
        <ListTable what="audit entries" label="Audit entries" page=events query=list_query selected_key="event"
            columns=vec!["Time", "Actor", "Action", "Resource", "Change", "Request ID"]
            row=|e: AuditEvent, _: &ListQuery| event_row(e) />
    }
}

fn event_row(e: AuditEvent) -> impl IntoView {
    view! {
        <tr>
            <td><LocalTime ms=e.created_at /></td>
            <td>{e.actor}</td>
            <td>{e.action}</td>
            <td>{e.resource_type}<br /><span class="id">{e.resource_id}</span></td>
            <td class="description">{e.summary}</td>
            <td class="id">{e.request_id}</td>
        </tr>
    }
}
