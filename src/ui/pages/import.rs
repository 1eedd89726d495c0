//! Import a configuration file into an instance: choose the file, preview what would be
//! created, changed and deleted (grouped by kind, with counts), then apply exactly that (the
//! apply names the revision the preview was made at, so a change made meanwhile is refused,
//! not overwritten). The file goes to the REST import (`/v1/gateways/{id}/import`) as it is,
//! with the upload's progress shown: a large file (tens of MB) takes a while to send and check.
//! It needs the page running (a browser reads the file); the CLI and REST do the same without.

use crate::domain::config::{ChangeAction, ImportReport, ResourceChange};
use crate::ui::components::{can_write, notify};
use leptos::html;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// What the page is doing: sending the file (bytes sent, of), then waiting for the answer.
#[derive(Clone, Copy, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Progress {
    Sending(f64, f64),
    Checking,
}

/// At most this many changes of one kind are listed (the counts tell the rest).
const LISTED: usize = 200;

#[component]
pub fn ImportConfigPage() -> impl IntoView {
    let params = use_params_map();
    let gateway = move || params.read().get("id").unwrap_or_default();
    let running = RwSignal::new(false);
    Effect::new(move |_| running.set(true));
    let file_input = NodeRef::<html::Input>::new();
    let prune = RwSignal::new(false);
    let other = RwSignal::new(false);
    let progress = RwSignal::new(None::<Progress>);
    let preview = RwSignal::new(None::<Result<ImportReport, String>>);
    let applied = RwSignal::new(None::<Result<ImportReport, String>>);
    let reset = move || {
        preview.set(None);
        applied.set(None);
    };
    let send = move |dry_run: bool, if_revision: Option<i64>| {
        let Some(input) = file_input.get_untracked() else {
            return;
        };
        let mut query = format!(
            "dryRun={dry_run}&prune={}&allowOtherGateway={}",
            prune.get_untracked(),
            other.get_untracked()
        );
        if let Some(r) = if_revision {
            query.push_str(&format!("&ifRevision={r}"));
        }
        let url = format!("/v1/gateways/{}/import?{query}", gateway());
        let target = if dry_run { preview } else { applied };
        upload(&input, url, progress, move |answer| {
            progress.set(None);
            if !dry_run {
                match &answer {
                    Ok(r) => notify(false, format!("Configuration applied: {}.", r.summary())),
                    Err(e) => notify(true, e.clone()),
                }
            }
            target.set(Some(answer));
        });
    };
    let on_preview = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        reset();
        send(true, None);
    };
    let busy = move || progress.get().is_some();
    view! {
        <h1>"Import configuration"</h1>
        <p class="hint">
            "Apply a configuration file (a downloaded configuration, edited) to this instance: preview what it would create, change and delete, then apply all of it at once, or nothing. Resources the file does not list stay, unless you choose to delete them."
        </p>
        <noscript><p role="alert">"Importing needs JavaScript to read the file. Without it, use the command line (gateway-console import) or the REST API (POST /v1/gateways/{id}/import)."</p></noscript>
        {move || (!can_write()).then(|| view! { <p role="alert">"Your account may view but not change this instance: importing is for Admins."</p> })}
        <form class="import-form" on:submit=on_preview>
            <div class="field">
                <label for="import-file">"Configuration file"</label>
                <input id="import-file" type="file" required accept=".yaml,.yml,.json,application/yaml,application/json"
                    node_ref=file_input on:change=move |_| reset() />
            </div>
            <div class="field checkbox">
                <input id="import-prune" type="checkbox" prop:checked=move || prune.get()
                    on:change=move |ev| { prune.set(event_target_checked(&ev)); reset(); } />
                <label for="import-prune">"Delete what the file does not list"</label>
            </div>
            <div class="field checkbox">
                <input id="import-other" type="checkbox" prop:checked=move || other.get()
                    on:change=move |ev| { other.set(event_target_checked(&ev)); reset(); } />
                <label for="import-other">"The file comes from another instance (copy it here)"</label>
            </div>
            <button type="submit" class="primary" disabled=move || !running.get() || busy() || !can_write()>"Preview changes"</button>
        </form>
        {move || progress.get().map(|p| match p {
            Progress::Sending(sent, of) => view! {
                <div class="import-progress" aria-live="polite">
                    <progress max=of value=sent aria-label="Sending the file"></progress>
                    <span>{format!("Sending the file: {} of {}…", size(sent), size(of))}</span>
                </div>
            }.into_any(),
            Progress::Checking => view! {
                <div class="import-progress" aria-live="polite">
                    <progress aria-label="Checking the file"></progress>
                    <span>"Checking the file against the instance…"</span>
                </div>
            }.into_any(),
        })}
        {move || preview.get().map(|answer| match answer {
            Err(e) => view! { <p role="alert" class="problems">{e}</p> }.into_any(),
            Ok(report) => {
                let revision = report.revision;
                let total = report.total();
                view! {
                    <Diff report=report />
                    {(total > 0 && applied.get().is_none()).then(|| view! {
                        <button type="button" class="primary" disabled=busy
                            on:click=move |_| { applied.set(None); send(false, Some(revision)); }>
                            {format!("Apply {total} {}", if total == 1 { "change" } else { "changes" })}
                        </button>
                    })}
                }.into_any()
            }
        })}
        {move || applied.get().map(|answer| match answer {
            Err(e) => view! { <p role="alert" class="problems">{e}</p> }.into_any(),
            Ok(report) => view! {
                <p role="status" class="notice">
                    {format!("Applied: {} (revision {}). ", report.summary(), report.revision)}
                    <a href=format!("/instances/{}/audit", report.gateway_id)>"See it in the audit log"</a>
                </p>
            }.into_any(),
        })}
    }
}

