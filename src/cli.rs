//! The command line: `serve` (the default), `sandbox`, `export-connector`, `keys`, the administrator's `login`,
//! `share-refresh-token` and `check`, and `probe` for health checks.

mod keys;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::config::{DEFAULT_CONFIG_FILE, LogFormat, Settings};
use crate::connector::export;
use crate::connector::locale::Locale;
use crate::connector::package::{Auth, Target};
use crate::routes;
use crate::sandbox::SandboxOptions;
use crate::sandbox::cli::SandboxArgs;
use crate::startup::{Application, check, login, shutdown_signal};

#[derive(Debug, Parser)]
#[command(
    name = "partner-center-gateway",
    version,
    about = "Keeps the Microsoft Partner Center connector alive for Power Platform makers."
)]
pub struct Cli {
    /// Configuration file (TOML). Default: config/default.toml, the sandbox profile.
    #[arg(long, global = true, env = "PCGW_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log format: text (readable lines) or json (one object per line). Default: the configuration's
    /// log.format (PCGW_LOG__FORMAT), else text.
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the gateway (the default).
    Serve,
    /// Run only the embedded Partner Center sandbox (token endpoint, JWKS and the Partner Center API).
    Sandbox(SandboxArgs),
    /// Write the Power Platform custom-connector package (apiDefinition.swagger.json, apiProperties.json,
    /// settings.json, icon.png) that `paconn create` and `pac connector create` import.
    ExportConnector {
        /// Folder to write the package into (created if missing; its files are overwritten).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Language of display names and descriptions: en-US or pt-BR.
        #[arg(long, default_value = "en-US")]
        locale: Locale,
        /// How connections authenticate: api-key (X-API-Key) or oauth (Entra ID sign-in, bearer pass-through).
        #[arg(long, default_value = "api-key")]
        auth: Auth,
        /// Where makers reach the gateway: gw.example.com, or https://gw.example.com/base. Default: the
        /// configuration's server.public_base_url.
        #[arg(long)]
        host: Option<String>,
    },
    /// Sign an App+User connection in (a code to enter at a sign-in page, with MFA) and write its refresh token
    /// to the connection's refresh_token_file.
    Login {
        /// The connection's id, as in the configuration.
        #[arg(long, value_name = "ID")]
        connection: String,
    },
    /// With quota.backend = "redis": move an App+User connection's refresh token from its refresh_token_file
    /// into Redis, where every replica takes it from.
    ShareRefreshToken {
        /// The connection's id, as in the configuration.
        #[arg(long, value_name = "ID")]
        connection: String,
        /// Replace the token Redis already holds for the connection (which replicas may have rolled since).
        #[arg(long)]
        replace: bool,
    },
    /// Get each connection a token and make one Partner Center read with it, then print a table of the
    /// outcomes; the exit status is non-zero if any failed.
    Check {
        /// Check only this connection.
        #[arg(long, value_name = "ID")]
        connection: Option<String>,
    },
    /// Issue a connection's API key, or hash one: the configuration holds only keys' SHA-256.
    Keys(keys::KeysArgs),
    /// GET a probe URL of a running gateway and exit 0 if it answers 2xx, 1 otherwise: the container image's
    /// HEALTHCHECK, which has no curl.
    Probe {
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 5)]
        timeout_secs: u64,
    },
}

impl Command {
    /// Whether the command serves, and logs to stdout as servers do; the others keep stdout for their output.
    pub fn serves(&self) -> bool {
        matches!(self, Command::Serve | Command::Sandbox(_))
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli {
        config, command, ..
    } = cli;
    match command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(Settings::load(config.as_deref())?).await?;
            tracing::info!(address = %app.local_addr(), scheme = app.scheme(), "partner-center-gateway listening");
            app.run_until_stopped(shutdown_signal()).await?;
        }
        Command::Sandbox(args) => {
            // Only the optional [sandbox] table matters here, so the sandbox runs from anywhere, file or not.
            let options = match config {
                Some(path) => Settings::load(Some(&path))?.sandbox,
                None if Path::new(DEFAULT_CONFIG_FILE).is_file() => Settings::load(None)?.sandbox,
                None => SandboxOptions::default(),
            };
            crate::sandbox::cli::run(&args, options, shutdown_signal()).await?;
        }
        Command::ExportConnector {
            out,
            locale,
            auth,
            host,
        } => {
            // A host on the command line is all an export needs; the configuration is read only without one.
            let host = match host {
                Some(host) => host,
                None => Settings::load(config.as_deref())?
                    .server
                    .public_base_url
                    .map(|url| url.to_string())
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "give --host, or set server.public_base_url: the package must name where makers reach the gateway"
                        )
                    })?,
            };
            let target = Target::parse(&host).map_err(anyhow::Error::msg)?;
            for path in export::write(&out, &routes::openapi(), locale, auth, &target)? {
                println!("{}", path.display());
            }
        }
        Command::Login { connection } => {
            let settings = Settings::load(config.as_deref())?;
            login::run(settings, &connection, &mut std::io::stdout()).await?;
        }
        Command::ShareRefreshToken {
            connection,
            replace,
        } => {
            let settings = Settings::load(config.as_deref())?;
            login::share(settings, &connection, replace, &mut std::io::stdout()).await?;
        }
        Command::Probe { url, timeout_secs } => {
            let response = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(timeout_secs))
                .build()?
                .get(&url)
                .send()
                .await?;
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            println!("{status} {}", body.trim());
            if !status.is_success() {
                anyhow::bail!("{url} answered {status}");
            }
        }
        Command::Check { connection } => {
            let settings = Settings::load(config.as_deref())?;
            check::run(settings, connection.as_deref(), &mut std::io::stdout()).await?;
        }
        Command::Keys(args) => keys::run(args)?,
    }
    Ok(())
}
