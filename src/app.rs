//! The HTML shell, the root component and the route table: the map of the console.

use crate::ui::components::Notices;
use crate::ui::pages::{
    access::AccessCheckPage,
    accounts::AccountsPage,
    audit::{GlobalAuditPage, InstanceAuditPage},
    consumers::ConsumersPage,
    environments::EnvironmentsPage,
    groups::GroupsPage,
    import::ImportConfigPage,
    instances,
    keys::KeysPage,
    limits::RateLimitsPage,
    login::LoginPage,
    model_apis::ModelApisPage,
    quotas::QuotasPage,
    rules::AuthorizationPage,
    tokens::TokensPage,
    usage::UsagePage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{lazy_route, path, Lazy, LazyRoute, SsrMode};

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
    // A page's code is fetched when it is first opened (see `lazy_pages!`): until it is shown,
    // a bar says that the page is on its way.
    let (routing, set_routing) = signal(false);
    view! {
        <Title text="Gateway Console" />
        <div class="route-progress" role="progressbar" aria-label="Opening the page" hidden=move || !routing.get()></div>
        <Router set_is_routing=set_routing>
            <Routes fallback=|| view! { <main class="not-found"><h1>"Page not found"</h1><a href="/instances">"Instance list"</a></main> }>
                <Route path=path!("/login") ssr=SsrMode::Async view=LoginPage />
                <Route path=path!("/") ssr=SsrMode::Async view=|| view! { <Redirect path="/instances" /> } />
                <Route path=path!("/instances") ssr=SsrMode::Async view=instances::InstancesPage />
                <Route path=path!("/tokens") ssr=SsrMode::Async view={Lazy::<Tokens>::new()} />
                <Route path=path!("/audit") ssr=SsrMode::Async view={Lazy::<GlobalAudit>::new()} />
                <Route path=path!("/accounts") ssr=SsrMode::Async view={Lazy::<Accounts>::new()} />
                <ParentRoute path=path!("/instances/:id") ssr=SsrMode::Async view=instances::InstanceLayout>
                    <Route path=path!("") ssr=SsrMode::Async view=instances::InstanceOverview />
                    <Route path=path!("consumers") ssr=SsrMode::Async view={Lazy::<Consumers>::new()} />
                    <Route path=path!("groups") ssr=SsrMode::Async view={Lazy::<Groups>::new()} />
                    <Route path=path!("keys") ssr=SsrMode::Async view={Lazy::<Keys>::new()} />
                    <Route path=path!("apis") ssr=SsrMode::Async view={Lazy::<ModelApis>::new()} />
                    <Route path=path!("environments") ssr=SsrMode::Async view={Lazy::<Environments>::new()} />
                    <Route path=path!("authorization") ssr=SsrMode::Async view={Lazy::<Authorization>::new()} />
                    <Route path=path!("limits") ssr=SsrMode::Async view={Lazy::<RateLimits>::new()} />
                    <Route path=path!("quotas") ssr=SsrMode::Async view={Lazy::<Quotas>::new()} />
                    <Route path=path!("usage") ssr=SsrMode::Async view={Lazy::<Usage>::new()} />
                    <Route path=path!("audit") ssr=SsrMode::Async view={Lazy::<InstanceAudit>::new()} />
                    <Route path=path!("access") ssr=SsrMode::Async view={Lazy::<AccessCheck>::new()} />
                    <Route path=path!("import") ssr=SsrMode::Async view={Lazy::<ImportConfig>::new()} />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The pages outside the main WASM: each is a lazy route, its code WASM chunks of its own (`cargo
/// leptos build --split`), fetched when the page is first shown. So the first page, the instance
/// list, loads only the main bundle. The server renders a lazy page as any other, and names its
/// chunks in the page's head so the browser fetches them beside the main bundle rather than
/// after it. A page has no route data of its own: its resources live in its view.
///
/// (Grouping several pages behind one `#[lazy]` function would mean fewer, larger chunks, but
/// with leptos 0.8.23 and cargo-leptos 0.3.10 pages split that way lost their reactivity: the
/// browser tests of dialogs failed. One split per page passes them all.)
macro_rules! lazy_pages {
    ($($route:ident => $page:path;)*) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                #[cfg(feature = "ssr")]
                preload_chunks(stringify!($route));
                $page().into_any()
            }
        }
    )*};
}

