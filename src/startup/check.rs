//! `partner-center-gateway check [--connection ID]`: for each connection, a token and one cheap Partner Center
//! read, made the way the gateway makes them, and a table of what happened.
//!
//! The token comes from the gateway's own `TokenSource` over the gateway's own `Upstreams` (the embedded
//! sandbox in the sandbox profile, started here as `serve` starts it): an App+User connection's refresh token
//! is exchanged, and the rolled one written to its file, exactly as a call through the gateway would. Each
//! connection's credentials are read on their own, so one unreadable secret or refresh token is a failed row,
//! not a stopped check.
//!
//! The read depends on the kind. App+User connections are there for the agreement operations, which Partner
//! Center lets only App+User tokens obtained with MFA call: agreement metadata (one small document) proves
//! exactly that. App-only tokens are refused there (403), so they read one customer, the smallest read they are
//! allowed.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use uuid::Uuid;

use super::{Upstreams, connection};
use crate::clock::Clock;
use crate::config::{RegisteredConnection, Settings};
use crate::connection::CredentialSource;
use crate::error::AppError;
use crate::upstream::claims::SignInClaims;
use crate::upstream::tokens::TokenSource;
use crate::upstream::{CallContext, PartnerCenter, UpstreamRequest};

const APP_USER_READ: &str = "/v1/agreements?agreementType=MicrosoftCustomerAgreement";
const APP_ONLY_READ: &str = "/v1/customers?size=1";
const NOT_APPLICABLE: &str = "n/a";
const NONE: &str = "-";

/// One connection's line of the table, and what went wrong, if anything.
struct Row {
    id: String,
    kind: &'static str,
    token: &'static str,
    mfa: &'static str,
    refresh_token_age: String,
    answer: String,
    problem: Option<String>,
}

pub async fn run(
    settings: Settings,
    only: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let selected: Vec<(usize, &RegisteredConnection)> = match only {
        Some(id) => vec![super::login::find(&settings, id)?],
        None => settings.connections.iter().enumerate().collect(),
    };
    if selected.is_empty() {
        anyhow::bail!("the configuration has no connections to check");
    }
    // The administrator's commands run on the main runtime alone: no serving workers.
    let upstreams = Upstreams::start(&settings, 0).await?;
    let clock = Clock::real();
    let tokens = Arc::new(upstreams.token_source(&settings, &clock));
    let partner_center = upstreams.partner_center(&settings, &clock);
    let mut rows = Vec::new();
    for (i, registered) in selected {
        rows.push(check(i, registered, &tokens, &partner_center).await);
    }
    write_table(out, &rows)?;
    let failed = rows.iter().filter(|row| row.problem.is_some()).count();
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} connection{} failed the check",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

async fn check(
    i: usize,
    registered: &RegisteredConnection,
    tokens: &Arc<TokenSource>,
    partner_center: &PartnerCenter,
) -> Row {
    let (kind, read, refresh_token_age) = match &registered.credentials {
        CredentialSource::AppOnly { .. } => ("app_only", APP_ONLY_READ, NOT_APPLICABLE.to_owned()),
        // Read before the exchange below rewrites the file: how long the token had gone unused.
        CredentialSource::AppUser {
            refresh_token_file, ..
        } => ("app_user", APP_USER_READ, file_age(refresh_token_file)),
    };
    let mut row = Row {
        id: registered.id.to_string(),
        kind,
        token: "failed",
        mfa: if kind == "app_only" {
            NOT_APPLICABLE
        } else {
            NONE
        },
        refresh_token_age,
        answer: NONE.to_owned(),
        problem: None,
    };
    let connection = match connection(i, registered) {
        Ok(connection) => Arc::new(connection),
        Err(e) => {
            row.problem = Some(e.to_string());
            return row;
        }
    };
    let token = match tokens.token(&connection).await {
        Ok(token) => token,
        Err(e) => {
            // The token errors' own words ("token authority refused the credentials: ..."), not the edge's
            // wrapping of them.
            let said = match &e {
                AppError::CredentialsRefused(m)
                | AppError::BadGateway(m)
                | AppError::GatewayTimeout(m)
                | AppError::Internal(m) => m.clone(),
                other => other.to_string(),
            };
            row.problem = Some(format!("no token: {said}"));
            return row;
        }
    };
    row.token = "ok";
    if kind == "app_user" {
        row.mfa = match SignInClaims::read(token.expose()) {
            Some(claims) if claims.has_mfa() => "yes",
            Some(_) => "no",
            None => "unknown",
        };
    }
    let ctx = CallContext {
        correlation_id: Uuid::new_v4(),
        locale: None,
        operation: "check",
        trace: None,
    };
    match partner_center
        .send(&token, &ctx, UpstreamRequest::get(read.to_owned()))
        .await
    {
        Ok(reply) => {
            let body: Option<serde_json::Value> = serde_json::from_slice(&reply.body).ok();
            let field = |name: &str| body.as_ref().and_then(|b| b.get(name)).map(plain);
            row.answer = match field("code") {
                Some(code) => format!("{} {code}", reply.status.as_u16()),
                None => reply.status.as_u16().to_string(),
            };
            if !reply.status.is_success() {
                let said = field("description").or_else(|| field("message"));
                row.problem = Some(format!(
                    "Partner Center answered GET {read} with {}{}",
                    row.answer,
                    said.map(|s| format!(": {s}")).unwrap_or_default()
                ));
            }
        }
        Err(e) => row.problem = Some(format!("GET {read}: {e}")),
    }
    row
}

