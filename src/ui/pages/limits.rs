//! The rate limits of an instance: requests per second and per minute for a key, consumer or
//! consumer group (shared by its members), each set, changed (with its version) and removed
//! in a dialog. The values are checked as they are typed, by the rules the server applies.

use crate::domain::inputs::{NewRateLimit, RateLimitUpdate};
use crate::domain::limits::{describe, LimitPolicy, LimitSubject, LimitValues};
use crate::domain::records::RateLimit;
use crate::error::AppError;
use crate::server_fns::consumers::list_consumers;
use crate::server_fns::groups::list_groups;
use crate::server_fns::keys::list_keys;
use crate::server_fns::limits::{
    create_rate_limit, delete_rate_limit, rate_limit_page, update_rate_limit,
};
use crate::ui::components::{
    can_write, save, FormDialog, ListQuery, ListTable, LocalTime, SearchSelect, SelectOne,
    TextField,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn RateLimitsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let instance_id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let consumer = Memo::new(move |_| query.read().get("consumer").unwrap_or_default());
    let list_query = Memo::new(move |_| ListQuery::from_params(&query.read(), "limit"));
    let reload = RwSignal::new(0u32);
    let creating = RwSignal::new(false);
    let editing = RwSignal::new(None::<RateLimit>);
    let removing = RwSignal::new(None::<RateLimit>);
    let limits = Resource::new(
        move || {
            (
                instance_id.get(),
                consumer.get(),
                list_query.get(),
                reload.get(),
            )
        },
        |(iid, consumer, q, _)| rate_limit_page(iid, consumer, Some(q.page), Some(q.size)),
    );
    let done = move || reload.update(|r| *r += 1);
    let writer = can_write();
    view! {
        <h1>"Rate limits"</h1>
        <p class="hint">"A rate limit caps the requests per second and per minute of a key, a consumer or a consumer group (one counter shared by the group's members). Every limit that covers a request applies, and the tightest refuses: the proxy answers 429 with Retry-After."</p>
        {move || (!consumer.get().is_empty()).then(|| view! {
            <p>"Showing the limits that cover the consumer " <span class="id">{consumer.get()}</span> " (its own, its keys' and its groups'). "
                <a href=move || format!("/instances/{}/limits", instance_id.get())>"Show all"</a></p>
        })}
        <div class="toolbar">
            {writer.then(|| view! {
                <button type="button" class="primary" on:click=move |_| creating.set(true)>"New rate limit"</button>
            })}
        </div>
        <ListTable what="rate limits" label="Rate limits" page=limits query=list_query selected_key="limit"
            columns=vec!["Limit of", "Per second", "Per minute", "Counted", "Changed", "Actions"]
            row=move |l: RateLimit, _: &ListQuery| limit_row(l, writer, editing, removing) />
        <Show when=move || creating.get()>
            <NewLimitDialog instance_id=instance_id.get_untracked() on_close=move || creating.set(false) on_done=move || { creating.set(false); done() } />
        </Show>
        {move || editing.get().map(|l| view! {
            <EditLimitDialog limit=l on_close=move || editing.set(None) on_done=move || { editing.set(None); done() } />
        })}
        {move || removing.get().map(|l| view! {
            <RemoveLimitDialog limit=l on_close=move || removing.set(None) on_done=move || { removing.set(None); done() } />
        })}
    }
}

/// `consumer alice`, `key alice-key (of alice)`: a limit's or quota's subject in words.
pub(crate) fn subject_words(
    kind: LimitSubject,
    name: &str,
    holder: Option<&crate::domain::records::ConsumerRef>,
) -> String {
    match (kind, holder) {
        (LimitSubject::Key, Some(c)) => format!("key {name} (of {})", c.name),
        (t, _) => format!("{} {name}", t.label()),
    }
}

fn subject_text(l: &RateLimit) -> String {
    subject_words(l.subject_type, &l.subject.name, l.consumer.as_ref())
}

fn window(n: Option<i64>) -> String {
    n.map(crate::domain::limits::group_digits)
        .unwrap_or_else(|| "—".into())
}

fn limit_row(
    l: RateLimit,
    writer: bool,
    editing: RwSignal<Option<RateLimit>>,
    removing: RwSignal<Option<RateLimit>>,
) -> impl IntoView {
    let subject = subject_text(&l);
    let edit_label = format!("Edit the rate limit of {subject}");
    let remove_label = format!("Remove the rate limit of {subject}");
    let (edit, target) = (l.clone(), l.clone());
    view! {
        <tr>
            <td><span>{subject}</span><br /><span class="id">{l.subject.id.clone()}</span></td>
            <td>{window(l.per_second)}</td>
            <td>{window(l.per_minute)}</td>
            <td>{l.policy.label()}</td>
            <td><LocalTime ms=l.updated_at /></td>
            <td class="actions">{writer.then(|| view! {
                <button type="button" class="link" aria-label=edit_label on:click=move |_| editing.set(Some(edit.clone()))>"Edit"</button>
                <button type="button" class="link danger" aria-label=remove_label on:click=move |_| removing.set(Some(target.clone()))>"Remove"</button>
            })}</td>
        </tr>
    }
}

