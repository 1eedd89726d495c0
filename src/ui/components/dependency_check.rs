//! The dependency check of a delete dialog: while it loads, then "Can be safely deleted" or
//! "There are unresolved dependencies" with a link to each, and the Recheck button. The
//! dialog enables OK from the same resource.

use crate::domain::records::{Dependency, DependencyKind};
use crate::domain::url_encode;
use crate::error::AppError;
use leptos::prelude::*;

/// The loaded dependencies, as a delete dialog holds them.
pub type Dependencies = Resource<Result<Vec<Dependency>, AppError>>;

/// True when the check has loaded and found nothing.
pub fn is_clean(deps: Dependencies) -> bool {
    deps.get().is_some_and(|d| d.is_ok_and(|d| d.is_empty()))
}

/// The console page where a dependency is removed: the consumer's details for what a
/// consumer holds, the list of its kind (searched by name, or by ID for a rule) otherwise.
pub fn href(dep: &Dependency) -> String {
    let base = format!("/instances/{}", dep.instance_id);
    let consumer = |id: &str| format!("{base}/consumers?consumer={id}");
    match dep.kind {
        DependencyKind::GroupMembership | DependencyKind::Credential => {
            consumer(dep.consumer_id.as_deref().unwrap_or_default())
        }
        DependencyKind::Member | DependencyKind::BoundConsumer | DependencyKind::Consumer => {
            consumer(&dep.id)
        }
        DependencyKind::ConsumerGroup => format!("{base}/groups?group={}", dep.id),
        DependencyKind::AuthorizationRule => format!("{base}/authorization?q={}", dep.id),
        DependencyKind::Key => format!("{base}/keys?q={}", url_encode(&dep.name)),
        DependencyKind::ModelApi | DependencyKind::Deployment => {
            format!("{base}/apis?q={}", url_encode(&dep.name))
        }
        DependencyKind::Environment => {
            format!("{base}/environments?q={}", url_encode(&dep.name))
        }
    }
}

#[component]
pub fn DependencyCheck(deps: Dependencies, recheck: RwSignal<u32>) -> impl IntoView {
    view! {
        <div class="dependency-check" aria-live="polite">
            <Transition fallback=|| view! { <p class="loading">"Checking dependencies…"</p> }>
                {move || Suspend::new(async move {
                    match deps.await {
                        Ok(d) if d.is_empty() => view! { <p class="ok">"Can be safely deleted"</p> }.into_any(),
                        Ok(d) => view! {
                            <p class="warning">"There are unresolved dependencies"</p>
                            <ul class="deps">
                                {d.into_iter().map(|dep| { let link = href(&dep); view! { <li>{dep.kind.label()} ": " <a href=link>{dep.name}</a></li> } }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <button type="button" class="link" on:click=move |_| recheck.update(|r| *r += 1)>"Recheck"</button>
        </div>
    }
}
