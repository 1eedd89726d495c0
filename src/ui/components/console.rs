//! The frame of every signed-in page: top bar (product, account, sign out) and content.
//! The content renders once the account is known, and sees it as context.

use super::Notice;
use crate::server_fns::session::{whoami, SignOut};
use leptos::prelude::*;

#[component]
pub fn Console(children: ChildrenFn) -> impl IntoView {
    let me = Resource::new(|| (), |_| whoami());
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <header class="topbar">
            <a class="brand" href="/instances">"Gateway Console"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.ok().map(|u| view! {
                        <span class="user">{format!("{} ({})", u.username, u.role.as_str())}</span>
                        {u.can_write().then(|| view! { <a class="tokens" href="/accounts">"Accounts"</a> })}
                    })
                })}
            </Suspense>
            <a class="tokens" href="/audit">"Audit log"</a>
            <a class="tokens" href="/tokens">"API tokens"</a>
            <ActionForm action=sign_out>
                <button type="submit" class="link">"Sign out"</button>
            </ActionForm>
        </header>
        <Notice/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match me.await {
                        Ok(user) => {
                            provide_context(user);
                            children().into_any()
                        }
                        Err(e) => view! { <p role="alert">{e.to_string()} " " <a href="/login">"Sign in"</a></p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
