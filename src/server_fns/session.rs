//! Sign in, sign out, and who is signed in.

use crate::domain::records::CurrentUser;
use crate::error::AppError;
use leptos::prelude::*;

/// Checks the credentials, sets the session cookie and sends the browser on to `next`
/// (a local path) or the instance list. Works as a plain form post without JavaScript.
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::state::{client::ClientAddr, cookies, AppState};
    let state = use_context::<AppState>().ok_or(AppError::Internal)?;
    let address = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<ClientAddr>().copied())
        .ok_or(AppError::Internal)?
        .0;
    let result = crate::service::auth::sign_in(&state.db, &username, &password, address).await;
    // A browser without JavaScript posts the form itself: answer a failure by sending it back
    // to the sign-in page with the reason, rather than with a JSON error it would display.
    let plain_form = use_context::<http::request::Parts>().is_some_and(|p| {
        p.headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
    });
    let (token, _) = match result {
        Err(e) if plain_form => {
            let reason = if e == AppError::RateLimited {
                "throttled"
            } else {
                "failed"
            };
            let next = crate::domain::url_encode(&crate::domain::safe_next(next.as_deref()));
            leptos_axum::redirect(&format!("/login?error={reason}&next={next}"));
            return Ok(());
        }
        other => super::context::respond(other)?,
    };
    let res = expect_context::<leptos_axum::ResponseOptions>();
    if let Ok(v) =
        http::HeaderValue::from_str(&cookies::session_cookie(&token, state.web.secure_cookies))
    {
        res.insert_header(http::header::SET_COOKIE, v);
    }
    leptos_axum::redirect(&crate::domain::safe_next(next.as_deref()));
    Ok(())
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::state::{cookies, AppState};
    let state = use_context::<AppState>().ok_or(AppError::Internal)?;
    let parts = use_context::<http::request::Parts>().ok_or(AppError::Unauthorized)?;
    if let Some(token) = cookies::session_token(&parts.headers, state.web.secure_cookies) {
        crate::service::auth::sign_out(&state.db, &token).await?;
    }
    let res = expect_context::<leptos_axum::ResponseOptions>();
    if let Ok(v) = http::HeaderValue::from_str(&cookies::cleared_cookie(state.web.secure_cookies)) {
        res.insert_header(http::header::SET_COOKIE, v);
    }
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<CurrentUser, AppError> {
    super::context::actor().map(|(_, a)| a.user)
}