/// Requests per second and per minute, and the policy, as typed.
type Typed = (Option<i64>, Option<i64>, String);
/// A field (as the server names it) and its message.
type FieldError = (&'static str, String);

/// The per-second, per-minute and policy fields, and their errors: typed values checked as
/// the server checks them, or the server's answer.
#[derive(Clone, Copy)]
struct ValueFields {
    per_second: RwSignal<String>,
    per_minute: RwSignal<String>,
    policy: RwSignal<String>,
    /// (field, message) found before sending.
    local: RwSignal<Option<FieldError>>,
}

impl ValueFields {
    fn new(limit: Option<&RateLimit>) -> ValueFields {
        let text = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        ValueFields {
            per_second: RwSignal::new(text(limit.and_then(|l| l.per_second))),
            per_minute: RwSignal::new(text(limit.and_then(|l| l.per_minute))),
            policy: RwSignal::new(
                limit
                    .map_or(LimitPolicy::Local, |l| l.policy)
                    .as_str()
                    .to_owned(),
            ),
            local: RwSignal::new(None),
        }
    }

    /// The values as sent, or the first field error.
    fn read(&self) -> Result<Typed, FieldError> {
        let number = |field: &'static str, unit: &str, s: String| {
            let s = s.trim().replace([',', '_', ' '], "");
            if s.is_empty() {
                return Ok(None);
            }
            s.parse::<i64>().map(Some).map_err(|_| {
                (
                    field,
                    format!("Requests per {unit} is a whole number, or empty for no limit."),
                )
            })
        };
        let per_second = number("PerSecond", "second", self.per_second.get_untracked())?;
        let per_minute = number("PerMinute", "minute", self.per_minute.get_untracked())?;
        let policy = self.policy.get_untracked();
        LimitValues::parse(per_second, per_minute, &policy)?;
        Ok((per_second, per_minute, policy))
    }

    fn error(
        &self,
        server: RwSignal<Option<AppError>>,
        field: &'static str,
    ) -> Signal<Option<String>> {
        let local = self.local;
        Signal::derive(move || {
            local
                .get()
                .filter(|(f, _)| *f == field)
                .map(|(_, m)| m)
                .or_else(|| server.get().and_then(|e| e.field_message(field)))
        })
    }

    fn view(self, server: RwSignal<Option<AppError>>) -> impl IntoView {
        let policies = vec![
            (
                LimitPolicy::Local.as_str().to_owned(),
                LimitPolicy::Local.label().to_owned(),
            ),
            (
                LimitPolicy::Cluster.as_str().to_owned(),
                LimitPolicy::Cluster.label().to_owned(),
            ),
        ];
        let clear = move || self.local.set(None);
        view! {
            <TextField id="limit-per-second" label="Requests per second (empty: none)" value=self.per_second
                error=self.error(server, "PerSecond") on_edit=clear />
            <TextField id="limit-per-minute" label="Requests per minute (empty: none)" value=self.per_minute
                error=self.error(server, "PerMinute") on_edit=clear />
            <SelectOne id="limit-policy" label="Counted" options=policies value=self.policy
                error=self.error(server, "Policy") />
        }
    }
}

const FIELDS: &[&str] = &["PerSecond", "PerMinute", "Policy", "SubjectId"];

