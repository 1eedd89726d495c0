//! Credential Management in the consumer details panel: Add Credential (bind an API key, or
//! make an HMAC (AK/SK) credential whose secret is shown once), and for a JWT or HMAC
//! credential Disable/Enable, Rotate (a new secret, the old one kept for a grace period) and
//! Remove (typing its name confirms).

use crate::domain::credentials::{CredentialMethod, HmacAlgorithm, HmacValues};
use crate::domain::inputs::{HmacInput, NewCredential};
use crate::domain::records::{Consumer, CreatedCredential, Credential};
use crate::error::AppError;
use crate::server_fns::consumers::bind_credential;
use crate::server_fns::credentials::{
    create_credential, delete_credential, rotate_credential, set_credential_enabled,
};
use crate::server_fns::keys::list_keys;
use crate::ui::components::{
    notify, save, send, typed_name_error, DeleteDialog, Dialog, Form, SecretReveal, TextField,
    TypedConfirmation, GRACE_PERIODS,
};
use leptos::prelude::*;

/// The methods Add Credential offers, in the seed's words.
const METHODS: [CredentialMethod; 2] = [CredentialMethod::ApiKey, CredentialMethod::Hmac];

/// The error of the clock skew field: empty takes the default; otherwise the domain's rule.
fn skew_error(skew: &str) -> Option<String> {
    let skew = skew.trim();
    if skew.is_empty() {
        return None;
    }
    let Ok(secs) = skew.parse::<i64>() else {
        return Some("Enter a whole number of seconds from 1 to 300.".to_owned());
    };
    HmacValues::parse("", Some(secs))
        .err()
        .map(|(_, message)| message)
}