/// A JSON value as text, strings without their quotes.
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// How long ago the file was last written, roughly: `40 s`, `12 min`, `5 h`, `31 d`.
fn file_age(path: &Path) -> String {
    let modified = std::fs::metadata(path).and_then(|m| m.modified());
    match modified {
        Ok(modified) => age(SystemTime::now()
            .duration_since(modified)
            .unwrap_or_default()),
        Err(_) => NONE.to_owned(),
    }
}

fn age(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h", secs / 3600),
        _ => format!("{} d", secs / 86_400),
    }
}

fn write_table(out: &mut impl Write, rows: &[Row]) -> std::io::Result<()> {
    const HEADERS: [&str; 6] = [
        "connection",
        "kind",
        "token",
        "MFA",
        "refresh token age",
        "Partner Center",
    ];
    let cells: Vec<[&str; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.id.as_str(),
                r.kind,
                r.token,
                r.mfa,
                r.refresh_token_age.as_str(),
                r.answer.as_str(),
            ]
        })
        .collect();
    let mut widths = HEADERS.map(str::len);
    for line in &cells {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.len());
        }
    }
    for line in std::iter::once(&HEADERS).chain(&cells) {
        let padded: Vec<String> = line
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        writeln!(out, "{}", padded.join("  ").trim_end())?;
    }
    let problems: Vec<&Row> = rows.iter().filter(|r| r.problem.is_some()).collect();
    if !problems.is_empty() {
        writeln!(out)?;
        for row in problems {
            writeln!(
                out,
                "{}: {}",
                row.id,
                row.problem.as_deref().unwrap_or_default()
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_rounded_down_to_one_unit() {
        assert_eq!(age(Duration::from_secs(59)), "59 s");
        assert_eq!(age(Duration::from_secs(60)), "1 min");
        assert_eq!(age(Duration::from_secs(7_199)), "1 h");
        assert_eq!(age(Duration::from_secs(90 * 86_400)), "90 d");
    }

    #[test]
    fn the_table_aligns_its_columns_and_lists_the_problems_below() {
        let row = |id: &str, problem: Option<&str>| Row {
            id: id.to_owned(),
            kind: "app_user",
            token: if problem.is_some() { "failed" } else { "ok" },
            mfa: "yes",
            refresh_token_age: "3 min".to_owned(),
            answer: "200".to_owned(),
            problem: problem.map(str::to_owned),
        };
        let mut out = Vec::new();
        write_table(
            &mut out,
            &[
                row("contoso-demo", None),
                row("x", Some("no token: refused")),
            ],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "connection    kind      token   MFA  refresh token age  Partner Center\n\
             contoso-demo  app_user  ok      yes  3 min              200\n\
             x             app_user  failed  yes  3 min              200\n\
             \n\
             x: no token: refused\n"
        );
    }
}