/// The preview: a count per kind, then each change of the kind.
#[component]
fn Diff(report: ImportReport) -> impl IntoView {
    if report.counts.is_empty() {
        return view! {
            <section class="diff" aria-label="Changes">
                <h2>"No changes"</h2>
                <p role="status">"The instance already matches the file."</p>
            </section>
        }
        .into_any();
    }
    let ImportReport {
        counts,
        changes,
        prune,
        ..
    } = report;
    let total: u64 = counts
        .iter()
        .map(|c| c.created + c.changed + c.deleted)
        .sum();
    let headline = format!("{total} {}", if total == 1 { "change" } else { "changes" });
    view! {
        <section class="diff" aria-label="Changes">
            <h2>{headline}</h2>
            {(!prune).then(|| view! { <p class="hint">"Resources the file does not list are kept."</p> })}
            {counts.into_iter().map(|c| {
                let kind = c.kind;
                let mut parts = Vec::new();
                for (n, what) in [(c.created, "created"), (c.changed, "changed"), (c.deleted, "deleted")] {
                    if n > 0 {
                        parts.push(format!("{n} {what}"));
                    }
                }
                let title = format!("{} ({})", capitalized(kind.plural()), parts.join(", "));
                let of_kind: Vec<ResourceChange> = changes.iter().filter(|ch| ch.kind == kind).cloned().collect();
                let more = of_kind.len().saturating_sub(LISTED);
                view! {
                    <h3>{title.clone()}</h3>
                    <table>
                        <caption class="visually-hidden">{title}</caption>
                        <thead><tr><th scope="col">"Change"</th><th scope="col">"Name"</th><th scope="col">"Details"</th></tr></thead>
                        <tbody>
                            {of_kind.into_iter().take(LISTED).map(|ch| view! {
                                <tr class=match ch.action {
                                    ChangeAction::Create => "create",
                                    ChangeAction::Change => "change",
                                    ChangeAction::Delete => "delete",
                                }>
                                    <td>{match ch.action {
                                        ChangeAction::Create => "Create",
                                        ChangeAction::Change => "Change",
                                        ChangeAction::Delete => "Delete",
                                    }}</td>
                                    <td>{ch.name}</td>
                                    <td>{ch.details.join("; ")}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    {(more > 0).then(|| view! { <p class="hint">{format!("… and {more} more")}</p> })}
                }
            }).collect_view()}
        </section>
    }
    .into_any()
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn size(bytes: f64) -> String {
    if bytes >= 1e6 {
        format!("{:.1} MB", bytes / 1e6)
    } else {
        format!("{:.0} KB", (bytes / 1e3).ceil())
    }
}

/// The REST envelope of the answer.
#[derive(serde::Deserialize)]
struct Envelope {
    code: String,
    message: String,
    data: Option<ImportReport>,
}

/// The report, or the refusal's message.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn answer_of(status: u16, text: &str) -> Result<ImportReport, String> {
    match serde_json::from_str::<Envelope>(text) {
        Ok(Envelope {
            data: Some(report),
            code,
            ..
        }) if code == "Ok" => Ok(report),
        Ok(e) => Err(e.message),
        Err(_) if status == 0 => {
            Err("The console could not be reached. Nothing was applied; try again.".into())
        }
        Err(_) => Err(format!("The import failed (HTTP {status}).")),
    }
}

/// Sends the chosen file to `url`, telling the progress, then the answer.
#[cfg(feature = "hydrate")]
fn upload(
    input: &web_sys::HtmlInputElement,
    url: String,
    progress: RwSignal<Option<Progress>>,
    done: impl FnOnce(Result<ImportReport, String>) + 'static,
) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let Some(file) = input.files().and_then(|f| f.get(0)) else {
        done(Err("Choose a configuration file.".into()));
        return;
    };
    let Ok(xhr) = web_sys::XmlHttpRequest::new() else {
        done(Err("This browser cannot send the file.".into()));
        return;
    };
    if xhr.open("POST", &url).is_err() {
        done(Err("This browser cannot send the file.".into()));
        return;
    }
    let _ = xhr.set_request_header("Content-Type", "application/yaml");
    progress.set(Some(Progress::Sending(0.0, file.size())));
    if let Ok(upload) = xhr.upload() {
        let on_progress =
            Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
                if e.loaded() >= e.total() {
                    progress.set(Some(Progress::Checking));
                } else {
                    progress.set(Some(Progress::Sending(e.loaded(), e.total())));
                }
            });
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        // One small closure per upload, kept for the page's life.
        on_progress.forget();
    }
    let answered = xhr.clone();
    let on_end = Closure::once_into_js(move || {
        let text = answered.response_text().ok().flatten().unwrap_or_default();
        done(answer_of(answered.status().unwrap_or(0), &text));
    });
    xhr.set_onloadend(Some(on_end.unchecked_ref()));
    if xhr.send_with_opt_blob(Some(&file)).is_err() {
        progress.set(None);
    }
}

/// On the server the page only renders; the file is sent by the running page.
#[cfg(not(feature = "hydrate"))]
fn upload(
    _input: &web_sys::HtmlInputElement,
    _url: String,
    _progress: RwSignal<Option<Progress>>,
    _done: impl FnOnce(Result<ImportReport, String>) + 'static,
) {
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_tells_its_message_and_a_report_reads_back() {
        let refused = r#"{"code":"InvalidParameter.Configuration","message":"consumers[0].groups[1]: no consumer group named \"x\"","requestId":"r"}"#;
        assert_eq!(
            answer_of(400, refused),
            Err("consumers[0].groups[1]: no consumer group named \"x\"".into())
        );
        assert!(answer_of(0, "")
            .unwrap_err()
            .contains("could not be reached"));
        assert_eq!(size(52_000_000.0), "52.0 MB");
    }
}
