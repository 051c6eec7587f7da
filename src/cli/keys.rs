//! `partner-center-gateway keys`: issue a connection's API key, or hash one. Neither reads the configuration:
//! the administrator pastes what `issue` prints into it, and reloads.

use std::io::{Read, Write};

use clap::{Args, Subcommand};
use secrecy::ExposeSecret;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::connection::{hash_api_key, issue_api_key};
use crate::domain::ConnectionId;

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Print a new API key (shown this once) and the TOML lines that register its SHA-256 for a connection.
    Issue {
        /// The connection the key is for (its `id` in the configuration).
        #[arg(long, value_name = "ID")]
        connection: String,
    },
    /// Print the SHA-256 of the key on standard input (one trailing newline is dropped), as the configuration
    /// lists keys.
    Hash,
}

pub fn run(args: KeysArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match args.command {
        KeysCommand::Issue { connection } => {
            let id = ConnectionId::parse(&connection).map_err(anyhow::Error::msg)?;
            let key = issue_api_key().map_err(anyhow::Error::msg)?;
            let now = time::OffsetDateTime::now_utc().replace_nanosecond(0)?;
            let in_a_year = (now + time::Duration::days(365))
                .date()
                .format(format_description!("[year]-[month]-[day]"))?;
            write!(
                out,
                "New API key for connection \"{id}\", shown this once: give it to the maker. The gateway keeps only \
                 its SHA-256.\n\n    {key}\n\n\
                 Add these lines at the end of that connection's [[connections]] entry (after its \
                 [connections.credentials] table), then reload the gateway (kill -HUP, or POST /admin/reload):\n\n\
                 [[connections.api_keys]]   # issued {issued}\n\
                 sha256 = \"{sha256}\"\n\
                 # expires = {in_a_year}   # optional: refused from this day on (00:00 UTC), or give a date-time with an offset\n",
                key = key.expose_secret(),
                issued = now.format(&Rfc3339)?,
                sha256 = hash_api_key(key.expose_secret()),
            )?;
        }
        KeysCommand::Hash => {
            let mut input = Vec::new();
            std::io::stdin().read_to_end(&mut input)?;
            let key = one_key(&input).map_err(anyhow::Error::msg)?;
            writeln!(out, "{}", hash_api_key(key))?;
        }
    }
    Ok(())
}

/// The key on standard input: one trailing newline (`\n` or `\r\n`, what `echo` and editors add) is not part of
/// it; anything else is, and a key with a line break inside could never be sent in a header.
fn one_key(input: &[u8]) -> Result<&str, String> {
    let key = input.strip_suffix(b"\n").unwrap_or(input);
    let key = key.strip_suffix(b"\r").unwrap_or(key);
    let key =
        std::str::from_utf8(key).map_err(|_| "the key on standard input is not UTF-8 text")?;
    if key.is_empty() {
        return Err("no key on standard input".into());
    }
    if key.contains(['\n', '\r']) {
        return Err("standard input holds more than one line: give one key".into());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_newline_is_dropped_and_nothing_else() {
        assert_eq!(one_key(b"pcgw_abc\n"), Ok("pcgw_abc"));
        assert_eq!(one_key(b"pcgw_abc\r\n"), Ok("pcgw_abc"));
        assert_eq!(one_key(b"pcgw_abc"), Ok("pcgw_abc"));
        assert_eq!(one_key(b" pcgw_abc \n"), Ok(" pcgw_abc "));
        assert!(one_key(b"pcgw_abc\n\n").is_err());
        assert!(one_key(b"\n").is_err());
        assert!(one_key(b"").is_err());
    }
}
