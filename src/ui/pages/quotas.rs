//! The quotas of an instance: requests or tokens per day, week or month for a key, consumer or
//! consumer group, each with a bar of what is used in its current period (the warning colour
//! past its threshold); set, changed, reset and removed in dialogs.

use crate::domain::format_time;
use crate::domain::inputs::{NewQuota, QuotaUpdate};
use crate::domain::limits::group_digits;
use crate::domain::quotas::{QuotaMetric, QuotaPeriod, QuotaStatus, QuotaValues};
use crate::domain::records::Quota;
use crate::error::AppError;
use crate::server_fns::quotas::{
    create_quota, delete_quota, quota_page, reset_quota, update_quota,
};
use crate::ui::components::{
    can_write, save, FormDialog, ListQuery, ListTable, SelectOne, TextField,
};
use crate::ui::pages::limits::{subject_words, SubjectFields};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn QuotasPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let instance_id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let consumer = Memo::new(move |_| query.read().get("consumer").unwrap_or_default());
    let list_query = Memo::new(move |_| ListQuery::from_params(&query.read(), "quota"));
    let reload = RwSignal::new(0u32);
    let creating = RwSignal::new(false);
    let editing = RwSignal::new(None::<Quota>);
    let resetting = RwSignal::new(None::<Quota>);
    let removing = RwSignal::new(None::<Quota>);
    let quotas = Resource::new(
        move || {
            (
                instance_id.get(),
                consumer.get(),
                list_query.get(),
                reload.get(),
            )
        },
        |(iid, consumer, q, _)| quota_page(iid, consumer, Some(q.page), Some(q.size)),
    );
    let done = move || reload.update(|r| *r += 1);
    let writer = can_write();
    view! {
        <h1>"Quotas"</h1>
        <p class="hint">"A quota caps the requests (or reported tokens) of a key, a consumer or a consumer group per day, week or month, in a time zone. Used up, requests are refused (429 through the proxy) until the period starts anew or an Admin resets it. Every quota that covers a request applies."</p>
        {move || (!consumer.get().is_empty()).then(|| view! {
            <p>"Showing the quotas that cover the consumer " <span class="id">{consumer.get()}</span> " (its own, its keys' and its groups'). "
                <a href=move || format!("/instances/{}/quotas", instance_id.get())>"Show all"</a></p>
        })}
        <div class="toolbar">
            {writer.then(|| view! {
                <button type="button" class="primary" on:click=move |_| creating.set(true)>"New quota"</button>
            })}
        </div>
        <ListTable what="quotas" label="Quotas" page=quotas query=list_query selected_key="quota"
            columns=vec!["Quota of", "Counts", "Used this period", "Period", "Actions"]
            row=move |q: Quota, _: &ListQuery| quota_row(q, writer, editing, resetting, removing) />
        <Show when=move || creating.get()>
            <NewQuotaDialog instance_id=instance_id.get_untracked() on_close=move || creating.set(false) on_done=move || { creating.set(false); done() } />
        </Show>
        {move || editing.get().map(|q| view! {
            <EditQuotaDialog quota=q on_close=move || editing.set(None) on_done=move || { editing.set(None); done() } />
        })}
        {move || resetting.get().map(|q| view! {
            <ResetQuotaDialog quota=q on_close=move || resetting.set(None) on_done=move || { resetting.set(None); done() } />
        })}
        {move || removing.get().map(|q| view! {
            <RemoveQuotaDialog quota=q on_close=move || removing.set(None) on_done=move || { removing.set(None); done() } />
        })}
    }
}

/// `consumer alice`, `key alice-key (of alice)`.
pub(crate) fn subject_text(q: &Quota) -> String {
    subject_words(q.subject_type, &q.subject.name, q.consumer.as_ref())
}

/// `1,000 requests a day`.
fn counts(q: &Quota) -> String {
    format!(
        "{} {} a {}",
        group_digits(q.amount),
        q.metric.as_str(),
        q.period.as_str()
    )
}

/// The bar of what is used, with the same in words (the warning colour past the threshold).
pub(crate) fn usage_bar(q: &Quota) -> impl IntoView {
    let label = format!("{} used of {}", subject_text(q), counts(q));
    let words = format!(
        "{} of {} ({})",
        group_digits(q.used),
        group_digits(q.amount),
        q.status.label()
    );
    let class = match q.status {
        QuotaStatus::Ok => "quota-bar",
        QuotaStatus::Warning => "quota-bar warning",
        QuotaStatus::Exhausted => "quota-bar exhausted",
    };
    let high = (q.amount as f64) * (q.warn_percent as f64) / 100.0;
    view! {
        <meter class=class aria-label=label min="0" max=q.amount.to_string() high=high.to_string()
            optimum="0" value=q.used.min(q.amount).to_string()>{words.clone()}</meter>
        " " <span>{words}</span>
    }
}

