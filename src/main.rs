use std::io::IsTerminal;

use clap::Parser;
use partner_center_gateway::config::{LogFormat, Settings};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

// Every call allocates and frees small buffers across threads (headers, bodies, futures); glibc's malloc showed
// as about an eighth of the gateway's CPU under load, and mimalloc handles that pattern far better.
#[global_allocator]
// Built with `no_thp`: mimalloc otherwise asks for transparent huge pages on its arenas, and on kernels that
// grant them (THP in "madvise" mode, common) an idle gateway held 18 MB of 2 MB pages it barely used: idle RSS
// 36 MB with them, 25.6 MB without, the same calls/s within 2 % (bench/run --baseline, BENCHMARKS.md).
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = partner_center_gateway::cli::Cli::parse();
    let format = cli
        .log_format
        .unwrap_or_else(|| Settings::log_format(cli.config.as_deref()));
    let logs = tracing_subscriber::fmt().with_env_filter(
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    );
    // Servers log to stdout; the other commands keep stdout for their output.
    let (writer, terminal) = match cli.command.as_ref().is_none_or(|command| command.serves()) {
        true => (
            BoxMakeWriter::new(std::io::stdout),
            std::io::stdout().is_terminal(),
        ),
        false => (
            BoxMakeWriter::new(std::io::stderr),
            std::io::stderr().is_terminal(),
        ),
    };
    match format {
        // Colour codes help a terminal; in a log file or a container's log they are noise.
        LogFormat::Text => logs.with_ansi(terminal).with_writer(writer).init(),
        // A line's fields at the top level, where log collectors look for them; the span list would repeat the
        // call's IDs on every line of it.
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .with_writer(writer)
            .init(),
    }
    match partner_center_gateway::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("partner-center-gateway: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
