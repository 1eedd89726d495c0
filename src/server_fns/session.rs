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
    use crate::server::{session, AppState};
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    let state = use_context::<AppState>().ok_or(AppError::Internal)?;
    let address = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let result = crate::service::auth::sign_in(&state.db, &username, &password, &address).await;
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
            let next = crate::domain::url_encode(&safe_next(next.as_deref()));
            leptos_axum::redirect(&format!("/login?error={reason}&next={next}"));
            return Ok(());
        }
        other => super::context::respond(other)?,
    };
    let res = expect_context::<leptos_axum::ResponseOptions>();
    if let Ok(v) =
        http::HeaderValue::from_str(&session::session_cookie(&token, state.secure_cookies))
    {
        res.insert_header(http::header::SET_COOKIE, v);
    }
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// Only local absolute paths are followed after sign-in (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.starts_with("/login") =>
        {
            n.to_owned()
        }
        _ => "/instances".to_owned(),
    }
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::server::{session, AppState};
    let state = use_context::<AppState>().ok_or(AppError::Internal)?;
    let parts = use_context::<http::request::Parts>().ok_or(AppError::Unauthorized)?;
    if let Some(token) = session::session_token(&parts.headers) {
        crate::service::auth::sign_out(&state.db, &token).await?;
    }
    let res = expect_context::<leptos_axum::ResponseOptions>();
    if let Ok(v) = http::HeaderValue::from_str(&session::cleared_cookie()) {
        res.insert_header(http::header::SET_COOKIE, v);
    }
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<CurrentUser, AppError> {
    super::context::actor().map(|(_, a)| a.user)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/instances/gw-x/consumers?page=2")),
            "/instances/gw-x/consumers?page=2"
        );
        assert_eq!(safe_next(Some("//evil.example")), "/instances");
        assert_eq!(safe_next(Some("https://evil.example")), "/instances");
        assert_eq!(safe_next(None), "/instances");
    }
}