fn quota_row(
    q: Quota,
    writer: bool,
    editing: RwSignal<Option<Quota>>,
    resetting: RwSignal<Option<Quota>>,
    removing: RwSignal<Option<Quota>>,
) -> impl IntoView {
    let subject = subject_text(&q);
    let what = format!("the {} quota of {subject}", q.period.as_str());
    let labels = (
        format!("Edit {what}"),
        format!("Reset {what}"),
        format!("Remove {what}"),
    );
    let (edit, reset, target) = (q.clone(), q.clone(), q.clone());
    let period = format!(
        "{} to {} UTC ({})",
        format_time(q.period_start),
        format_time(q.period_end),
        q.time_zone
    );
    view! {
        <tr>
            <td><span>{subject}</span><br /><span class="id">{q.subject.id.clone()}</span></td>
            <td>{counts(&q)}</td>
            <td>{usage_bar(&q)}</td>
            <td>{period}</td>
            <td class="actions">{writer.then(|| view! {
                <button type="button" class="link" aria-label=labels.0 on:click=move |_| editing.set(Some(edit.clone()))>"Edit"</button>
                <button type="button" class="link" aria-label=labels.1 on:click=move |_| resetting.set(Some(reset.clone()))>"Reset"</button>
                <button type="button" class="link danger" aria-label=labels.2 on:click=move |_| removing.set(Some(target.clone()))>"Remove"</button>
            })}</td>
        </tr>
    }
}

/// A field (as the server names it) and its message.
type FieldError = (&'static str, String);

/// The amount, time zone and warning threshold fields, checked as the server checks them.
#[derive(Clone, Copy)]
struct AmountFields {
    amount: RwSignal<String>,
    time_zone: RwSignal<String>,
    warn: RwSignal<String>,
    local: RwSignal<Option<FieldError>>,
}

impl AmountFields {
    fn new(q: Option<&Quota>) -> AmountFields {
        AmountFields {
            amount: RwSignal::new(q.map(|q| q.amount.to_string()).unwrap_or_default()),
            time_zone: RwSignal::new(q.map_or_else(|| "UTC".to_owned(), |q| q.time_zone.clone())),
            warn: RwSignal::new(q.map_or_else(|| "80".to_owned(), |q| q.warn_percent.to_string())),
            local: RwSignal::new(None),
        }
    }

    /// The values as sent (amount, time zone, threshold), or the first field error.
    fn read(
        &self,
        metric: &str,
        period: &str,
    ) -> Result<(Option<i64>, String, Option<i64>), FieldError> {
        let number = |field: &'static str, s: String, what: &str| {
            let s = s.trim().replace([',', '_', ' ', '%'], "");
            if s.is_empty() {
                return Ok(None);
            }
            s.parse::<i64>()
                .map(Some)
                .map_err(|_| (field, format!("{what} is a whole number.")))
        };
        let amount = number("Amount", self.amount.get_untracked(), "The amount")?;
        let warn = number(
            "WarnPercent",
            self.warn.get_untracked(),
            "The warning threshold",
        )?;
        let tz = self.time_zone.get_untracked();
        QuotaValues::parse(metric, period, amount, &tz, warn)?;
        Ok((amount, tz, warn))
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
        let clear = move || self.local.set(None);
        view! {
            <TextField id="quota-amount" label="Amount" value=self.amount error=self.error(server, "Amount") on_edit=clear />
            <TextField id="quota-time-zone" label="Time zone (IANA name, such as Europe/Berlin)" value=self.time_zone error=self.error(server, "TimeZone") on_edit=clear />
            <TextField id="quota-warn" label="Warn at (% used)" value=self.warn error=self.error(server, "WarnPercent") on_edit=clear />
        }
    }
}

const FIELDS: &[&str] = &[
    "Amount",
    "TimeZone",
    "WarnPercent",
    "Metric",
    "Period",
    "SubjectId",
];

