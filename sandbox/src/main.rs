//! `partner-center-sandbox`: the Partner Center emulator on its own, for testing any Partner Center client.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use partner_center_sandbox::SandboxOptions;
use partner_center_sandbox::cli::{self, SandboxArgs};
use tracing_subscriber::EnvFilter;

/// The gateway's configuration file, whose `[sandbox]` table is read when it exists in the working directory:
/// the gateway's `sandbox` subcommand does the same.
const DEFAULT_CONFIG_FILE: &str = "config/default.toml";

#[derive(Debug, Parser)]
#[command(
    name = "partner-center-sandbox",
    version,
    about = "An emulator of Microsoft Partner Center and its Entra ID token endpoint, over deterministic demo data."
)]
struct Cli {
    /// TOML file whose [sandbox] table configures the sandbox; other tables are ignored, so the gateway's
    /// configuration file works as it is. Default: config/default.toml when it exists.
    #[arg(long, env = "PCGW_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    args: SandboxArgs,
}

/// The one table of the gateway's configuration that is the sandbox's. Not `deny_unknown_fields`: the other
/// tables belong to the gateway, which checks them itself (`SandboxOptions` still refuses unknown keys).
#[derive(serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    sandbox: SandboxOptions,
}

/// The `[sandbox]` table, then the `PCGW_SANDBOX__...` environment variables over it, as the gateway reads them.
fn load_options(config: Option<&Path>) -> Result<SandboxOptions, String> {
    let file = match config {
        Some(path) if !path.is_file() => {
            return Err(format!("configuration file {} not found", path.display()));
        }
        Some(path) => Some(path),
        None => Some(Path::new(DEFAULT_CONFIG_FILE)).filter(|path| path.is_file()),
    };
    let mut figment = Figment::new();
    if let Some(path) = file {
        figment = figment.merge(Toml::file(path));
    }
    figment
        .merge(
            Env::prefixed("PCGW_")
                .filter(|key| key.as_str().contains("__"))
                .split("__"),
        )
        .extract::<ConfigFile>()
        .map(|file| file.sandbox)
        .map_err(|error| error.to_string())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // Colour codes help a terminal; in a log file or a container's log they are noise.
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    let Cli { config, args } = Cli::parse();
    let outcome = match load_options(config.as_deref()) {
        Ok(options) => cli::run(&args, options, shutdown_signal())
            .await
            .map_err(|error| format!("cannot serve on {}: {error}", args.listen)),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("partner-center-sandbox: {error}");
            ExitCode::FAILURE
        }
    }
}
