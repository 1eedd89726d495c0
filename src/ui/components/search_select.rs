//! A choice among records too many to load at once (an instance can hold a million
//! consumers): a search field narrows the list on the server, the first page of matches is
//! offered, and the field says how many there are in all.

use super::SelectOne;
use crate::error::AppError;
use leptos::prelude::*;
use std::future::Future;

/// How many matches are offered at once (the largest page the server gives).
const SHOWN: u32 = 100;

/// The matches of a search: their total, and the first ones as `(id, label)`.
pub type Matches = (i64, Vec<(String, String)>);

#[component]
pub fn SearchSelect<F, Fut>(
    id: &'static str,
    label: &'static str,
    /// What is chosen, plural, for the hints ("consumers").
    noun: &'static str,
    /// The matches of a search text, at most `SHOWN` of them.
    fetch: F,
    value: RwSignal<String>,
) -> impl IntoView
where
    F: Fn(String, u32) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Matches, AppError>> + Send + 'static,
{
    let search = RwSignal::new(String::new());
    let typed = RwSignal::new(String::new());
    let matches = Resource::new(move || search.get(), move |s| fetch(s, SHOWN));
    let search_id = format!("{id}-search");
    let find = move || search.set(typed.get_untracked().trim().to_owned());
    view! {
        <div class="field search-select">
            <label for=search_id.clone()>{format!("Find {noun} by name")}</label>
            <div class="inline">
                <input id=search_id type="search" autocomplete="off"
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev))
                    on:keydown=move |ev| if ev.key() == "Enter" { ev.prevent_default(); find() } />
                <button type="button" aria-label=format!("Find {noun}") on:click=move |_| find()>"Find"</button>
            </div>
        </div>
        <Transition fallback=move || view! { <p class="loading">{format!("Loading {noun}…")}</p> }>
            {move || Suspend::new(async move {
                match matches.await {
                    Ok((total, options)) => {
                        // Keep a valid choice: the current one if it is still offered, else the first.
                        if !options.iter().any(|(v, _)| *v == value.get_untracked()) {
                            value.set(options.first().map(|(v, _)| v.clone()).unwrap_or_default());
                        }
                        let hint = match total {
                            0 => format!("No {noun} match."),
                            t if t > options.len() as i64 => format!("The first {} of {t} matches; find by name to narrow.", options.len()),
                            1 => "1 match.".to_owned(),
                            t => format!("{t} matches."),
                        };
                        view! {
                            <SelectOne id=id label=label options=options value=value />
                            <p class="hint" aria-live="polite">{hint}</p>
                        }.into_any()
                    }
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