/// On the server, while it renders a lazy page: names that page's WASM chunks in the head
/// (`<link rel="preload">`, and the split loader as a `modulepreload`), so the browser fetches
/// them beside the main bundle instead of after it has started.
#[cfg(feature = "ssr")]
fn preload_chunks(route: &'static str) {
    use leptos_meta::Link;
    let Some(state) = use_context::<crate::state::AppState>() else {
        return;
    };
    // Leptos walks a page more than once while it renders it on the server: name the chunks once.
    let first = use_context::<Preloaded>()
        .is_none_or(|done| done.0.lock().is_ok_and(|mut done| done.insert(route)));
    if !first {
        return;
    }
    let Some(split) = split_manifest(&state.leptos_options) else {
        return;
    };
    // `#[lazy_route]` names a page's split `__<the page in snake case>_view_<hash>`.
    let prefix = format!("__{}_view_", snake_case(route));
    let Some(modules) = split
        .chunks
        .iter()
        .find_map(|(name, modules)| name.starts_with(&prefix).then_some(modules))
    else {
        tracing::warn!(route, "the split manifest has no chunks for this page");
        return;
    };
    // Rendering a head tag registers it with the page's meta context, which writes it into
    // `<head>`; the string itself is not needed.
    for module in modules {
        let href = format!("{}/{module}.wasm", split.pkg);
        _ = view! { <Link rel="preload" href=href as_="fetch" type_="application/wasm" crossorigin="anonymous" /> }.to_html();
    }
    let loader = format!("{}/{}", split.pkg, split.loader);
    _ = view! { <Link rel="modulepreload" href=loader /> }.to_html();
}

/// The lazy pages whose chunks one server render has named in the head (provided per render).
#[cfg(feature = "ssr")]
#[derive(Clone, Default)]
pub struct Preloaded(std::sync::Arc<std::sync::Mutex<std::collections::HashSet<&'static str>>>);

/// What `cargo leptos build --split` wrote: each lazy page's WASM chunks, by page.
#[cfg(feature = "ssr")]
struct SplitManifest {
    pkg: String,
    loader: String,
    chunks: std::collections::HashMap<String, Vec<String>>,
}

/// The build's split manifest, read once: its name is in `hash.txt` beside the binary (as
/// cargo-leptos' hash-files writes it), the file in the site's package directory. `None` for a
/// build without `--split`.
#[cfg(feature = "ssr")]
fn split_manifest(options: &LeptosOptions) -> Option<&'static SplitManifest> {
    static MANIFEST: std::sync::OnceLock<Option<SplitManifest>> = std::sync::OnceLock::new();
    MANIFEST
        .get_or_init(|| {
            let hashes = std::env::current_exe()
                .ok()
                .and_then(|exe| std::fs::read_to_string(exe.with_file_name(options.hash_file.as_ref())).ok())
                .unwrap_or_default();
            let hash_of = |kind: &str| {
                hashes.lines().find_map(|line| {
                    let (file, hash) = line.split_once(':')?;
                    (file.trim() == kind).then(|| format!(".{}", hash.trim()))
                })
            };
            let manifest = if options.hash_files { hash_of("manifest")? } else { String::new() };
            let loader = if options.hash_files { hash_of("split")? } else { ".______________________".into() };
            let pkg = format!("/{}", options.site_pkg_dir);
            let path = std::path::Path::new(options.site_root.as_ref())
                .join(options.site_pkg_dir.as_ref())
                .join(format!("__wasm_split_manifest{manifest}.json"));
            let read = std::fs::read_to_string(&path).ok()?;
            match serde_json::from_str(&read) {
                Ok(chunks) => Some(SplitManifest { pkg, loader: format!("__wasm_split{loader}.js"), chunks }),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "unreadable WASM split manifest: lazy pages load without preloading");
                    None
                }
            }
        })
        .as_ref()
}

lazy_pages! {
    Consumers => ConsumersPage;
    Groups => GroupsPage;
    Keys => KeysPage;
    ModelApis => ModelApisPage;
    Environments => EnvironmentsPage;
    Authorization => AuthorizationPage;
    RateLimits => RateLimitsPage;
    Quotas => QuotasPage;
    Usage => UsagePage;
    InstanceAudit => InstanceAuditPage;
    Tokens => TokensPage;
    GlobalAudit => GlobalAuditPage;
    Accounts => AccountsPage;
    AccessCheck => AccessCheckPage;
    ImportConfig => ImportConfigPage;
}

#[cfg(feature = "ssr")]
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::snake_case;

    #[test]
    fn a_lazy_page_is_found_in_the_manifest_by_its_name_in_snake_case() {
        assert_eq!(snake_case("Consumers"), "consumers");
        assert_eq!(snake_case("ModelApis"), "model_apis");
        assert_eq!(snake_case("GlobalAudit"), "global_audit");
    }
}
