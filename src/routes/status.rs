//! `GET /status`, for the gateway's administrator: one server-rendered HTML page of what the gateway runs on and
//! what its registered connections did in the last hour, with an inline SVG chart of calls per minute.
//!
//! Behind an admin key, as `POST /admin/reload` is, and never counted against a quota. Not an operation of the
//! contract, so not in `/openapi.json` nor in the connector package. Self-contained (inline CSS, no script, no
//! external asset), so it renders where the gateway cannot reach the internet. Every value put in the page is
//! escaped, whatever its source, so that no configured value can become markup.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use time::OffsetDateTime;

use crate::edge::activity::{MINUTES, Minute};
use crate::edge::{Gateway, auth};
use crate::error::AppError;

pub const STATUS_PATH: &str = "/status";

pub fn router() -> Router<Gateway> {
    Router::new().route(STATUS_PATH, get(status))
}

/// The page's labels, one table per language.
struct Labels {
    lang: &'static str,
    title: &'static str,
    version: &'static str,
    upstream: &'static str,
    quota: &'static str,
    quota_value: fn(u32, u64, bool) -> String,
    redis: &'static str,
    redis_off: &'static str,
    redis_up: &'static str,
    redis_down_open: &'static str,
    redis_down_closed: &'static str,
    breakers: &'static str,
    connections: &'static str,
    connection: &'static str,
    admitted: &'static str,
    refused: &'static str,
    quota_left: &'static str,
    quota_left_note: &'static str,
    last_refresh: &'static str,
    last_error: &'static str,
    none: &'static str,
    chart: &'static str,
    minutes_ago: &'static str,
    links: &'static str,
    connector: &'static str,
}

const EN_US: Labels = Labels {
    lang: "en-US",
    title: "Gateway status",
    version: "Version",
    upstream: "Upstream",
    quota: "Quota policy",
    quota_value: |calls, secs, strict| {
        format!(
            "{calls} calls per {secs} s{}",
            if strict { ", strict window" } else { "" }
        )
    },
    redis: "Redis",
    redis_off: "not configured",
    redis_up: "shared quota count, available",
    redis_down_open: "unavailable: each replica enforces its share of the quota",
    redis_down_closed: "unavailable: calls are refused (503)",
    breakers: "Circuit breakers",
    connections: "Connections",
    connection: "Connection",
    admitted: "Admitted (1 h)",
    refused: "Refused (1 h)",
    quota_left: "Quota left",
    quota_left_note: "Quota left is as of each connection's latest call, at the time shown.",
    last_refresh: "Last token refresh",
    last_error: "Last error",
    none: "–",
    chart: "Calls per minute, last hour (admitted, refused)",
    minutes_ago: "minutes ago",
    links: "Links",
    connector: "Connector definition",
};

const PT_BR: Labels = Labels {
    lang: "pt-BR",
    title: "Status do gateway",
    version: "Versão",
    upstream: "Serviço de origem",
    quota: "Política de cota",
    quota_value: |calls, secs, strict| {
        format!(
            "{calls} chamadas a cada {secs} s{}",
            if strict { ", janela estrita" } else { "" }
        )
    },
    redis: "Redis",
    redis_off: "não configurado",
    redis_up: "contagem de cota compartilhada, disponível",
    redis_down_open: "indisponível: cada réplica aplica sua parte da cota",
    redis_down_closed: "indisponível: as chamadas são recusadas (503)",
    breakers: "Disjuntores",
    connections: "Conexões",
    connection: "Conexão",
    admitted: "Admitidas (1 h)",
    refused: "Recusadas (1 h)",
    quota_left: "Cota restante",
    quota_left_note: "A cota restante é a da última chamada de cada conexão, no horário indicado.",
    last_refresh: "Última renovação de token",
    last_error: "Último erro",
    none: "–",
    chart: "Chamadas por minuto, última hora (admitidas, recusadas)",
    minutes_ago: "minutos atrás",
    links: "Links",
    connector: "Definição do conector",
};

/// Portuguese when the browser's first preference is Portuguese, as the served connector does; else English.
fn labels(headers: &HeaderMap) -> &'static Labels {
    let first = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split([',', ';']).next())
        .map(str::trim)
        .unwrap_or_default();
    let pt = first.eq_ignore_ascii_case("pt")
        || first
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("pt-"));
    if pt { &PT_BR } else { &EN_US }
}

/// HTML-escapes `text` for an element's content or a quoted attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// To the second, in UTC: what a person reads on the page.
fn when(at: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.to_string())
}

