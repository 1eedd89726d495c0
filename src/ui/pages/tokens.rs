//! The signed-in account's REST API tokens: create (shown once), list with last use, revoke.

use crate::domain::records::{ApiToken, TokenScope};
use crate::error::AppError;
use crate::server_fns::tokens::{create_token, list_tokens, revoke_token};
use crate::ui::components::typed_name_error;
use crate::ui::components::LocalTime;
use crate::ui::components::{
    save, send, Console, Dialog, Form, FormDialog, ListQuery, ListTable, SecretReveal, SelectOne,
    TextField,
};
use leptos::prelude::*;

#[component]
pub fn TokensPage() -> impl IntoView {
    view! {
        <Console>
            <main class="page">
                <Tokens />
            </main>
        </Console>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let creating = RwSignal::new(false);
    let revoking = RwSignal::new(None::<ApiToken>);
    let tokens = Resource::new(move || reload.get(), |_| list_tokens());
    view! {
        <h1>"API tokens"</h1>
        <p class="hint">"Tokens let scripts call the REST API under /v1 as you: send one as Authorization: Bearer <token>. A Viewer's tokens can only read. See the " <a href="/v1/docs">"API documentation"</a> "."</p>
        <div class="toolbar">
            <button type="button" class="primary" on:click=move |_| creating.set(true)>"New token"</button>
        </div>
        <ListTable what="tokens" label="API tokens" page=tokens
            columns=vec!["Name", "Token", "Access", "Creation Time", "Expires", "Last used", "Actions"]
            row=move |t: ApiToken, _: &ListQuery| {
                let label = format!("Revoke {}", t.name);
                let target = t.clone();
                view! {
                    <tr>
                        <td>{t.name.clone()}</td>
                        <td class="mono">{crate::domain::keys::masked(&t.prefix)}</td>
                        <td>{scope_label(t.scope)}</td>
                        <td><LocalTime ms=t.created_at /></td>
                        <td>{t.expires_at.map(|at| view! { <TokenExpiry at=at expired=t.expired /> }.into_any()).unwrap_or_else(|| "Never".into_any())}</td>
                        <td>{t.last_used_at.map(|t| view! { <LocalTime ms=t /> }.into_any()).unwrap_or_else(|| "Never".into_any())}</td>
                        <td class="actions"><button type="button" class="link danger" aria-label=label on:click=move |_| revoking.set(Some(target.clone()))>"Revoke"</button></td>
                    </tr>
                }
            } />
        <Show when=move || creating.get()>
            <NewTokenDialog on_close=move || { creating.set(false); reload.update(|r| *r += 1) } />
        </Show>
        {move || revoking.get().map(|t| view! {
            <RevokeTokenDialog token=t on_close=move || revoking.set(None) on_done=move || { revoking.set(None); reload.update(|r| *r += 1) } />
        })}
    }
}

/// When a token stops working, and whether it already has (expired tokens stay listed for a
/// week, so their owner sees why a script stopped).
#[component]
fn TokenExpiry(at: i64, expired: bool) -> impl IntoView {
    view! {
        <LocalTime ms=at />
        {expired.then(|| view! { " " <span class="warning">"Expired"</span> })}
    }
}

/// What a token may do, in words.
fn scope_label(scope: TokenScope) -> &'static str {
    match scope {
        TokenScope::Account => "Everything this account may do",
        TokenScope::UsageWrite => "Report usage only (a gateway's log shipper; Admins)",
    }
}

fn scope_value(scope: TokenScope) -> &'static str {
    match scope {
        TokenScope::Account => "account",
        TokenScope::UsageWrite => "usage-write",
    }
}

#[component]
fn NewTokenDialog(#[prop(into)] on_close: Callback<()>) -> impl IntoView {
    use crate::domain::keys::{TOKEN_DEFAULT_DAYS, TOKEN_LIFETIME_CHOICES};
    let name = RwSignal::new(String::new());
    let days = RwSignal::new(TOKEN_DEFAULT_DAYS.to_string());
    let access = RwSignal::new("account".to_owned());
    let accesses: Vec<(String, String)> = [TokenScope::Account, TokenScope::UsageWrite]
        .into_iter()
        .map(|s| (scope_value(s).to_owned(), scope_label(s).to_owned()))
        .collect();
    let lifetimes: Vec<(String, String)> = TOKEN_LIFETIME_CHOICES
        .iter()
        .map(|d| (d.to_string(), format!("{d} days")))
        .collect();
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let revealed = RwSignal::new(None::<String>);
    let name_error = typed_name_error(name, server, "Name");
    let submit = Callback::new(move |_: ()| {
        let usage_write = access.get_untracked() == scope_value(TokenScope::UsageWrite);
        let change = create_token(
            name.get_untracked(),
            days.get_untracked().parse().ok(),
            Some(usage_write),
        );
        send(pending, server, change, move |created| {
            revealed.set(Some(created.value))
        });
    });
    view! {
        <Dialog title="New token" on_close=on_close>
            {move || match revealed.get() {
                None => {
                    let lifetimes = lifetimes.clone();
                    let accesses = accesses.clone();
                    view! {
                    <Form on_close=on_close on_submit=submit pending=pending server=server fields=&["Name"]>
                        <TextField id="token-name" label="Token name" value=name error=name_error required=true />
                        <SelectOne id="token-lifetime" label="Expires in" options=lifetimes value=days />
                        <SelectOne id="token-access" label="Access" options=accesses value=access />
                    </Form>
                }.into_any()
                }
                Some(value) => view! {
                    <SecretReveal id="new-token-value" label="API token" value=value on_done=on_close />
                }.into_any(),
            }}
        </Dialog>
    }
}

#[component]
fn RevokeTokenDialog(
    token: ApiToken,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let id = token.id.clone();
    let submit = move |_| {
        let change = revoke_token(id.clone());
        save(
            pending,
            server,
            change,
            |_| "Token revoked.".to_owned(),
            on_done,
        );
    };
    view! {
        <FormDialog title="Revoke token" on_close=on_close on_submit=submit pending=pending server=server danger=true>
            <p>{format!("Scripts using the token {} will be refused from now on.", token.name)}</p>
        </FormDialog>
    }
}
