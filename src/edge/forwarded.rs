//! Where the caller reached the gateway, as a TLS-terminating proxy in front of it tells: the `Forwarded` header
//! (RFC 7239, its `proto` and `host`) or `X-Forwarded-Proto` and `X-Forwarded-Host`. Links the gateway hands out
//! (`nextLink`, the served connector definition's host and scheme) are built on them.
//!
//! They are read only from a TCP peer in `server.trusted_proxies`: anyone else could name any host, and the
//! gateway would hand makers links to it. From a trusted proxy:
//! - `Forwarded`, when the request has one, is read alone; otherwise `X-Forwarded-Proto` and `X-Forwarded-Host`.
//! - Of a list (several header lines, or values separated by commas) the last value counts: the one the proxy
//!   nearest to the gateway, the trusted peer itself, added.
//! - What the header leaves out is the connection's own: the gateway's scheme, the request's `Host`.
//! - A malformed value is the caller's 400, never a guess: a `proto` other than http or https, a host that
//!   would not pass as a `Host` header, broken quoting, a parameter twice in one element, an empty last value.
//!
//! Written here rather than taken from a crate: of the two RFC 7239 parsers on crates.io, `rfc7239` is archived,
//! and `forwarded-header-value` splits on `,` and `;` inside quoted strings and lets a repeated parameter
//! overwrite the first, which is the leniency a header that decides where links point must not have.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::error::AppError;

/// `server.trusted_proxies`: the peers whose forwarding headers are believed. Empty: nobody's.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(ranges: Vec<IpNet>) -> Self {
        Self(ranges)
    }

    /// Whether `peer` is one of them. An IPv4 peer on a dual-stack socket (`::ffff:10.0.0.1`) is its IPv4
    /// address.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.0.iter().any(|range| range.contains(&peer))
    }

    /// What the request's proxy says the caller used, when the TCP peer (from the accept loop) is trusted; `None`
    /// when it is not, or no peer is known (a router called without a listener).
    pub fn forwarded(&self, parts: &Parts) -> Result<Option<Forwarded>, AppError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        match peer {
            Some(peer) if self.trusts(peer) => read(&parts.headers).map(Some),
            _ => Ok(None),
        }
    }
}

/// The scheme and host the proxy reports; either may be absent.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Forwarded {
    pub proto: Option<&'static str>,
    pub host: Option<String>,
}

/// Whether `host` can go in a URL as its authority: a name, an IPv4 address or a bracketed IPv6 address, with
/// an optional port. The same test for the `Host` header and for what a proxy forwards.
pub fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
}

fn malformed(header: &str, problem: &str) -> AppError {
    AppError::bad_request(
        "InvalidForwardedHeader",
        format!("The {header} header from the proxy is malformed: {problem}."),
    )
}

fn read(headers: &HeaderMap) -> Result<Forwarded, AppError> {
    if let Some(list) = joined(headers, "forwarded")? {
        return from_forwarded(&list);
    }
    let last = |name: &'static str| -> Result<Option<String>, AppError> {
        let Some(list) = joined(headers, name)? else {
            return Ok(None);
        };
        let last = list.rsplit(',').next().unwrap_or_default().trim();
        if last.is_empty() {
            return Err(malformed(name, "its last value is empty"));
        }
        Ok(Some(last.to_owned()))
    };
    let proto = last("x-forwarded-proto")?
        .map(|p| proto(&p).ok_or_else(|| malformed("X-Forwarded-Proto", "not http or https")))
        .transpose()?;
    let host = last("x-forwarded-host")?
        .map(|h| checked_host(h, "X-Forwarded-Host"))
        .transpose()?;
    Ok(Forwarded { proto, host })
}

/// Every line of a header as one list, as RFC 9110 lets a recipient combine them; `None` when there is none.
fn joined(headers: &HeaderMap, name: &'static str) -> Result<Option<String>, AppError> {
    let mut list: Option<String> = None;
    for value in headers.get_all(name) {
        let value = value
            .to_str()
            .map_err(|_| malformed(name, "it is not ASCII text"))?;
        match &mut list {
            Some(list) => {
                list.push(',');
                list.push_str(value);
            }
            None => list = Some(value.to_owned()),
        }
    }
    Ok(list)
}

fn proto(value: &str) -> Option<&'static str> {
    if value.eq_ignore_ascii_case("https") {
        Some("https")
    } else if value.eq_ignore_ascii_case("http") {
        Some("http")
    } else {
        None
    }
}

fn checked_host(host: String, header: &str) -> Result<String, AppError> {
    if is_host(&host) {
        Ok(host)
    } else {
        Err(malformed(header, "its host is not a host name"))
    }
}

/// RFC 7239 §4: `Forwarded: element *( "," element )`, `element: pair *( ";" pair )`, `pair: token "=" value`,
/// value a token or a quoted-string. Only the last element is read; the ones before it came from farther away.
fn from_forwarded(list: &str) -> Result<Forwarded, AppError> {
    const HEADER: &str = "Forwarded";
    let elements = split_outside_quotes(list, b',')
        .ok_or_else(|| malformed(HEADER, "a quoted string is not closed"))?;
    let last = elements.last().map(|e| e.trim()).unwrap_or_default();
    if last.is_empty() {
        return Err(malformed(HEADER, "its last element is empty"));
    }
    let mut forwarded = Forwarded::default();
    let mut seen: Vec<String> = Vec::new();
    for pair in split_outside_quotes(last, b';').expect("quoting was checked above") {
        let (name, value) = pair
            .trim()
            .split_once('=')
            .ok_or_else(|| malformed(HEADER, "a parameter has no value"))?;
        let name = name.to_ascii_lowercase();
        if !is_token(&name) {
            return Err(malformed(HEADER, "a parameter name is not a token"));
        }
        if seen.contains(&name) {
            return Err(malformed(HEADER, "a parameter is given twice"));
        }
        let value = unquoted(value)
            .ok_or_else(|| malformed(HEADER, "a value is neither a token nor a quoted string"))?;
        match name.as_str() {
            "proto" => {
                forwarded.proto = Some(
                    proto(&value).ok_or_else(|| malformed(HEADER, "proto is not http or https"))?,
                );
            }
            "host" => forwarded.host = Some(checked_host(value, HEADER)?),
            // for, by and extensions: the gateway has no use for them.
            _ => {}
        }
        seen.push(name);
    }
    Ok(forwarded)
}

