//! Thin entry point: configuration -> telemetry -> database -> application -> serve.

use clap::Parser;
use gateway_console::config::{Command, Config, TokenCommand};
use gateway_console::enforce;
use gateway_console::server::{leptos_options, router};
use gateway_console::service::config as config_file;
use gateway_console::service::{accounts, auth, demo, tokens};
use gateway_console::state::AppState;
use gateway_console::state::WebSettings;
use gateway_console::store::Db;
use std::net::SocketAddr;

#[global_allocator]
static ALLOCATOR: gateway_console::ServerAllocator = gateway_console::ServerAllocator;

/// A configuration file's text (`-`: standard input), refused unread when it is too large.
fn read_config_file(file: &std::path::Path) -> Result<String, Box<dyn std::error::Error>> {
    use std::io::Read;
    let max = gateway_console::domain::config::MAX_CONFIG_BYTES;
    let mut text = String::new();
    let reader: Box<dyn Read> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?)
    };
    reader
        .take(max as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    if text.len() > max {
        return Err(config_file::file_too_large(None).to_string().into());
    }
    Ok(text)
}

/// Runs, and on failure prints one line saying what failed and exits with status 1.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway-console: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    gateway_console::keep_freed_memory();
    let config = Config::parse();
    if let Some(Command::Openapi) = &config.command {
        println!("{}", gateway_console::api::openapi_json());
        return Ok(());
    }
    gateway_console::telemetry::init(&config.log_format);
    // SAFETY: nothing has called into SQLite yet; the database is opened below.
    if !unsafe { gateway_console::store::lite::use_server_allocator() } {
        tracing::warn!("SQLite keeps glibc's allocator");
    }
    // Installed first, so that start-up (migrations, the first snapshot load) is measured too.
    let metrics = config
        .metrics_addr
        .map(|addr| (addr, gateway_console::telemetry::install_metrics()));
    let db = Db::connect(&config.database_url).await.map_err(|e| {
        format!(
            "cannot open the database {}: {e}",
            gateway_console::store::redacted_url(&config.database_url)
        )
    })?;
    if let Some(Command::Export {
        gateway,
        output,
        include_key_hashes,
    }) = &config.command
    {
        let cli = gateway_console::service::Actor::system("cli (export)");
        let exported = config_file::export_gateway(&db, &cli, gateway, *include_key_hashes).await?;
        let yaml = config_file::to_yaml(&exported)?;
        match output {
            Some(file) => {
                std::fs::write(file, &yaml).map_err(|e| format!("{}: {e}", file.display()))?;
                eprintln!("exported gateway {gateway} to {}", file.display());
            }
            None => print!("{yaml}"),
        }
        return Ok(());
    }
    if let Some(Command::Import {
        file,
        gateway,
        dry_run,
        prune,
        allow_other_gateway,
    }) = &config.command
    {
        let text = read_config_file(file)?;
        let cli = gateway_console::service::Actor::system("cli (import)");
        let options = config_file::ImportOptions {
            dry_run: *dry_run,
            prune: *prune,
            allow_other_gateway: *allow_other_gateway,
            if_revision: None,
        };
        let report = config_file::import_gateway(&db, &cli, gateway, &text, options).await?;
        for change in &report.changes {
            let mut line = format!(
                "{} {} {}",
                change.action.sign(),
                change.kind.noun(),
                change.name
            );
            if !change.details.is_empty() {
                line.push_str(&format!(" ({})", change.details.join("; ")));
            }
            println!("{line}");
        }
        let verb = match (report.dry_run, report.total()) {
            (_, 0) => "nothing to change".to_owned(),
            (true, _) => format!("would apply: {}", report.summary()),
            (false, _) => format!("applied: {}", report.summary()),
        };
        eprintln!("gateway {gateway} (revision {}): {verb}", report.revision);
        return Ok(());
    }
    if let Some(Command::ResealSecrets) = &config.command {
        let db = db.with_keyring(load_keyring(&config)?);
        let changed = gateway_console::service::credentials::reseal_secrets(&db).await?;
        let key = db.keyring().map_or("", |k| k.current_id());
        println!("re-sealed the secrets of {changed} credentials with the key {key}");
        return Ok(());
    }
    if let Some(Command::Backup { to }) = &config.command {
        let copied = gateway_console::store::backup::to_file(&db, to).await?;
        println!("backed up {copied} bytes to {}", to.display());
        return Ok(());
    }

    if let Some(first) = accounts::bootstrap_admin(
        &db,
        config.admin_username.as_deref(),
        config.admin_password.as_deref(),
    )
    .await?
    {
        let username = &first.username;
        match first.generated {
            Some(password) => {
                let file = &config.admin_password_file;
                write_secret_file(file, &password)?;
                tracing::warn!(%username, file = %file.display(), "created the first Admin with a generated password, written to this file (mode 0600); delete it once read");
                if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                    eprintln!("The first Admin {username} has the password: {password}");
                }
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
        let cli = gateway_console::service::Actor::system("cli (create-account)");
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
        action:
            TokenCommand::Create {
                username,
                name,
                expires_in_days,
                scope,
            },
    }) = &config.command
    {
        let created =
            tokens::create_token_for(&db, username, name, Some(*expires_in_days), *scope).await?;
        println!("{}", created.value);
        return Ok(());
    }
    if config.demo && demo::seed(&db).await? {
        tracing::info!("seeded the demo instance");
    }

    let db = db.with_keyring(load_keyring(&config)?);

    let addr: SocketAddr = config.site_addr.parse()?;
    let leptos = leptos_options(addr);
    let settings = enforce::Settings {
        instance_id: config.authz_instance_id.clone(),
        environment: config.authz_environment.clone(),
        trust_proxy_headers: config.authz_trust_proxy_headers,
        request_uri: config.authz_request_uri,
        max_staleness: std::time::Duration::from_secs(config.authz_max_staleness),
        usage: enforce::usage::UsageSettings {
            flush_interval: std::time::Duration::from_secs(config.usage_flush_interval),
            minute_retention: std::time::Duration::from_secs(
                config.usage_minute_retention_hours * 3600,
            ),
            hour_retention: std::time::Duration::from_secs(
                config.usage_hour_retention_days * 86_400,
            ),
        },
    };
    if settings.instance_id.is_none() && !settings.trust_proxy_headers {
        tracing::warn!("no enforcement gateway is configured: /authz/check refuses every key (set CONSOLE_AUTHZ_GATEWAY_ID, or CONSOLE_AUTHZ_TRUST_PROXY_HEADERS=1 behind a proxy that sets X-Gateway-Id)");
    }
    let web = WebSettings {
        public_origin: config.public_url.as_deref().map(origin_of).transpose()?,
        secure_cookies: config.secure_cookies,
        trusted_proxies: config.trusted_proxies.clone(),
    };
    auth::spawn_purger(db.clone());
    let state = AppState {
        leptos_options: leptos,
        enforcer: enforce::Enforcer::start(db.clone(), settings).await?,
        db,
        web,
    };
    if let Some((metrics_addr, handle)) = metrics {
        let metrics = gateway_console::server::metrics::router(
            handle,
            state.db.clone(),
            state.enforcer.clone(),
        );
        let listener = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .map_err(|e| format!("CONSOLE_METRICS_ADDR {metrics_addr}: {e}"))?;
        tracing::info!("metrics on http://{}/metrics", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, metrics).await });
    }
    let enforcer = state.enforcer.clone();
    let app = router(state);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    // The counts since the last flush, so that a clean stop loses none.
    match enforcer.flush_usage().await {
        Ok(n) => tracing::info!(combinations = n, "usage counts written"),
        Err(e) => tracing::error!(error = %e, "the last usage counts could not be written"),
    }
    // And the quotas' counts, which a replica alone writes only every few seconds.
    if let Err(e) = enforcer.write_quota_counts().await {
        tracing::error!(error = %e, "the last quota counts could not be written");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The key-encryption keyring (`CONSOLE_KEK`, else the file `CONSOLE_KEK_FILE`, made on
/// first use).
fn load_keyring(
    config: &Config,
) -> Result<std::sync::Arc<gateway_console::secrets::Keyring>, String> {
    let keyring = gateway_console::secrets::Keyring::load(&config.kek_file, config.kek.as_deref())
        .map_err(|e| format!("the key-encryption keyring (CONSOLE_KEK_FILE / CONSOLE_KEK): {e}"))?;
    tracing::info!(
        sealing_key = keyring.current_id(),
        "key-encryption keyring loaded"
    );
    Ok(std::sync::Arc::new(keyring))
}

/// The origin (`scheme://host[:port]`) of the console's public URL.
fn origin_of(url: &str) -> Result<String, String> {
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(s, _)| matches!(s.to_ascii_lowercase().as_str(), "http" | "https"))
        .ok_or_else(|| format!("CONSOLE_PUBLIC_URL {url:?} is not an http(s):// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("CONSOLE_PUBLIC_URL {url:?} has no plain host"));
    }
    Ok(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
}

/// Writes a secret to a new file only its owner can read (the log never carries it).
fn write_secret_file(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{secret}")
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
