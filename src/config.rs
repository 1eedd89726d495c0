//! Configuration: every flag can also be set by an environment variable.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "gateway-console",
    version,
    about = "Gateway Console: consumers, keys and authorization rules of an API / AI gateway"
)]
pub struct Config {
    /// Database URL: `sqlite:path/to/file.db` (created and migrated on start) or
    /// `postgres://user:password@host/db` for several replicas sharing one database.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite:data/console.db")]
    pub database_url: String,

    /// Address to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub site_addr: String,

    /// Username of the first Admin, created when no account exists.
    #[arg(long, env = "CONSOLE_ADMIN_USERNAME")]
    pub admin_username: Option<String>,

    /// Password of the first Admin. When unset and no account exists, a strong password is
    /// generated into `--admin-password-file` (never into the log).
    #[arg(long, env = "CONSOLE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Where a generated first-Admin password is written (mode 0600).
    #[arg(
        long,
        env = "CONSOLE_ADMIN_PASSWORD_FILE",
        default_value = "data/initial-admin-password.txt"
    )]
    pub admin_password_file: std::path::PathBuf,

    /// The key-encryption keyring that seals JWT and HMAC secrets in the database: made
    /// (mode 0600, one new key) when it does not exist. Replicas must share it.
    #[arg(long, env = "CONSOLE_KEK_FILE", default_value = "data/kek")]
    pub kek_file: std::path::PathBuf,

    /// The keyring itself (its lines, `<key id> <base64 32 bytes>`), instead of the file.
    #[arg(long, env = "CONSOLE_KEK", hide_env_values = true)]
    pub kek: Option<String>,

    /// Seed a demo instance with groups, keys and consumers when the database is empty.
    #[arg(long, env = "CONSOLE_DEMO", default_value = "0", value_parser = parse_flag)]
    pub demo: bool,

    /// Served over HTTPS: the session cookie becomes `__Host-gc_session` and `Secure`, and
    /// pages send HSTS.
    #[arg(long, env = "CONSOLE_SECURE_COOKIES", default_value = "0", value_parser = parse_flag)]
    pub secure_cookies: bool,

    /// The URL browsers use for the console when it is behind a reverse proxy
    /// (`https://console.example.com`): state changes must come from its origin. Unset, the
    /// request's own `Host` is the console's origin.
    #[arg(long, env = "CONSOLE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Comma-separated addresses or networks of reverse proxies whose `X-Forwarded-For` names
    /// the client (for sign-in rate limits). Unset, the connection's address is the client.
    #[arg(long, env = "CONSOLE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<crate::state::client::IpNet>,

    /// Where `GET /metrics` (Prometheus) is served, e.g. `127.0.0.1:9464`: its own address,
    /// outside the console's sign-in, so keep it on a loopback or private interface. Unset,
    /// no metrics are kept or served.
    #[arg(long, env = "CONSOLE_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// Log format: `text` or `json`.
    #[arg(long, env = "CONSOLE_LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    /// The gateway (instance ID, `gw-…`) whose rules this replica enforces at
    /// `/authz/check`.
    #[arg(
        long = "authz-gateway-id",
        value_name = "GATEWAY_ID",
        env = "CONSOLE_AUTHZ_GATEWAY_ID"
    )]
    pub authz_instance_id: Option<String>,

    /// The environment (ID or name) enforced at `/authz/check`; unset means the gateway's
    /// default environment.
    #[arg(long, env = "CONSOLE_AUTHZ_ENVIRONMENT")]
    pub authz_environment: Option<String>,

    /// Read `X-Gateway-Id` and `X-Gateway-Environment` from the check's request where the
    /// two settings above are unset. Only with a proxy that sets (or clears) both headers on
    /// every check, as the README's configurations do: otherwise the client chooses them.
    #[arg(long, env = "CONSOLE_AUTHZ_TRUST_PROXY_HEADERS", default_value = "0", value_parser = parse_flag)]
    pub authz_trust_proxy_headers: bool,

    /// Where the check reads the original request's path: `x-original-uri` (nginx
    /// `auth_request`) or `path` (Envoy `ext_authz`, the path below `/authz/check`).
    #[arg(
        long,
        env = "CONSOLE_AUTHZ_REQUEST_URI",
        default_value = "x-original-uri"
    )]
    pub authz_request_uri: crate::enforce::RequestUriSource,

    /// Seconds a replica keeps granting from a snapshot it cannot confirm against the
    /// database; after that every check is refused (503) and `/readyz` says why.
    #[arg(long, env = "CONSOLE_AUTHZ_MAX_STALENESS", default_value = "30", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub authz_max_staleness: u64,

    /// Seconds between two writes of the check's usage counts to the database (each replica
    /// writes its own, and they add up). A crash loses at most this much counting.
    #[arg(long, env = "CONSOLE_USAGE_FLUSH_INTERVAL", default_value = "5", value_parser = clap::value_parser!(u64).range(1..=300))]
    pub usage_flush_interval: u64,

    /// Hours minute usage buckets are kept.
    #[arg(long, env = "CONSOLE_USAGE_MINUTE_RETENTION_HOURS", default_value = "48", value_parser = clap::value_parser!(u64).range(1..=8_760))]
    pub usage_minute_retention_hours: u64,

    /// Days hourly usage buckets are kept.
    #[arg(long, env = "CONSOLE_USAGE_HOUR_RETENTION_DAYS", default_value = "400", value_parser = clap::value_parser!(u64).range(1..=3_650))]
    pub usage_hour_retention_days: u64,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the console (the default).
    Serve,
    /// Create a console account.
    CreateAccount {
        #[arg(long)]
        username: String,
        /// Admin or Viewer.
        #[arg(long, default_value = "Admin")]
        role: String,
        /// Read from CONSOLE_NEW_PASSWORD so it does not appear in the process list.
        #[arg(long, env = "CONSOLE_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Copy the SQLite database, consistently, while the server keeps writing (`VACUUM
    /// INTO`), to a new file. For PostgreSQL use `pg_dump`.
    Backup {
        /// The file to write; it must not exist yet.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Seal every stored credential secret with the keyring's first key (after a new key
    /// was put first: see Security in the README). Secrets already sealed with it are left.
    ResealSecrets,
    /// Print the REST API's OpenAPI document (JSON) on standard output, without opening the
    /// database: for generating clients.
    Openapi,
    /// Write a gateway's configuration as YAML (see `/v1/schemas/gateway-config.json`), to a
    /// file or to standard output. Keys are listed without their values.
    Export {
        /// The gateway, `gw-…`.
        #[arg(long)]
        gateway: String,
        /// The file to write (replaced if it exists); standard output when absent.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        /// List each key's hash too (SHA-256 of its value): keep such a file secret.
        #[arg(long)]
        include_key_hashes: bool,
    },
    /// Apply a configuration file (an export, edited) to a gateway: all of it in one
    /// transaction or nothing, audited as one change set. Prints each change; with
    /// `--dry-run` only prints them. Exits with 1 when the file has problems (each is printed
    /// with its place in the file).
    Import {
        /// The configuration file (YAML or JSON); `-` for standard input.
        file: std::path::PathBuf,
        /// The gateway, `gw-…`.
        #[arg(long)]
        gateway: String,
        /// Only print what would change.
        #[arg(long)]
        dry_run: bool,
        /// Delete what the file does not list (the dry run says what).
        #[arg(long)]
        prune: bool,
        /// Apply a file exported from another gateway (to copy it or restore into a new one).
        #[arg(long)]
        allow_other_gateway: bool,
    },
    /// Manage REST API bearer tokens.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum TokenCommand {
    /// Create a token for an account and print it (once) on standard output.
    Create {
        /// The account the token acts as; a Viewer's token can only read.
        #[arg(long)]
        username: String,
        /// A name to recognise the token by (for example the script that uses it).
        #[arg(long)]
        name: String,
        /// Days until the token stops working (1 to 365).
        #[arg(long, default_value_t = crate::domain::keys::TOKEN_DEFAULT_DAYS)]
        expires_in_days: i64,
        /// `account` (what the account may do) or `usage-write` (only report usage with
        /// `POST /v1/usage`, for a gateway's log shipper).
        #[arg(long, default_value = "account", value_parser = parse_scope)]
        scope: crate::domain::records::TokenScope,
    },
}

fn parse_scope(s: &str) -> Result<crate::domain::records::TokenScope, String> {
    use crate::domain::records::TokenScope;
    match s.to_ascii_lowercase().as_str() {
        "account" => Ok(TokenScope::Account),
        "usage-write" | "usagewrite" => Ok(TokenScope::UsageWrite),
        _ => Err(format!("expected account or usage-write, got {s:?}")),
    }
}

fn parse_flag(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!("expected 1/0 or true/false, got {s:?}")),
    }
}
