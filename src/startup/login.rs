//! `partner-center-gateway login --connection ID`: signs an App+User connection in, and writes the refresh token
//! the gateway then rolls on every exchange.
//!
//! The sign-in is the device authorization grant (`upstream::device_code`) against the token authority the
//! gateway itself uses (the embedded sandbox in the sandbox profile, started here as `serve` starts it), for the
//! connection's tenant and application, sending the client secret when the connection has one. The refresh
//! token goes to the connection's `refresh_token_file` the way every rolled one does (temp file, fsync,
//! rename, mode 0600). Partner Center refuses App+User calls whose token was obtained without multifactor
//! authentication, so a sign-in without `mfa` in its `amr` is saved and then reported as an error: the command
//! did not give the connection a sign-in Partner Center accepts.

use std::io::Write;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};

use super::Upstreams;
use crate::config::{ConfigError, RegisteredConnection, Settings};
use crate::connection::{CredentialSource, write_atomically};
use crate::upstream::claims::SignInClaims;
use crate::upstream::device_code::DeviceCodeClient;

/// Entra issues a refresh token only to a sign-in that asked for `offline_access`.
const OFFLINE_ACCESS: &str = "offline_access";

pub async fn run(settings: Settings, connection: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let (i, registered) = find(&settings, connection)?;
    let id = &registered.id;
    let CredentialSource::AppUser {
        tenant_id,
        client_id,
        client_secret,
        refresh_token_file,
        ..
    } = &registered.credentials
    else {
        bail!(
            "connection {id} is app_only: it gets its tokens with its client secret, and has no user to sign in. \
             `login` is for app_user connections"
        );
    };
    let client_secret = client_secret
        .as_ref()
        .map(|secret| secret.read())
        .transpose()
        .map_err(|e| {
            ConfigError::key(
                format!("connections[{i}].credentials.{}", e.field),
                e.problem,
            )
        })?;
    // The administrator's commands run on the main runtime alone: no serving workers.
    let upstreams = Upstreams::start(&settings, 0).await?;
    let client = DeviceCodeClient::new(
        upstreams.http.clone(),
        &upstreams.authority,
        tenant_id,
        client_id,
        client_secret,
    );
    let authorization = client
        .start(&sign_in_scope(&settings.auth.scope))
        .await
        .context("the sign-in could not start")?;
    // Entra's `message` says the same in a sentence; these lines are the two things to act on.
    writeln!(
        out,
        "Sign in connection {id} as a Partner Center user of tenant {tenant_id}, with multifactor authentication:"
    )?;
    writeln!(out, "  open  {}", authorization.verification_uri)?;
    writeln!(out, "  code  {}", authorization.user_code)?;
    writeln!(
        out,
        "Waiting for the sign-in (the code expires in {} minutes)...",
        authorization.expires_in.as_secs().div_ceil(60)
    )?;
    out.flush()?;

    let signed_in = client.wait(&authorization).await.context("not signed in")?;
    let Some(refresh_token) = signed_in.refresh_token else {
        bail!(
            "signed in, but the token authority issued no refresh token: the scope asked for must include \
             {OFFLINE_ACCESS} (auth.scope is {:?})",
            settings.auth.scope
        );
    };
    write_atomically(refresh_token_file, refresh_token.expose_secret())
        .with_context(|| format!("cannot write {}", refresh_token_file.display()))?;
    // With Redis, the replicas take their refresh token from there: a new sign-in is its next generation.
    let shared = match super::shared_tokens(&settings) {
        Some(shared) => Some((
            shared.push(id, &refresh_token).await.map_err(|e| {
                anyhow::anyhow!(
                    "the refresh token is in {}, but could not be stored in Redis ({}): {e}; run \
                     `share-refresh-token --connection {id} --replace` once Redis answers",
                    refresh_token_file.display(),
                    shared.shown()
                )
            })?,
            shared,
        )),
        None => None,
    };
    let claims = SignInClaims::read(signed_in.access_token.expose_secret()).unwrap_or_default();
    let mfa = claims.has_mfa();
    writeln!(
        out,
        "Signed in as {}, {}.",
        claims.user().unwrap_or("an unnamed user"),
        match mfa {
            true => "with multifactor authentication",
            false => "WITHOUT multifactor authentication",
        }
    )?;
    match shared {
        Some((generation, shared)) => writeln!(
            out,
            "The refresh token is in {} (mode 0600) and in Redis ({}) as generation {generation}: every replica \
             takes it from there at its next exchange.",
            refresh_token_file.display(),
            shared.shown()
        )?,
        None => writeln!(
            out,
            "The refresh token is in {} (mode 0600). Start the gateway, or restart it if it is running: a \
             running gateway keeps the token it holds and would write it back over this one at its next exchange.",
            refresh_token_file.display()
        )?,
    }
    if !mfa {
        bail!(
            "warning: connection {id} was signed in without multifactor authentication (the token's amr is {}). \
             Its refresh token is saved, but Partner Center refuses every App+User call made without MFA (401, \
             error code 900421), so calls on this connection will fail. Run `login` again and complete the MFA \
             prompt; if none appears, require MFA for this user in Entra ID (Conditional Access or security \
             defaults).",
            claims.amr_display()
        );
    }
    Ok(())
}

