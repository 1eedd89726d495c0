//! Pagination: total count, page links and page size.

use super::ListQuery;
use leptos::prelude::*;

#[component]
pub fn Pager(total: i64, query: ListQuery, selected_key: &'static str) -> impl IntoView {
    let size = i64::from(query.size.max(1));
    let pages = ((total + size - 1) / size).max(1) as u32;
    let current = query.page.min(pages.max(1));
    let prev = (current > 1).then(|| query.with_page(current - 1).href(selected_key));
    let next = (current < pages).then(|| query.with_page(current + 1).href(selected_key));
    view! {
        <nav class="pager" aria-label="Pagination">
            <span class="total">{format!("Total {total} items")}</span>
            {match prev {
                Some(h) => view! { <a href=h rel="prev">"Previous"</a> }.into_any(),
                None => view! { <span class="disabled" aria-disabled="true">"Previous"</span> }.into_any(),
            }}
            <span aria-current="page">{format!("Page {current} of {pages}")}</span>
            {match next {
                Some(h) => view! { <a href=h rel="next">"Next"</a> }.into_any(),
                None => view! { <span class="disabled" aria-disabled="true">"Next"</span> }.into_any(),
            }}
            <span class="sizes">
                "Per page: "
                {[10u32, 20, 50, 100]
                    .into_iter()
                    .map(|s| {
                        let href = ListQuery { size: s, page: 1, ..query.clone() }.href(selected_key);
                        let label = format!("{s} per page");
                        if s == query.size {
                            view! { <strong aria-label=label>{s}</strong> }.into_any()
                        } else {
                            view! { <a href=href aria-label=label>{s}</a> }.into_any()
                        }
                    })
                    .collect_view()}
            </span>
        </nav>
    }
}
