//! The frame every list page shares: a toolbar (the page's New button and its search form),
//! and the table of one page of records with its loading, empty and error states and the
//! pager. All of a list's state is in the URL (`ListQuery`), so the search form is a plain
//! GET that works before hydration and every view survives reload and sharing.

use super::{can_write, ListQuery, Pager};
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;

/// The toolbar of a list page: a New button for those who may write, and the search form.
/// `children` are further filter fields, sent with the search.
#[component]
pub fn Toolbar(
    /// The New button's text ("New consumer group"); none for a page that creates nothing.
    #[prop(optional)]
    new_label: Option<&'static str>,
    #[prop(optional, into)] on_new: Option<Callback<()>>,
    /// The search box's ID, accessible name and placeholder.
    search_id: &'static str,
    search_label: &'static str,
    search_placeholder: &'static str,
    /// The search text now in the URL.
    #[prop(into)]
    search: Signal<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let new_button = new_label
        .zip(on_new)
        .filter(|_| can_write())
        .map(|(label, on_new)| {
            view! { <button type="button" class="primary" on:click=move |_| on_new.run(())>{label}</button> }
        });
    view! {
        <div class="toolbar">
            {new_button}
            <form method="get" role="search" class="search">
                <label for=search_id class="visually-hidden">{search_label}</label>
                <input id=search_id type="search" name="q" placeholder=search_placeholder value=move || search.get() />
                {children.map(|c| c())}
                <button type="submit">"Search"</button>
            </form>
        </div>
    }
}

/// What a list page shows: a page of a longer list (with a pager), or a whole short list.
pub trait Listed: Clone + Send + Sync + 'static {
    type Item;
    /// The records, and the size of the whole list when this is one page of it.
    fn into_parts(self) -> (Vec<Self::Item>, Option<i64>);
}

impl<T: Clone + Send + Sync + 'static> Listed for Page<T> {
    type Item = T;
    fn into_parts(self) -> (Vec<T>, Option<i64>) {
        (self.items, Some(self.total_size))
    }
}

impl<T: Clone + Send + Sync + 'static> Listed for Vec<T> {
    type Item = T;
    fn into_parts(self) -> (Vec<T>, Option<i64>) {
        (self, None)
    }
}

/// Records as a table: "Loading …" until they arrive, a sentence when there are none, the
/// error as an alert, else the table and, for a page of a longer list, the pager. `row` draws
/// one record as a `<tr>` (its cells in the order of `columns`), given the list's state for
/// its links.
#[component]
pub fn ListTable<L, F, V>(
    /// What the records are, in the plural, as sentences say it ("consumer groups").
    what: &'static str,
    /// The column headings.
    columns: Vec<&'static str>,
    /// The table's accessible name, when a page shows more than one table.
    #[prop(optional)]
    label: Option<&'static str>,
    page: Resource<Result<L, AppError>>,
    /// The list's state in the URL; a short list shown whole has none.
    #[prop(optional)]
    query: Option<Memo<ListQuery>>,
    /// The URL key of the record whose details are open (kept by the pager's links).
    #[prop(optional)]
    selected_key: &'static str,
    row: F,
) -> impl IntoView
where
    L: Listed,
    F: Fn(L::Item, &ListQuery) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let loading = format!("Loading {what}…");
    view! {
        <Transition fallback=move || view! { <p class="loading">{loading.clone()}</p> }>
            {move || {
                let (row, columns) = (row.clone(), columns.clone());
                Suspend::new(async move {
                    let q = query.map(|q| q.get()).unwrap_or_default();
                    match page.await.map(Listed::into_parts) {
                        Ok((items, _)) if items.is_empty() => view! { <p class="empty">{empty_message(what, &q)}</p> }.into_any(),
                        Ok((items, total)) => {
                            let pager = total.map(|total| view! { <Pager total=total query=q.clone() selected_key=selected_key /> });
                            view! {
                                <table aria-label=label>
                                    <thead><tr>{columns.into_iter().map(|c| view! { <th scope="col">{c}</th> }).collect_view()}</tr></thead>
                                    <tbody>{items.into_iter().map(|item| row(item, &q)).collect_view()}</tbody>
                                </table>
                                {pager}
                            }.into_any()
                        }
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// The column headings, with "Actions" last for those who may change things.
pub fn columns(headings: &[&'static str], writer: bool) -> Vec<&'static str> {
    let mut all = headings.to_vec();
    if writer {
        all.push("Actions");
    }
    all
}

/// What an empty page says: that there is nothing yet, that nothing matches the search (when
/// the search is all that narrows), or that nothing matches the filters.
pub fn empty_message(what: &str, q: &ListQuery) -> String {
    let search = q.q.trim();
    match (search.is_empty(), q.filters.is_empty()) {
        (true, true) if q.page == 1 => format!("No {what} yet."),
        (false, true) => format!("No {what} match \"{search}\"."),
        _ => format!("No {what} match."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str, filters: &[(&str, &str)], page: u32) -> ListQuery {
        ListQuery {
            q: q.into(),
            page,
            size: 10,
            selected: None,
            filters: filters
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        }
    }

    #[test]
    fn an_empty_page_says_whether_anything_was_searched() {
        assert_eq!(empty_message("keys", &query("", &[], 1)), "No keys yet.");
        assert_eq!(
            empty_message("keys", &query(" ab ", &[], 1)),
            "No keys match \"ab\"."
        );
        assert_eq!(
            empty_message("consumers", &query("", &[("group", "cg-1")], 1)),
            "No consumers match."
        );
        assert_eq!(empty_message("keys", &query("", &[], 3)), "No keys match.");
        assert_eq!(
            empty_message("audit entries", &query("admin", &[("from", "2026")], 1)),
            "No audit entries match."
        );
    }
}
