//! The Authorization section of the consumer details panel: the data of the seed's
//! `ListConsumerAuthorizationRules`, with the rules inherited through groups, searchable by
//! API name and paginated.

use super::authorization::expiry_text;
use crate::domain::authorization::{ExpireStatus, PrincipalType};
use crate::domain::rule_view::ConsumerAuthorizationRule;
use crate::domain::Page;
use crate::error::AppError;
use crate::server_fns::authorization::list_consumer_rules;
use leptos::prelude::*;

/// Rules per page in the panel.
pub const PAGE_SIZE: u32 = 5;

/// Renders the first page loaded with the consumer (so it is in the server-rendered HTML);
/// searching and paging then fetch in the browser.
#[component]
pub fn ConsumerRules(
    consumer_id: String,
    instance_id: String,
    initial: Page<ConsumerAuthorizationRule>,
) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let search = RwSignal::new(String::new());
    let rules = RwSignal::new(Ok::<_, AppError>(initial));
    let load = move |page: u32| {
        let (id, q) = (consumer_id.clone(), search.get_untracked());
        leptos::task::spawn_local(async move {
            rules.set(list_consumer_rules(id, q, Some(page), Some(PAGE_SIZE)).await);
        });
    };
    let (load_search, load_page) = (load.clone(), load);
    let page = Callback::new(move |p: u32| load_page(p));
    let authorization_href = format!("/instances/{instance_id}/authorization");
    view! {
        <section aria-labelledby="authorization-section">
            <h3 id="authorization-section">"Authorization"</h3>
            <form role="search" class="search" aria-label="Search authorized APIs" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                search.set(typed.get());
                load_search(1);
            }>
                <label for="consumer-rule-search" class="visually-hidden">"Search by API name"</label>
                <input id="consumer-rule-search" type="search" placeholder="Search by API name" prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev)) />
                <button type="submit">"Search"</button>
            </form>
            {move || {
                    match rules.get() {
                        Ok(p) if p.items.is_empty() => view! { <p class="empty">"No authorization rules."</p> }.into_any(),
                        Ok(p) => {
                            let pages = ((p.total_size + i64::from(PAGE_SIZE) - 1) / i64::from(PAGE_SIZE)).max(1) as u32;
                            let current = p.page_number;
                            view! {
                                <table aria-label="Authorized model APIs">
                                    <thead><tr><th scope="col">"Model API"</th><th scope="col">"Environment"</th><th scope="col">"Granted to"</th><th scope="col">"Expiry"</th><th scope="col">"Status"</th></tr></thead>
                                    <tbody>
                                        {p.items.into_iter().map(|r| {
                                            let source = match r.source.as_ref() {
                                                Some(s) if s.kind == PrincipalType::ConsumerGroup => format!("Group {}", s.consumer_group_name.clone().unwrap_or_default()),
                                                _ => "This consumer".to_owned(),
                                            };
                                            let class = if r.expire_status == ExpireStatus::InEffect { "ok" } else { "warn" };
                                            view! {
                                                <tr>
                                                    <td>{r.api_info.name.clone()}<br /><span class="mono">{r.api_info.base_path.clone()}</span></td>
                                                    <td>{r.environment_info.name.clone()}</td>
                                                    <td>{source}</td>
                                                    <td>{expiry_text(r.expire_mode, r.expire_timestamp)}</td>
                                                    <td class=class>{r.expire_status.label()}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <nav class="pager" aria-label="Authorization pages">
                                    <span class="total">{format!("Total {} items", p.total_size)}</span>
                                    <button type="button" class="link" disabled={current <= 1} on:click=move |_| page.run(current - 1)>"Previous"</button>
                                    <span>{format!("Page {current} of {pages}")}</span>
                                    <button type="button" class="link" disabled={current >= pages} on:click=move |_| page.run(current + 1)>"Next"</button>
                                </nav>
                            }.into_any()
                        }
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
            }}
            <p><a href=authorization_href>"Manage authorization"</a></p>
        </section>
    }
}
