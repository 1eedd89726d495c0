//! Credential Management in the consumer details panel: Add Credential (bind an API key, or
//! make an HMAC (AK/SK) credential whose secret is shown once), and for a JWT or HMAC
//! credential Disable/Enable, Rotate (a new secret, the old one kept for a grace period) and
//! Remove (typing its name confirms).

use crate::domain::credentials::{
    jwks_url, CredentialMethod, HmacAlgorithm, HmacValues, JwtAlgorithm, JwtInput, JwtKeySource,
    JwtValues,
};
use crate::domain::inputs::{HmacInput, JwtCredentialInput, NewCredential};
use crate::domain::records::{Consumer, CreatedCredential, Credential};
use crate::error::AppError;
use crate::server_fns::consumers::bind_credential;
use crate::server_fns::credentials::{
    create_credential, delete_credential, rotate_credential, set_credential_enabled,
};
use crate::server_fns::keys::list_keys;
use crate::ui::components::{
    notify, save, send, typed_name_error, DeleteDialog, Dialog, Form, RotateDialog, Rotation,
    SecretReveal, TextField, TypedConfirmation,
};
use leptos::prelude::*;

/// The methods Add Credential offers, in the seed's words.
const METHODS: [CredentialMethod; 3] = CredentialMethod::ALL;

/// The algorithms a public key may verify (one per credential from the dialog).
const PUBLIC_ALGORITHMS: [JwtAlgorithm; 6] = [
    JwtAlgorithm::ES256,
    JwtAlgorithm::ES384,
    JwtAlgorithm::RS256,
    JwtAlgorithm::RS384,
    JwtAlgorithm::RS512,
    JwtAlgorithm::EdDSA,
];

/// The fields of the dialog that show their own server errors.
const FIELDS: &[&str] = &[
    "Name",
    "ClockSkew",
    "Issuer",
    "ConsumerClaim",
    "Subject",
    "Audience",
    "Algorithms",
    "MaxLifetime",
    "PublicKey",
    "JwksUrl",
    "JwksRefresh",
];

/// A number of seconds as typed: empty is none; anything but a whole number is an error.
fn seconds_typed(text: &str) -> Result<Option<i64>, ()> {
    match text.trim() {
        "" => Ok(None),
        t => t.parse().map(Some).map_err(|_| ()),
    }
}

/// The JWT part of the dialog, as typed.
#[derive(Clone, Copy)]
struct JwtForm {
    issuer: RwSignal<String>,
    claim: RwSignal<String>,
    subject: RwSignal<String>,
    audience: RwSignal<String>,
    source: RwSignal<JwtKeySource>,
    algorithm: RwSignal<String>,
    public_key: RwSignal<String>,
    jwks_url: RwSignal<String>,
    jwks_refresh: RwSignal<String>,
    lifetime: RwSignal<String>,
    skew: RwSignal<String>,
}

impl JwtForm {
    fn new() -> JwtForm {
        JwtForm {
            issuer: RwSignal::new(String::new()),
            claim: RwSignal::new(String::new()),
            subject: RwSignal::new(String::new()),
            audience: RwSignal::new(String::new()),
            source: RwSignal::new(JwtKeySource::PublicKey),
            algorithm: RwSignal::new(JwtAlgorithm::ES256.as_str().to_owned()),
            public_key: RwSignal::new(String::new()),
            jwks_url: RwSignal::new(String::new()),
            jwks_refresh: RwSignal::new(String::new()),
            lifetime: RwSignal::new(String::new()),
            skew: RwSignal::new(String::new()),
        }
    }

    fn algorithms(&self) -> Vec<String> {
        match self.source.get() {
            JwtKeySource::GeneratedSecret => vec![JwtAlgorithm::HS256.as_str().to_owned()],
            _ => vec![self.algorithm.get()],
        }
    }

