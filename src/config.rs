//! Configuration: every flag can also be set by an environment variable.

use clap::{Parser, Subcommand};

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
    /// generated and printed once in the log.
    #[arg(long, env = "CONSOLE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Seed a demo instance with groups, keys and consumers when the database is empty.
    #[arg(long, env = "CONSOLE_DEMO", default_value = "0", value_parser = parse_flag)]
    pub demo: bool,

    /// Mark the session cookie `Secure` (set this when the console is served over HTTPS).
    #[arg(long, env = "CONSOLE_SECURE_COOKIES", default_value = "0", value_parser = parse_flag)]
    pub secure_cookies: bool,

    /// Log format: `text` or `json`.
    #[arg(long, env = "CONSOLE_LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    /// The gateway (instance ID, `gw-…`) whose rules this replica enforces at
    /// `/authz/check`. When unset, each check names it in the `X-Gateway-Id` header.
    #[arg(long, env = "CONSOLE_AUTHZ_GATEWAY_ID")]
    pub authz_gateway_id: Option<String>,

    /// The environment (ID or name) enforced at `/authz/check`. When unset, the
    /// `X-Gateway-Environment` header, else the gateway's default environment.
    #[arg(long, env = "CONSOLE_AUTHZ_ENVIRONMENT")]
    pub authz_environment: Option<String>,

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
    },
}

fn parse_flag(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!("expected 1/0 or true/false, got {s:?}")),
    }
}