#[component]
fn NewQuotaDialog(
    instance_id: String,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let subject = RwSignal::new(String::new());
    let metric = RwSignal::new(QuotaMetric::Requests.as_str().to_owned());
    let period = RwSignal::new(QuotaPeriod::Day.as_str().to_owned());
    let fields = AmountFields::new(None);
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let subject_error = fields.error(server, "SubjectId");
    let iid = instance_id.clone();
    let submit = move |_| {
        server.set(None);
        fields.local.set(None);
        if subject.get_untracked().is_empty() {
            return fields
                .local
                .set(Some(("SubjectId", "Choose what the quota is for.".into())));
        }
        let (m, p) = (metric.get_untracked(), period.get_untracked());
        let (amount, time_zone, warn_percent) = match fields.read(&m, &p) {
            Ok(v) => v,
            Err(e) => return fields.local.set(Some(e)),
        };
        let input = NewQuota {
            instance_id: iid.clone(),
            subject_id: subject.get_untracked(),
            metric: m,
            period: p,
            amount,
            time_zone,
            warn_percent,
        };
        save(
            pending,
            server,
            create_quota(input),
            |q| format!("The {} now has a quota of {}.", subject_text(q), counts(q)),
            on_done,
        );
    };
    let metrics = vec![
        ("requests".to_owned(), "Requests".to_owned()),
        (
            "tokens".to_owned(),
            "Tokens (reported by the gateway)".to_owned(),
        ),
    ];
    let periods = vec![
        ("day".to_owned(), "A day".to_owned()),
        ("week".to_owned(), "A week (Monday to Sunday)".to_owned()),
        ("month".to_owned(), "A month".to_owned()),
    ];
    view! {
        <FormDialog title="New quota" on_close=on_close on_submit=submit pending=pending server=server fields=FIELDS>
            <SubjectFields instance_id=instance_id subject=subject error=subject_error />
            <SelectOne id="quota-metric" label="Counts" options=metrics value=metric />
            <SelectOne id="quota-period" label="Per" options=periods value=period />
            {fields.view(server)}
        </FormDialog>
    }
}

#[component]
fn EditQuotaDialog(
    quota: Quota,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let fields = AmountFields::new(Some(&quota));
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let (id, version) = (quota.id.clone(), quota.version);
    let (m, p) = (quota.metric.as_str(), quota.period.as_str());
    let submit = move |_| {
        server.set(None);
        fields.local.set(None);
        let (amount, time_zone, warn_percent) = match fields.read(m, p) {
            Ok(v) => v,
            Err(e) => return fields.local.set(Some(e)),
        };
        let input = QuotaUpdate {
            amount,
            time_zone,
            warn_percent,
            version,
        };
        save(
            pending,
            server,
            update_quota(id.clone(), input),
            |_| "Quota saved.".to_owned(),
            on_done,
        );
    };
    view! {
        <FormDialog title="Edit quota" on_close=on_close on_submit=submit pending=pending server=server fields=FIELDS>
            <p>{format!("The {} quota of the {} ({} a {}).", quota.period.as_str(), subject_text(&quota), quota.metric.as_str(), quota.period.as_str())}</p>
            {fields.view(server)}
        </FormDialog>
    }
}

#[component]
fn ResetQuotaDialog(
    quota: Quota,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let (id, version) = (quota.id.clone(), quota.version);
    let submit = move |_| {
        save(
            pending,
            server,
            reset_quota(id.clone(), version),
            |q| format!("The quota of the {} starts anew.", subject_text(q)),
            on_done,
        );
    };
    view! {
        <FormDialog title="Reset quota" on_close=on_close on_submit=submit pending=pending server=server submit_label="Reset">
            <p>{format!("Start the quota of the {} anew? The {} {} used this {} no longer count, on every replica within a second. The reset is recorded in the audit log.",
                subject_text(&quota), group_digits(quota.used), quota.metric.as_str(), quota.period.as_str())}</p>
        </FormDialog>
    }
}

#[component]
fn RemoveQuotaDialog(
    quota: Quota,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let id = quota.id.clone();
    let submit = move |_| {
        save(
            pending,
            server,
            delete_quota(id.clone()),
            |_| "Quota removed.".to_owned(),
            on_done,
        );
    };
    view! {
        <FormDialog title="Remove quota" on_close=on_close on_submit=submit pending=pending server=server danger=true submit_label="Remove">
            <p>{format!("Remove the {} quota of the {}? Its requests are then held only to the other quotas and limits that cover them.", quota.period.as_str(), subject_text(&quota))}</p>
        </FormDialog>
    }
}
