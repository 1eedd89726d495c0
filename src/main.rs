//! Thin entry point: configuration -> telemetry -> database -> application -> serve.

use clap::Parser;
use gateway_console::config::{Command, Config, TokenCommand};
use gateway_console::domain::records::Role;
use gateway_console::enforce;
use gateway_console::server::{leptos_options, router, AppState};
use gateway_console::service::{auth, demo, tokens};
use gateway_console::store::Db;
use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::parse();
    gateway_console::telemetry::init(&config.log_format);
    let db = Db::connect(&config.database_url).await?;

    if let Some((username, generated)) = auth::bootstrap_admin(
        &db,
        config.admin_username.as_deref(),
        config.admin_password.as_deref(),
    )
    .await?
    {
        match generated {
            Some(password) => {
                tracing::warn!(%username, %password, "created the first Admin with a generated password; it is shown only this once")
            }
            None => tracing::info!(%username, "created the first Admin"),
        }
    }

    if let Some(Command::CreateAccount {
        username,
        role,
        password,
    }) = &config.command
    {
        let cli = gateway_console::service::Actor {
            user: gateway_console::domain::records::CurrentUser {
                id: "cli".into(),
                username: "cli (create-account)".into(),
                role: Role::Admin,
            },
            request_id: format!("cli-{}", std::process::id()),
        };
        let account =
            gateway_console::service::accounts::create_account(&db, &cli, username, password, role)
                .await?;
        println!(
            "created {} account {}",
            account.role.as_str(),
            account.username
        );
        return Ok(());
    }
    if let Some(Command::Token {
        action: TokenCommand::Create { username, name },
    }) = &config.command
    {
        let created = tokens::create_token_for(&db, username, name).await?;
        println!("{}", created.value);
        return Ok(());
    }
    if config.demo && demo::seed(&db).await? {
        tracing::info!("seeded the demo instance");
    }

    let addr: SocketAddr = config.site_addr.parse()?;
    let leptos = leptos_options(addr);
    let settings = enforce::Settings {
        gateway_id: config.authz_gateway_id.clone(),
        environment: config.authz_environment.clone(),
    };
    let state = AppState {
        leptos_options: leptos,
        enforcer: enforce::Enforcer::start(db.clone(), settings).await?,
        db,
        secure_cookies: config.secure_cookies,
    };
    let app = router(state);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests finish before the process exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
