//! The command line: `serve` (the default) and `sandbox`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::startup::{Application, shutdown_signal};

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
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the gateway (the default).
    Serve,
    /// Run only the embedded Partner Center sandbox (token endpoint, JWKS and the Partner Center API).
    Sandbox {
        #[arg(long, default_value = "127.0.0.1:8081")]
        listen: SocketAddr,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            tracing::info!(address = %app.local_addr(), "partner-center-gateway listening");
            app.run_until_stopped(shutdown_signal()).await?;
        }
        Command::Sandbox { listen } => {
            let listener = tokio::net::TcpListener::bind(listen).await?;
            let sandbox = crate::sandbox::spawn(listener, settings.sandbox).await?;
            tracing::info!(url = %sandbox.base_url(), "Partner Center sandbox listening");
            shutdown_signal().await;
        }
    }
    Ok(())
}
