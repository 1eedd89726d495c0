//! The consumer-group details panel: basic information, members (add and remove), and the
//! authorization rules that grant the group. Loaded by one server function so it renders
//! completely on the server.

use crate::domain::records::{ConsumerGroupDetails as Details, ConsumerRef};
use crate::server_fns::consumers::{add_to_group, remove_from_group};
use crate::server_fns::groups::group_details;
use crate::ui::components::LocalTime;
use crate::ui::components::{can_write, notify};
use crate::ui::pages::rules::expiry_text;
use leptos::prelude::*;

#[component]
pub fn GroupDetails(id: String, close_href: String, reload: RwSignal<u32>) -> impl IntoView {
    let details = Resource::new(
        move || (id.clone(), reload.get()),
        |(id, _)| group_details(id),
    );
    let writer = can_write();
    view! {
        <aside class="details" aria-labelledby="group-details-title">
            <div class="details-head">
                <h2 id="group-details-title">"Consumer group details"</h2>
                <a href=close_href aria-label="Close details">"✕"</a>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading consumer group…"</p> }>
                {move || Suspend::new(async move {
                    match details.await {
                        Ok(d) => body(d, writer, reload).into_any(),
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </aside>
    }
}

fn body(d: Details, writer: bool, reload: RwSignal<u32>) -> impl IntoView {
    let Details {
        group: g,
        members,
        candidates,
        rules,
    } = d;
    let base = format!("/instances/{}", g.instance_id);
    let member_rows = members
        .iter()
        .map(|m| {
            let (cid, gid, name) = (m.id.clone(), g.id.clone(), m.name.clone());
            let remove = move |_| {
                let (cid, gid, name) = (cid.clone(), gid.clone(), name.clone());
                leptos::task::spawn_local(async move {
                    match remove_from_group(cid, gid).await {
                        Ok(_) => notify(false, format!("{name} removed from the group.")),
                        Err(e) => notify(true, e.to_string()),
                    }
                    reload.update(|r| *r += 1);
                });
            };
            let label = format!("Remove {} from the group", m.name);
            view! {
                <tr>
                    <td><a href=format!("{base}/consumers?consumer={}", m.id)>{m.name.clone()}</a></td>
                    <td>{writer.then(|| view! { <button type="button" class="link danger" aria-label=label on:click=remove>"Remove"</button> })}</td>
                </tr>
            }
        })
        .collect_view();
    let shown = members.len() as i64;
    let more = (g.member_count > shown).then(|| {
        view! { <p class="hint">{format!("Showing the first {shown} of {} members.", g.member_count)}</p> }
    });
    let add = writer.then(|| add_member(g.id.clone(), candidates, reload));
    let rule_rows = rules
        .into_iter()
        .map(|r| {
            view! {
                <tr>
                    <td>{r.api.name.clone()}<br /><span class="mono">{r.base_path.clone()}</span></td>
                    <td>{r.environment.name.clone()}</td>
                    <td>{expiry_text(r.expire_mode, r.expire_timestamp)}</td>
                    <td>{r.expire_status.label()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="group-basic-info">
            <h3 id="group-basic-info">"Basic Information"</h3>
            <dl class="facts">
                <dt>"ID"</dt><dd>{g.id.clone()}</dd>
                <dt>"Name"</dt><dd>{g.name.clone()}</dd>
                <dt>"Status"</dt><dd>{if g.enabled { "Enabled" } else { "Disabled: grants nothing" }}</dd>
                <dt>"Members"</dt><dd>{g.member_count}</dd>
                <dt>"Creation Time"</dt><dd><LocalTime ms=g.created_at /></dd>
                <dt>"Description"</dt><dd>{if g.description.is_empty() { "—".to_owned() } else { g.description.clone() }}</dd>
            </dl>
        </section>
        <section aria-labelledby="group-members">
            <h3 id="group-members">"Members"</h3>
            {add}
            {if members.is_empty() {
                view! { <p class="empty">"No members."</p> }.into_any()
            } else {
                view! {
                    <table aria-label="Members">
                        <thead><tr><th scope="col">"Consumer"</th><th scope="col">"Actions"</th></tr></thead>
                        <tbody>{member_rows}</tbody>
                    </table>
                }.into_any()
            }}
            {more}
        </section>
        <section aria-labelledby="group-rules">
            <h3 id="group-rules">"Authorization"</h3>
            <p class="hint">"Every enabled member may call these model APIs while the group is enabled."</p>
            <table aria-label="Group authorization rules">
                <thead><tr><th scope="col">"Model API"</th><th scope="col">"Environment"</th><th scope="col">"Expiry"</th><th scope="col">"Status"</th></tr></thead>
                <tbody>{rule_rows}</tbody>
            </table>
            <p><a href=format!("{base}/authorization")>"Grant on the Authorization page"</a></p>
        </section>
    }
}

/// A select of the instance's consumers that are not members yet, and an Add button.
fn add_member(
    group_id: String,
    candidates: Vec<ConsumerRef>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let chosen = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (cid, gid) = (chosen.get_untracked(), group_id.clone());
        if cid.is_empty() {
            notify(true, "Select a consumer to add.".to_owned());
            return;
        }
        leptos::task::spawn_local(async move {
            match add_to_group(cid, gid).await {
                Ok(c) => notify(false, format!("{} added to the group.", c.name)),
                Err(e) => notify(true, e.to_string()),
            }
            reload.update(|r| *r += 1);
        });
    };
    let options = candidates
        .into_iter()
        .map(|c| view! { <option value=c.id>{c.name}</option> })
        .collect_view();
    view! {
        <form class="inline" on:submit=submit>
            <label for="group-add-member">"Add a consumer"</label>
            <select id="group-add-member" on:change=move |ev| chosen.set(event_target_value(&ev))>
                <option value="">"Select a consumer"</option>
                {options}
            </select>
            <button type="submit">"Add"</button>
        </form>
    }
}