    /// The first problem the domain's rules find, by field (an empty issuer only once the
    /// form is sent: it is required, not wrong while being typed).
    fn problem(&self) -> Option<(&'static str, String)> {
        let lifetime = seconds_typed(&self.lifetime.get())
            .map_err(|_| ("MaxLifetime", "Enter a whole number of seconds.".to_owned()));
        let skew = seconds_typed(&self.skew.get())
            .map_err(|_| ("ClockSkew", "Enter a whole number of seconds.".to_owned()));
        let (lifetime, skew) = match (lifetime, skew) {
            (Err(e), _) | (_, Err(e)) => return Some(e),
            (Ok(l), Ok(s)) => (l, s),
        };
        let issuer = self.issuer.get();
        let issuer = if issuer.trim().is_empty() {
            "-"
        } else {
            issuer.as_str()
        };
        let algorithms = self.algorithms();
        let input = JwtInput {
            issuer,
            consumer_claim: &self.claim.get(),
            subject: &self.subject.get(),
            audience: &self.audience.get(),
            algorithms: &algorithms,
            max_lifetime_secs: lifetime,
            clock_skew_secs: skew,
        };
        if let Err(e) = JwtValues::parse(&input, self.source.get()) {
            return Some(e);
        }
        if self.source.get() != JwtKeySource::JwksUrl {
            return None;
        }
        let refresh = seconds_typed(&self.jwks_refresh.get())
            .map_err(|_| ("JwksRefresh", "Enter a whole number of seconds.".to_owned()));
        let refresh = match refresh {
            Err(e) => return Some(e),
            Ok(r) => r,
        };
        let url = self.jwks_url.get();
        // An empty URL only once the form is sent, as the issuer.
        let url = if url.trim().is_empty() {
            "https://-"
        } else {
            url.as_str()
        };
        jwks_url(url, refresh).err()
    }

    fn input(&self) -> JwtCredentialInput {
        JwtCredentialInput {
            issuer: self.issuer.get_untracked(),
            consumer_claim: self.claim.get_untracked(),
            subject: self.subject.get_untracked(),
            audience: self.audience.get_untracked(),
            algorithms: self.algorithms(),
            max_lifetime_secs: seconds_typed(&self.lifetime.get_untracked()).ok().flatten(),
            clock_skew_secs: seconds_typed(&self.skew.get_untracked()).ok().flatten(),
            key_source: self.source.get_untracked(),
            public_key: (self.source.get_untracked() == JwtKeySource::PublicKey)
                .then(|| self.public_key.get_untracked()),
            jwks_url: (self.source.get_untracked() == JwtKeySource::JwksUrl)
                .then(|| self.jwks_url.get_untracked()),
            jwks_refresh_secs: seconds_typed(&self.jwks_refresh.get_untracked())
                .ok()
                .flatten()
                .filter(|_| self.source.get_untracked() == JwtKeySource::JwksUrl),
        }
    }
}