#[component]
pub fn AddCredentialDialog(
    consumer: Consumer,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let method = RwSignal::new(CredentialMethod::ApiKey);
    let chosen = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let algorithm = RwSignal::new(HmacAlgorithm::Sha256.as_str().to_owned());
    let skew = RwSignal::new(String::new());
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let revealed = RwSignal::new(None::<CreatedCredential>);
    let iid = consumer.instance_id.clone();
    let keys = Resource::new(
        || (),
        move |_| list_keys(iid.clone(), String::new(), true, Some(1), Some(100)),
    );
    let name_error = typed_name_error(name, server, "Name");
    let skew_message = Signal::derive(move || {
        skew_error(&skew.get()).or_else(|| server.get().and_then(|e| e.field_message("ClockSkew")))
    });
    let cid = consumer.id.clone();
    let submit = Callback::new(move |_: ()| match method.get_untracked() {
        CredentialMethod::Hmac => {
            let input = NewCredential {
                consumer_id: cid.clone(),
                name: name.get_untracked(),
                method: CredentialMethod::Hmac,
                hmac: Some(HmacInput {
                    algorithm: Some(algorithm.get_untracked()),
                    clock_skew_secs: skew.get_untracked().trim().parse().ok(),
                }),
                jwt: None,
            };
            send(pending, server, create_credential(input), move |created| {
                notify(
                    false,
                    format!("Credential {} added.", created.credential.name),
                );
                revealed.set(Some(created));
            });
        }
        _ => {
            let change = bind_credential(cid.clone(), chosen.get_untracked());
            save(
                pending,
                server,
                change,
                |_| "Credential added.".into(),
                on_done,
            );
        }
    });
    let ready = Signal::derive(move || match method.get() {
        CredentialMethod::Hmac => !name.get().trim().is_empty(),
        _ => !chosen.get().is_empty(),
    });
    let invalid = Signal::derive(move || {
        method.get() == CredentialMethod::Hmac
            && (name_error.get().is_some() || skew_error(&skew.get()).is_some())
    });
    let key_choice = move || {
        view! {
            <div class="field">
                <label for="credential-key">"Key"</label>
                <Suspense fallback=|| view! { <p class="loading">"Loading keys…"</p> }>
                    {move || Suspend::new(async move {
                        match keys.await {
                            Ok(page) if page.items.is_empty() => view! { <p class="empty">"There are no unbound keys. Create one on the Keys page."</p> }.into_any(),
                            Ok(page) => view! {
                                <select id="credential-key" on:change=move |ev| chosen.set(event_target_value(&ev))>
                                    <option value="">"Select a key"</option>
                                    {page.items.into_iter().map(|k| view! { <option value=k.id>{format!("{} ({})", k.name, crate::domain::keys::masked(&k.prefix))}</option> }).collect_view()}
                                </select>
                            }.into_any(),
                            Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        }
    };
    let hmac_fields = move || {
        view! {
            <TextField id="credential-name" label="Credential name" value=name error=name_error required=true />
            <div class="field">
                <label for="credential-algorithm">"Signature algorithm"</label>
                <select id="credential-algorithm" on:change=move |ev| algorithm.set(event_target_value(&ev))>
                    {[HmacAlgorithm::Sha256, HmacAlgorithm::Sha512].into_iter().map(|a| view! {
                        <option value=a.as_str() selected=move || algorithm.get() == a.as_str()>{a.as_str()}</option>
                    }).collect_view()}
                </select>
            </div>
            <TextField id="credential-skew" label="Clock skew in seconds (1–300, default 300)" value=skew error=skew_message />
            <p class="hint">"The console generates an access key ID and a secret key, and shows the secret once. Clients sign each request with it (see the README's HMAC section)."</p>
        }
    };
    view! {
        <Dialog title="Add Credential" on_close=on_close>
            {move || match revealed.get() {
                None => view! {
                    <Form on_close=on_close on_submit=submit pending=pending server=server fields=&["Name", "ClockSkew"] ready=Some(ready) invalid=Some(invalid)>
                        <div class="field">
                            <label for="credential-method">"Authentication method"</label>
                            <select id="credential-method" on:change=move |ev| {
                                let picked = CredentialMethod::parse(&event_target_value(&ev)).unwrap_or(CredentialMethod::ApiKey);
                                server.set(None);
                                method.set(picked);
                            }>
                                {METHODS.into_iter().map(|m| view! {
                                    <option value=m.as_str() selected=move || method.get() == m>{m.label()}</option>
                                }).collect_view()}
                            </select>
                        </div>
                        {move || match method.get() {
                            CredentialMethod::Hmac => hmac_fields().into_any(),
                            _ => key_choice().into_any(),
                        }}
                    </Form>
                }.into_any(),
                Some(created) => view! {
                    <p>"The credential " <strong>{created.credential.name.clone()}</strong> " is ready. A request names it by its access key ID and is signed with the secret key."</p>
                    <div class="field">
                        <label for="credential-access-key">"Access key ID"</label>
                        <input id="credential-access-key" class="mono" type="text" readonly value=created.credential.hmac.map(|h| h.access_key).unwrap_or_default() />
                    </div>
                    <SecretReveal id="credential-secret" label="Secret key" value=created.secret sealed=true on_done=on_done />
                }.into_any(),
            }}
        </Dialog>
    }
}

#[component]
pub fn RotateCredentialDialog(
    credential: Credential,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let grace = RwSignal::new(0i64);
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let revealed = RwSignal::new(None::<String>);
    let id = credential.credential_id.clone();
    let submit = Callback::new(move |_: ()| {
        let change = rotate_credential(id.clone(), grace.get_untracked());
        send(pending, server, change, move |created| {
            notify(
                false,
                format!("Credential {} rotated.", created.credential.name),
            );
            revealed.set(Some(created.secret));
        });
    });
    let name = credential.name.clone();
    view! {
        <Dialog title="Rotate Credential" on_close=on_close>
            {move || match revealed.get() {
                None => {
                    let name = name.clone();
                    view! {
                    <Form on_close=on_close on_submit=submit pending=pending server=server>
                        <p>"Give the credential " <strong>{name.clone()}</strong> " a new secret key. Its access key ID stays the same."</p>
                        <div class="field">
                            <label for="rotate-credential-grace">"The old secret keeps working for"</label>
                            <select id="rotate-credential-grace" on:change=move |ev| grace.set(event_target_value(&ev).parse().unwrap_or(0))>
                                {GRACE_PERIODS.iter().map(|(s, label)| view! { <option value=s.to_string()>{*label}</option> }).collect_view()}
                            </select>
                        </div>
                    </Form>
                }.into_any()
                }
                Some(secret) => view! {
                    <SecretReveal id="rotated-credential-secret" label="New secret key" value=secret sealed=true on_done=on_done />
                }.into_any(),
            }}
        </Dialog>
    }
}

#[component]
pub fn RemoveCredentialDialog(
    consumer: Consumer,
    credential: Credential,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let id = credential.credential_id.clone();
    let confirm = TypedConfirmation {
        label: format!(
            "Enter the credential name \"{}\" to confirm",
            credential.name
        ),
        expected: credential.name.clone(),
    };
    view! {
        <DeleteDialog title="Remove Credential" done="Credential removed." confirm=confirm
            check=|| async { Ok(Vec::new()) }
            delete=move || delete_credential(id.clone())
            on_close=on_close on_done=on_done>
            <p>"Remove the " {credential.method.label()} " credential " <strong>{credential.name.clone()}</strong> " of " <strong>{consumer.name.clone()}</strong> "? Requests signed with it will be refused, and it cannot be restored."</p>
        </DeleteDialog>
    }
}

/// Disables or enables a JWT or HMAC credential at once (its row's button).
pub fn toggle_credential(credential: &Credential, reload: RwSignal<u32>) -> impl Fn(()) + Clone {
    let (id, name, enabled, version) = (
        credential.credential_id.clone(),
        credential.name.clone(),
        credential.enabled,
        credential.version,
    );
    move |_| {
        let (id, name) = (id.clone(), name.clone());
        leptos::task::spawn_local(async move {
            match set_credential_enabled(id, !enabled, version).await {
                Ok(_) => notify(
                    false,
                    format!(
                        "Credential {name} {}.",
                        if enabled { "disabled" } else { "enabled" }
                    ),
                ),
                Err(e) => notify(true, e.to_string()),
            }
            reload.update(|r| *r += 1);
        });
    }
}