/// `text` cut at every `separator` that is not inside a quoted string; `None` when a quoted string is not
/// closed.
fn split_outside_quotes(text: &str, separator: u8) -> Option<Vec<&str>> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, b) in text.bytes().enumerate() {
        match (quoted, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (_, _, b'"') => quoted = !quoted,
            (false, _, b) if b == separator => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    (!quoted).then_some(parts)
}

/// RFC 9110's token characters.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A token as it is, or a quoted string's content with its escapes undone.
fn unquoted(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else {
        return is_token(value).then(|| value.to_owned());
    };
    let inner = inner.strip_suffix('"')?;
    let (mut out, mut escaped) = (String::with_capacity(inner.len()), false);
    for c in inner.chars() {
        match (escaped, c) {
            (false, '\\') => escaped = true,
            (false, '"') => return None,
            _ => {
                out.push(c);
                escaped = false;
            }
        }
    }
    (!escaped).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn forwarded(proto: Option<&'static str>, host: Option<&str>) -> Forwarded {
        Forwarded {
            proto,
            host: host.map(str::to_owned),
        }
    }

    #[test]
    fn the_last_element_of_forwarded_is_read() {
        let cases = [
            (
                vec![("forwarded", "proto=https;host=pcgw.contoso.com")],
                forwarded(Some("https"), Some("pcgw.contoso.com")),
            ),
            (
                vec![(
                    "forwarded",
                    r#"for=192.0.2.1;host=evil.example, for="[2001:db8::1]:4711";Proto=HTTPS;host="pcgw.contoso.com:8443""#,
                )],
                forwarded(Some("https"), Some("pcgw.contoso.com:8443")),
            ),
            // Two header lines are one list.
            (
                vec![
                    ("forwarded", "host=evil.example;proto=http"),
                    ("forwarded", "proto=https"),
                ],
                forwarded(Some("https"), None),
            ),
            // A comma inside a quoted string does not end the element.
            (
                vec![("forwarded", r#"for="_a,b";proto=https"#)],
                forwarded(Some("https"), None),
            ),
            // Forwarded, when present, is read alone.
            (
                vec![
                    ("forwarded", "for=192.0.2.1"),
                    ("x-forwarded-proto", "https"),
                ],
                forwarded(None, None),
            ),
        ];
        for (given, expected) in cases {
            assert_eq!(read(&headers(&given)).unwrap(), expected, "{given:?}");
        }
    }

    #[test]
    fn the_last_x_forwarded_values_are_read() {
        let cases = [
            (
                vec![
                    ("x-forwarded-proto", "https"),
                    ("x-forwarded-host", "pcgw.contoso.com"),
                ],
                forwarded(Some("https"), Some("pcgw.contoso.com")),
            ),
            (
                vec![
                    ("x-forwarded-proto", "http, HTTPS"),
                    ("x-forwarded-host", "evil.example"),
                    ("x-forwarded-host", "pcgw.contoso.com"),
                ],
                forwarded(Some("https"), Some("pcgw.contoso.com")),
            ),
            (vec![], forwarded(None, None)),
        ];
        for (given, expected) in cases {
            assert_eq!(read(&headers(&given)).unwrap(), expected, "{given:?}");
        }
    }

    #[test]
    fn malformed_values_are_refused() {
        for given in [
            vec![("forwarded", "proto=ftp")],
            vec![("forwarded", "proto=https;proto=http")],
            vec![("forwarded", "host=\"pcgw.contoso.com")],
            vec![("forwarded", "host=evil.example/path")],
            vec![("forwarded", "host=\"a b\"")],
            vec![("forwarded", "proto")],
            vec![("forwarded", "proto=https,")],
            vec![("forwarded", "pro to=https")],
            vec![("x-forwarded-proto", "gopher")],
            vec![("x-forwarded-proto", "https,")],
            vec![("x-forwarded-host", "pcgw.contoso.com/x")],
            vec![("x-forwarded-host", "user@pcgw.contoso.com")],
        ] {
            let error = read(&headers(&given)).unwrap_err();
            assert!(
                matches!(&error, AppError::BadRequest { code, .. } if *code == "InvalidForwardedHeader"),
                "{given:?}: {error:?}"
            );
        }
    }

    #[test]
    fn trusted_ranges_match_addresses_and_mapped_ipv4() {
        let trusted = TrustedProxies::new(vec![
            "10.0.0.0/8".parse().unwrap(),
            "::1/128".parse().unwrap(),
        ]);
        assert!(trusted.trusts("10.1.2.3".parse().unwrap()));
        assert!(trusted.trusts("::ffff:10.1.2.3".parse().unwrap()));
        assert!(trusted.trusts("::1".parse().unwrap()));
        assert!(!trusted.trusts("11.0.0.1".parse().unwrap()));
        assert!(!TrustedProxies::default().trusts("127.0.0.1".parse().unwrap()));
    }
}