/// A JWT field's error: the domain's, else the server's word for it.
fn jwt_error(
    form: JwtForm,
    server: RwSignal<Option<AppError>>,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        form.problem()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m)
            .or_else(|| server.get().and_then(|e| e.field_message(field)))
    })
}

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
    let jwt = JwtForm::new();
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
        CredentialMethod::Jwt => {
            let input = NewCredential {
                consumer_id: cid.clone(),
                name: name.get_untracked(),
                method: CredentialMethod::Jwt,
                hmac: None,
                jwt: Some(jwt.input()),
            };
            send(pending, server, create_credential(input), move |created| {
                notify(
                    false,
                    format!("Credential {} added.", created.credential.name),
                );
                if created.secret.is_empty() {
                    on_done.run(());
                } else {
                    revealed.set(Some(created));
                }
            });
        }
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
        CredentialMethod::Jwt => {
            !name.get().trim().is_empty()
                && !jwt.issuer.get().trim().is_empty()
                && match jwt.source.get() {
                    JwtKeySource::PublicKey => !jwt.public_key.get().trim().is_empty(),
                    JwtKeySource::JwksUrl => !jwt.jwks_url.get().trim().is_empty(),
                    JwtKeySource::GeneratedSecret => true,
                }
        }
        _ => !chosen.get().is_empty(),
    });
    let invalid = Signal::derive(move || match method.get() {
        CredentialMethod::Hmac => name_error.get().is_some() || skew_error(&skew.get()).is_some(),
        CredentialMethod::Jwt => name_error.get().is_some() || jwt.problem().is_some(),
        _ => false,
    });
    let jwt_fields = move || {
        view! {
            <TextField id="credential-name" label="Credential name" value=name error=name_error required=true />
            <TextField id="jwt-issuer" label="Issuer (iss)" value=jwt.issuer error=jwt_error(jwt, server, "Issuer") required=true />
            <TextField id="jwt-claim" label="Consumer claim (default sub)" value=jwt.claim error=jwt_error(jwt, server, "ConsumerClaim") />
            <TextField id="jwt-subject" label="Claim value (default the consumer's name)" value=jwt.subject error=jwt_error(jwt, server, "Subject") />
            <TextField id="jwt-audience" label="Audience (aud, optional)" value=jwt.audience error=jwt_error(jwt, server, "Audience") />
            <div class="field">
                <label for="jwt-key-source">"Verification key"</label>
                <select id="jwt-key-source" on:change=move |ev| {
                    jwt.source.set(match event_target_value(&ev).as_str() {
                        "GeneratedSecret" => JwtKeySource::GeneratedSecret,
                        "JwksUrl" => JwtKeySource::JwksUrl,
                        _ => JwtKeySource::PublicKey,
                    });
                }>
                    <option value="PublicKey" selected=move || jwt.source.get() == JwtKeySource::PublicKey>"Public key (PEM or JWK)"</option>
                    <option value="JwksUrl" selected=move || jwt.source.get() == JwtKeySource::JwksUrl>"JWKS URL (fetched and refreshed)"</option>
                    <option value="GeneratedSecret" selected=move || jwt.source.get() == JwtKeySource::GeneratedSecret>"Generated secret (HS256)"</option>
                </select>
            </div>
            {move || (jwt.source.get() != JwtKeySource::GeneratedSecret).then(|| view! {
                <div class="field">
                    <label for="jwt-algorithm">"Token algorithm"</label>
                    <select id="jwt-algorithm" on:change=move |ev| jwt.algorithm.set(event_target_value(&ev))>
                        {PUBLIC_ALGORITHMS.into_iter().map(|a| view! {
                            <option value=a.as_str() selected=move || jwt.algorithm.get() == a.as_str()>{a.as_str()}</option>
                        }).collect_view()}
                    </select>
                </div>
            })}
            {move || match jwt.source.get() {
                JwtKeySource::PublicKey => view! {
                    <TextField id="jwt-public-key" label="Public key" value=jwt.public_key error=jwt_error(jwt, server, "PublicKey") multiline=true required=true />
                }.into_any(),
                JwtKeySource::JwksUrl => view! {
                    <TextField id="jwt-jwks-url" label="JWKS URL" value=jwt.jwks_url error=jwt_error(jwt, server, "JwksUrl") required=true />
                    <TextField id="jwt-jwks-refresh" label="JWKS refresh interval in seconds (60–86400, default 300)" value=jwt.jwks_refresh error=jwt_error(jwt, server, "JwksRefresh") />
                }.into_any(),
                JwtKeySource::GeneratedSecret => ().into_any(),
            }}
            <TextField id="jwt-lifetime" label="Longest token lifetime in seconds (default 86400)" value=jwt.lifetime error=jwt_error(jwt, server, "MaxLifetime") />
            <TextField id="jwt-skew" label="Clock skew in seconds (0–300, default 60)" value=jwt.skew error=jwt_error(jwt, server, "ClockSkew") />
        }
    };
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
                    <Form on_close=on_close on_submit=submit pending=pending server=server fields=FIELDS ready=Some(ready) invalid=Some(invalid)>
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
                            CredentialMethod::Jwt => jwt_fields().into_any(),
                            _ => key_choice().into_any(),
                        }}
                    </Form>
                }.into_any(),
                Some(created) if created.credential.method == CredentialMethod::Jwt => view! {
                    <p>"The credential " <strong>{created.credential.name.clone()}</strong> " is ready. Tokens signed with this secret (HS256) identify the consumer."</p>
                    <SecretReveal id="credential-secret" label="Token secret (HS256)" value=created.secret sealed=true on_done=on_done />
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
    let id = credential.credential_id.clone();
    let rotation = Rotation {
        title: "Rotate Credential",
        noun: "Credential",
        what_happens: match credential.method {
            CredentialMethod::Jwt => {
                " a new token secret (HS256). Its issuer and settings stay the same."
            }
            _ => " a new secret key. Its access key ID stays the same.",
        },
        grace_id: "rotate-credential-grace",
        grace_label: "The old secret keeps working for",
        reveal_id: "rotated-credential-secret",
        reveal_label: "New secret key",
        sealed: true,
    };
    let rotate = move |grace| {
        let change = rotate_credential(id.clone(), grace);
        async move { change.await.map(|created| created.secret) }
    };
    view! { <RotateDialog rotation=rotation name=credential.name rotate=rotate on_close=on_close on_done=on_done /> }
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
