//! The Authorization section of the consumer details panel: the data of the REST
//! operation `ListConsumerAuthorizationRules`, with the rules inherited through groups, searchable by
//! API name and paginated.

use crate::domain::authorization::{ExpireStatus, PrincipalType};
use crate::domain::paging::DEFAULT_PAGE_SIZE;
use crate::domain::rule_view::ConsumerAuthorizationRule;
use crate::domain::Page;
use crate::ui::components::ListQuery;
use crate::ui::pages::rules::expiry_text;
use leptos::prelude::*;

/// Rules per page in the panel.
pub const PAGE_SIZE: u32 = 5;
/// Query-string keys of the section's search text and page.
pub const SEARCH_KEY: &str = "rq";
pub const PAGE_KEY: &str = "rp";

/// The section's search text and page, read from the URL like every other list state.
pub fn rules_query(query: &ListQuery) -> (String, u32) {
    let page = query
        .filter(PAGE_KEY)
        .parse()
        .ok()
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    (query.filter(SEARCH_KEY), page)
}

/// Rendered from data loaded with the consumer, with no reactive parts of its own: the
/// search is a GET form and the pages are links, so it works without JavaScript and
/// survives reload.
#[component]
pub fn ConsumerRules(
    instance_id: String,
    rules: Page<ConsumerAuthorizationRule>,
    /// The URL state of the page (list query and opened consumer, with `rq`/`rp`).
    here: ListQuery,
) -> impl IntoView {
    let (search, _) = rules_query(&here);
    let search_value = search.clone();
    let hidden = [
        ("q", (!here.q.is_empty()).then(|| here.q.clone())),
        ("page", (here.page != 1).then(|| here.page.to_string())),
        (
            "size",
            (here.size != DEFAULT_PAGE_SIZE).then(|| here.size.to_string()),
        ),
        ("consumer", here.selected.clone()),
    ];
    let link = move |page: u32| {
        let mut q = here.clone();
        q.filters = vec![
            (SEARCH_KEY.to_owned(), search.clone()),
            (PAGE_KEY.to_owned(), page.to_string()),
        ]
        .into_iter()
        .filter(|(k, v)| {
            if k == PAGE_KEY {
                v != "1"
            } else {
                !v.is_empty()
            }
        })
        .collect();
        q.href("consumer")
    };
    let pages = rules.page_count() as u32;
    let current = rules.page_number;
    let authorization_href = format!("/instances/{instance_id}/authorization");
    let body = if rules.items.is_empty() {
        view! { <p class="empty">"No authorization rules."</p> }.into_any()
    } else {
        view! {
            <table aria-label="Authorized model APIs">
                <thead><tr><th scope="col">"Model API"</th><th scope="col">"Environment"</th><th scope="col">"Granted to"</th><th scope="col">"Expiry"</th><th scope="col">"Status"</th></tr></thead>
                <tbody>
                    {rules.items.into_iter().map(|r| {
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
                <span class="total">{format!("Total {} items", rules.total_size)}</span>
                {if current > 1 { view! { <a href=link(current - 1) rel="prev">"Previous"</a> }.into_any() } else { view! { <span class="disabled" aria-disabled="true">"Previous"</span> }.into_any() }}
                <span>{format!("Page {current} of {pages}")}</span>
                {if current < pages { view! { <a href=link(current + 1) rel="next">"Next"</a> }.into_any() } else { view! { <span class="disabled" aria-disabled="true">"Next"</span> }.into_any() }}
            </nav>
        }.into_any()
    };
    view! {
        <section aria-labelledby="authorization-section">
            <h3 id="authorization-section">"Authorization"</h3>
            <form method="get" role="search" class="search" aria-label="Search authorized APIs">
                {hidden.into_iter().filter_map(|(k, v)| v.map(|v| view! { <input type="hidden" name=k value=v /> })).collect_view()}
                <label for="consumer-rule-search" class="visually-hidden">"Search by API name"</label>
                <input id="consumer-rule-search" type="search" name=SEARCH_KEY placeholder="Search by API name" value=search_value />
                <button type="submit">"Search"</button>
            </form>
            {body}
            <p><a href=authorization_href>"Manage authorization"</a></p>
        </section>
    }
}
