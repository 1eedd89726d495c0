//! The HTML shell, the root component and the route table: the map of the console.

use crate::ui::components::Notices;
use crate::ui::pages::{
    accounts::AccountsPage,
    audit::{GlobalAuditPage, InstanceAuditPage},
    consumers::ConsumersPage,
    environments::EnvironmentsPage,
    groups::GroupsPage,
    instances,
    keys::KeysPage,
    login::LoginPage,
    model_apis::ModelApisPage,
    rules::AuthorizationPage,
    tokens::TokensPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The page's Content-Security-Policy names this render's nonce, which Leptos puts on the
    // inline scripts it writes (hydration, resolved resources).
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(res)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        if let Ok(v) = http::HeaderValue::from_str(&crate::state::page_policy(&nonce)) {
            res.insert_header(http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            // Pages render completely on the server (SsrMode::Async): they work without
            // JavaScript, and hydration then takes over.
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(Notices(RwSignal::new(None)));
    // Lets tests (and people) tell a hydrated page from plain server-rendered HTML.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title text="Gateway Console" />
        <Router>
            <Routes fallback=|| view! { <main class="not-found"><h1>"Page not found"</h1><a href="/instances">"Instance list"</a></main> }>
                <Route path=path!("/login") ssr=SsrMode::Async view=LoginPage />
                <Route path=path!("/") ssr=SsrMode::Async view=|| view! { <Redirect path="/instances" /> } />
                <Route path=path!("/instances") ssr=SsrMode::Async view=instances::InstancesPage />
                <Route path=path!("/tokens") ssr=SsrMode::Async view=TokensPage />
                <Route path=path!("/audit") ssr=SsrMode::Async view=GlobalAuditPage />
                <Route path=path!("/accounts") ssr=SsrMode::Async view=AccountsPage />
                <ParentRoute path=path!("/instances/:id") ssr=SsrMode::Async view=instances::InstanceLayout>
                    <Route path=path!("") ssr=SsrMode::Async view=instances::InstanceOverview />
                    <Route path=path!("consumers") ssr=SsrMode::Async view=ConsumersPage />
                    <Route path=path!("groups") ssr=SsrMode::Async view=GroupsPage />
                    <Route path=path!("keys") ssr=SsrMode::Async view=KeysPage />
                    <Route path=path!("apis") ssr=SsrMode::Async view=ModelApisPage />
                    <Route path=path!("environments") ssr=SsrMode::Async view=EnvironmentsPage />
                    <Route path=path!("authorization") ssr=SsrMode::Async view=AuthorizationPage />
                    <Route path=path!("audit") ssr=SsrMode::Async view=InstanceAuditPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