/// `partner-center-gateway share-refresh-token --connection ID`: moves an App+User connection's file-held
/// refresh token into Redis, where the replicas of a Redis-backed gateway take it from. Refused when Redis
/// already holds one (the replicas may have rolled it past the file's) unless `replace`.
pub async fn share(
    settings: Settings,
    connection: &str,
    replace: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (_, registered) = find(&settings, connection)?;
    let id = &registered.id;
    let CredentialSource::AppUser {
        refresh_token_file, ..
    } = &registered.credentials
    else {
        bail!("connection {id} is app_only: it has no refresh token");
    };
    let Some(shared) = super::shared_tokens(&settings) else {
        bail!(
            "quota.backend is not \"redis\": with the memory backend a refresh token stays in its file"
        );
    };
    let token = SecretString::from(
        std::fs::read_to_string(refresh_token_file)
            .with_context(|| format!("cannot read {}", refresh_token_file.display()))?,
    );
    let token = SecretString::from(token.expose_secret().trim());
    if token.expose_secret().is_empty() {
        bail!("{} is empty", refresh_token_file.display());
    }
    let unreachable = |e| anyhow::anyhow!("Redis ({}) did not store it: {e}", shared.shown());
    let generation = if replace {
        shared.push(id, &token).await.map_err(unreachable)?
    } else {
        match shared
            .push_if_absent(id, &token)
            .await
            .map_err(unreachable)?
        {
            Ok(generation) => generation,
            Err(held) => bail!(
                "Redis already holds connection {id}'s refresh token (generation {held}), which the replicas may \
                 have rolled past the file's; give --replace to put the file's in its place anyway"
            ),
        }
    };
    writeln!(
        out,
        "Connection {id}'s refresh token from {} is in Redis ({}) as generation {generation}.",
        refresh_token_file.display(),
        shared.shown()
    )?;
    Ok(())
}

/// The configured connection named `id`, with its place in the file (for error messages).
pub(super) fn find<'a>(
    settings: &'a Settings,
    id: &str,
) -> anyhow::Result<(usize, &'a RegisteredConnection)> {
    settings
        .connections
        .iter()
        .enumerate()
        .find(|(_, c)| c.id.as_str() == id)
        .ok_or_else(|| {
            let known: Vec<&str> = settings.connections.iter().map(|c| c.id.as_str()).collect();
            anyhow::anyhow!(
                "no connection {id:?} in the configuration (its connections: {})",
                known.join(", ")
            )
        })
}

/// The gateway's scope, with `offline_access` added when it lacks it.
fn sign_in_scope(scope: &str) -> String {
    match scope.split_whitespace().any(|s| s == OFFLINE_ACCESS) {
        true => scope.to_owned(),
        false => format!("{scope} {OFFLINE_ACCESS}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_asks_for_a_refresh_token_once() {
        assert_eq!(
            sign_in_scope("https://api.partnercenter.microsoft.com/.default"),
            "https://api.partnercenter.microsoft.com/.default offline_access"
        );
        assert_eq!(
            sign_in_scope("https://api.partnercenter.microsoft.com/.default offline_access"),
            "https://api.partnercenter.microsoft.com/.default offline_access"
        );
    }
}