/// What a limit or quota is for: the kind of subject, and the one chosen by name.
#[component]
pub(crate) fn SubjectFields(
    instance_id: String,
    subject: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let subject_type = RwSignal::new(LimitSubject::Consumer.as_str().to_owned());
    let (ci, gi, ki) = (instance_id.clone(), instance_id.clone(), instance_id);
    let find_consumers = move |q: String, n: u32| {
        let iid = ci.clone();
        async move {
            let p = list_consumers(iid, q, String::new(), String::new(), Some(1), Some(n)).await?;
            Ok((
                p.total_size,
                p.items.into_iter().map(|c| (c.id, c.name)).collect(),
            ))
        }
    };
    let find_groups = move |q: String, n: u32| {
        let iid = gi.clone();
        async move {
            let p = list_groups(iid, q, Some(1), Some(n)).await?;
            Ok((
                p.total_size,
                p.items.into_iter().map(|g| (g.id, g.name)).collect(),
            ))
        }
    };
    let find_keys = move |q: String, n: u32| {
        let iid = ki.clone();
        async move {
            let p = list_keys(iid, q, false, Some(1), Some(n)).await?;
            Ok((
                p.total_size,
                p.items
                    .into_iter()
                    .map(|k| {
                        let of = k
                            .consumer
                            .map(|c| format!(" (of {})", c.name))
                            .unwrap_or_default();
                        (k.id, format!("{}{of}", k.name))
                    })
                    .collect(),
            ))
        }
    };
    let types = vec![
        ("Consumer".to_owned(), "A consumer".to_owned()),
        (
            "ConsumerGroup".to_owned(),
            "A consumer group (shared by its members)".to_owned(),
        ),
        ("Key".to_owned(), "A key".to_owned()),
    ];
    view! {
        <SelectOne id="limit-subject-type" label="Limit for" options=types value=subject_type />
        {move || {
            subject.set(String::new());
            match LimitSubject::parse(&subject_type.get()) {
                Some(LimitSubject::ConsumerGroup) => view! { <SearchSelect id="limit-group" label="Consumer group" noun="consumer groups" fetch=find_groups.clone() value=subject /> }.into_any(),
                Some(LimitSubject::Key) => view! { <SearchSelect id="limit-key" label="Key" noun="keys" fetch=find_keys.clone() value=subject /> }.into_any(),
                _ => view! { <SearchSelect id="limit-consumer" label="Consumer" noun="consumers" fetch=find_consumers.clone() value=subject /> }.into_any(),
            }
        }}
        <p class="field-error" role="alert">{move || error.get()}</p>
    }
}

#[component]
fn NewLimitDialog(
    instance_id: String,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let subject = RwSignal::new(String::new());
    let values = ValueFields::new(None);
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let subject_error = Signal::derive(move || {
        values
            .local
            .get()
            .filter(|(f, _)| *f == "SubjectId")
            .map(|(_, m)| m)
            .or_else(|| server.get().and_then(|e| e.field_message("SubjectId")))
    });
    let iid = instance_id.clone();
    let submit = move |_| {
        server.set(None);
        values.local.set(None);
        if subject.get_untracked().is_empty() {
            return values
                .local
                .set(Some(("SubjectId", "Choose what the limit is for.".into())));
        }
        let (per_second, per_minute, policy) = match values.read() {
            Ok(v) => v,
            Err(e) => return values.local.set(Some(e)),
        };
        let input = NewRateLimit {
            instance_id: iid.clone(),
            subject_id: subject.get_untracked(),
            per_second,
            per_minute,
            policy,
        };
        save(
            pending,
            server,
            create_rate_limit(input),
            |l| {
                format!(
                    "The {} {} is limited to {}.",
                    l.subject_type.label(),
                    l.subject.name,
                    describe(
                        l.per_second.map(|n| n as u32),
                        l.per_minute.map(|n| n as u32)
                    )
                )
            },
            on_done,
        );
    };
    view! {
        <FormDialog title="New rate limit" on_close=on_close on_submit=submit pending=pending server=server fields=FIELDS>
            <SubjectFields instance_id=instance_id subject=subject error=subject_error />
            {values.view(server)}
        </FormDialog>
    }
}

#[component]
fn EditLimitDialog(
    limit: RateLimit,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let values = ValueFields::new(Some(&limit));
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let (id, version) = (limit.id.clone(), limit.version);
    let submit = move |_| {
        server.set(None);
        values.local.set(None);
        let (per_second, per_minute, policy) = match values.read() {
            Ok(v) => v,
            Err(e) => return values.local.set(Some(e)),
        };
        let input = RateLimitUpdate {
            per_second,
            per_minute,
            policy,
            version,
        };
        save(
            pending,
            server,
            update_rate_limit(id.clone(), input),
            |_| "Rate limit saved.".to_owned(),
            on_done,
        );
    };
    view! {
        <FormDialog title="Edit rate limit" on_close=on_close on_submit=submit pending=pending server=server fields=FIELDS>
            <p>{format!("The rate limit of the {}.", subject_text(&limit))}</p>
            {values.view(server)}
        </FormDialog>
    }
}

#[component]
fn RemoveLimitDialog(
    limit: RateLimit,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let id = limit.id.clone();
    let submit = move |_| {
        save(
            pending,
            server,
            delete_rate_limit(id.clone()),
            |_| "Rate limit removed.".to_owned(),
            on_done,
        );
    };
    view! {
        <FormDialog title="Remove rate limit" on_close=on_close on_submit=submit pending=pending server=server danger=true submit_label="Remove">
            <p>{format!("Remove the rate limit of the {}? Its requests are then held only to the other limits that cover them.", subject_text(&limit))}</p>
        </FormDialog>
    }
}
