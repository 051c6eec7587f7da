//! The command line of a sandbox that runs on its own. The `partner-center-sandbox` binary and the gateway's
//! `sandbox` subcommand both take [`SandboxArgs`] and serve through [`run`], so the two cannot drift apart.

use std::future::Future;
use std::net::SocketAddr;

use crate::SandboxOptions;

#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on; port 0 picks a free port (the `url=` log line names it).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
}

/// Serves the sandbox on `args.listen` until `shutdown` completes.
pub async fn run(
    args: &SandboxArgs,
    options: SandboxOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let sandbox = crate::spawn(listener, options).await?;
    tracing::info!(url = %sandbox.base_url(), "Partner Center sandbox listening");
    shutdown.await;
    Ok(())
}