/// 200 with the page; 401 without an admin key (a maker's key is not one); 404 when the configuration names none.
async fn status(State(gateway): State<Gateway>, headers: HeaderMap) -> Result<Response, AppError> {
    auth::admin(&gateway, &headers)?;
    let page = render(&gateway, labels(&headers));
    let mut response = page.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The page names connections and their activity: not for shared caches.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn render(gateway: &Gateway, l: &Labels) -> String {
    let live = gateway.live.load();
    gateway
        .activity
        .retain(|id| live.registry.connections().any(|c| &c.id == id));
    let limit = live.quotas.default_limit();
    let mut page = String::new();
    let _ = write!(
        page,
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>{STYLE}</style></head><body><h1>{title}</h1><dl>",
        lang = l.lang,
        title = escape(l.title),
    );
    let mut row = |name: &str, value: &str| {
        let _ = write!(page, "<dt>{}</dt><dd>{}</dd>", escape(name), escape(value));
    };
    row(l.version, env!("CARGO_PKG_VERSION"));
    row(l.upstream, &gateway.upstream);
    row(
        l.quota,
        &(l.quota_value)(
            limit.calls().get(),
            limit.period_secs().get(),
            limit.strict_window(),
        ),
    );
    // As of the latest call's round trip, which is what callers met; the URL with its password replaced.
    let redis = live.quotas.redis().map(|redis| {
        let state = match (redis.is_down(), redis.options().fail_open) {
            (false, _) => l.redis_up,
            (true, true) => l.redis_down_open,
            (true, false) => l.redis_down_closed,
        };
        format!("{} ({state})", redis.shown_url())
    });
    row(l.redis, redis.as_deref().unwrap_or(l.redis_off));
    let breakers = [gateway.partner_center.breaker(), gateway.tokens.breaker()]
        .map(|b| format!("{}: {}", b.name(), b.state()))
        .join(", ");
    row(l.breakers, &breakers);
    page.push_str("</dl>");

    let _ = write!(
        page,
        "<h2>{}</h2><table id=\"connections\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>\
         <th>{}</th></tr></thead><tbody>",
        escape(l.connections),
        escape(l.connection),
        escape(l.admitted),
        escape(l.refused),
        escape(l.quota_left),
        escape(l.last_refresh),
        escape(l.last_error),
    );
    let mut connections: Vec<_> = live.registry.connections().collect();
    connections.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    for connection in connections {
        let summary = gateway.activity.of(&connection.id);
        let quota_left = match summary.remaining {
            Some((left, at)) => format!(
                "{left} / {} ({})",
                live.quotas.limit_of(&connection.id).capacity(),
                when(at)
            ),
            None => l.none.to_owned(),
        };
        let refresh = gateway
            .tokens
            .last_refresh(&connection.id)
            .map_or_else(|| l.none.to_owned(), when);
        let error = summary.last_error.map_or_else(
            || l.none.to_owned(),
            |(status, at)| format!("{status} ({})", when(at)),
        );
        let _ = write!(
            page,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(connection.id.as_str()),
            summary.admitted(),
            summary.refused(),
            escape(&quota_left),
            escape(&refresh),
            escape(&error),
        );
    }
    let _ = write!(
        page,
        "</tbody></table><p class=\"note\">{}</p><h2>{}</h2>{}",
        escape(l.quota_left_note),
        escape(l.chart),
        chart(&gateway.activity.total(), l),
    );
    let _ = write!(
        page,
        "<h2>{}</h2><ul><li><a href=\"/swagger-ui/\">Swagger UI</a></li>\
         <li><a href=\"/openapi.json\">OpenAPI</a></li>\
         <li><a href=\"/openapi/connector/apiDefinition.swagger.json\">{}</a></li>\
         <li><a href=\"/openapi/connector/apiProperties.json\">apiProperties.json</a></li></ul></body></html>",
        escape(l.links),
        escape(l.connector),
    );
    page
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b}\
dl{display:grid;grid-template-columns:max-content auto;gap:.3rem 1.5rem}dt{font-weight:600}dd{margin:0}\
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}\
td.n{text-align:right}th{background:#f3f3f3}.note{color:#555;font-size:.9rem}\
.admitted{fill:#2b7bb9}.refused{fill:#d9534f}svg text{font-size:10px;fill:#555}";

const BAR: usize = 8;
const HEIGHT: u64 = 100;

/// A bar per minute, admitted stacked under refused, oldest on the left; the tallest minute fills the height.
fn chart(minutes: &[Minute], l: &Labels) -> String {
    let top = minutes
        .iter()
        .map(|m| m.admitted + m.refused)
        .max()
        .unwrap_or(0)
        .max(1);
    let width = BAR * MINUTES;
    let mut svg = format!(
        "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{label}\">\
         <rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{HEIGHT}\" fill=\"#fafafa\" stroke=\"#ddd\"/>",
        w = width + 40,
        h = HEIGHT + 20,
        label = escape(l.chart),
    );
    let scale = |n: u64| n * HEIGHT / top;
    for (i, m) in minutes.iter().enumerate() {
        let x = i * BAR;
        let admitted = scale(m.admitted);
        let refused = scale(m.admitted + m.refused) - admitted;
        let _ = write!(
            svg,
            "<g><title>{} {}, {} {}</title>\
             <rect class=\"admitted\" x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{admitted}\"/>\
             <rect class=\"refused\" x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{refused}\"/></g>",
            m.admitted,
            escape(l.admitted),
            m.refused,
            escape(l.refused),
            HEIGHT - admitted,
            BAR - 1,
            HEIGHT - admitted - refused,
            BAR - 1,
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"10\">{top}</text><text x=\"0\" y=\"{}\">60 {}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text></svg>",
        width + 4,
        HEIGHT + 14,
        escape(l.minutes_ago),
        width,
        HEIGHT + 14,
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
