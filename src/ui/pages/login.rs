//! The sign-in page: a plain form that also works without JavaScript.

use crate::error::AppError;
use crate::server_fns::session::SignIn;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    // With JavaScript the action's answer says what failed; without, the redirect back here
    // carries the reason in `?error=`.
    let error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
            .or_else(|| match query.read().get("error").as_deref() {
                Some("throttled") => Some(AppError::RateLimited.to_string()),
                Some(_) => Some("Wrong username or password.".to_owned()),
                None => None,
            })
    };
    view! {
        <main class="login">
            <h1>"Gateway Console"</h1>
            <ActionForm action=action>
                <h2>"Sign in"</h2>
                <div class="field">
                    <label for="username">"Username"</label>
                    <input id="username" name="username" autocomplete="username" required />
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required />
                </div>
                <input type="hidden" name="next" value=next />
                <p class="field-error" role="alert">{error}</p>
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Sign in"</button>
            </ActionForm>
        </main>
    }
}
