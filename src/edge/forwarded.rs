//! Where the caller reached the gateway, as a TLS-terminating proxy in front of it tells: the `Forwarded` header
//! (RFC 7239, its `proto` and `host`) or `X-Forwarded-Proto` and `X-Forwarded-Host`. Links the gateway hands out
//! (`nextLink`, the served connector definition's host and scheme) are built on them.
//!
//! They are read only from a TCP peer in `server.trusted_proxies`: anyone else could name any host, and the
//! gateway would hand makers links to it. Even from a trusted proxy, a header reaches the gateway unchanged
//! when the proxy does not manage it, so the caller could set it. So what is believed is configured, never
//! guessed from what the request carries:
//! - `server.forwarded_header` names the one family the proxy sets, `forwarded` or `x-forwarded`; the other is
//!   ignored (not read, not judged), whatever the request carries.
//! - `server.forwarded_fields` names what of it the proxy sets: `proto` (the default) and, only when listed,
//!   `host`. Many proxies set the scheme and pass a caller's `X-Forwarded-Host` through (AWS's Application Load
//!   Balancer does), so the host is believed only on a second, explicit opt-in.
//! - Of a list (several header lines, or values separated by commas) the last value counts: the one the proxy
//!   nearest to the gateway, the trusted peer itself, added.
//! - What is not believed is the connection's own: the gateway's scheme, the request's `Host`.
//! - A malformed value of a believed header is the caller's 400, never a guess: a `proto` other than http or
//!   https, a host that would not pass as a `Host` header, broken quoting, a parameter twice in one element, an
//!   empty last value.
//!
//! Written here rather than taken from a crate: of the two RFC 7239 parsers on crates.io, `rfc7239` is archived,
//! and `forwarded-header-value` splits on `,` and `;` inside quoted strings and lets a repeated parameter
//! overwrite the first, which is the leniency a header that decides where links point must not have.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::http::uri::Authority;
use ipnet::IpNet;
use serde::Deserialize;

use crate::error::AppError;

/// `server.forwarded_header`: the header family a trusted proxy sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// RFC 7239's `Forwarded`.
    Forwarded,
    /// `X-Forwarded-Proto` and `X-Forwarded-Host`.
    XForwarded,
}

/// One entry of `server.forwarded_fields`: what of the header the proxy sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardedField {
    Proto,
    Host,
}

/// `server.trusted_proxies` and what is believed from them. The default trusts nobody.
#[derive(Debug, Clone)]
pub struct TrustedProxies {
    ranges: Vec<IpNet>,
    header: ForwardedHeader,
    proto: bool,
    host: bool,
}

impl Default for TrustedProxies {
    fn default() -> Self {
        Self::new(Vec::new(), ForwardedHeader::Forwarded, &[])
    }
}

impl TrustedProxies {
    /// The peers in `ranges`, whose `header` is believed for the `fields` listed.
    pub fn new(ranges: Vec<IpNet>, header: ForwardedHeader, fields: &[ForwardedField]) -> Self {
        Self {
            ranges,
            header,
            proto: fields.contains(&ForwardedField::Proto),
            host: fields.contains(&ForwardedField::Host),
        }
    }

    /// Whether `peer` is one of them. An IPv4 peer on a dual-stack socket (`::ffff:10.0.0.1`) is its IPv4
    /// address.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.ranges.iter().any(|range| range.contains(&peer))
    }

    /// What the request's proxy says the caller used, when the TCP peer (from the accept loop) is trusted; `None`
    /// when it is not, or no peer is known (a router called without a listener).
    pub fn forwarded(&self, parts: &Parts) -> Result<Option<Forwarded>, AppError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        match peer {
            Some(peer) if self.trusts(peer) => self.read(&parts.headers).map(Some),
            _ => Ok(None),
        }
    }

    /// The configured header family, and of it only the configured fields.
    fn read(&self, headers: &HeaderMap) -> Result<Forwarded, AppError> {
        match self.header {
            ForwardedHeader::Forwarded => match joined(headers, "forwarded")? {
                Some(list) => self.read_forwarded(&list),
                None => Ok(Forwarded::default()),
            },
            ForwardedHeader::XForwarded => Ok(Forwarded {
                proto: if self.proto {
                    last(headers, "x-forwarded-proto")?
                        .map(|p| {
                            proto(&p)
                                .ok_or_else(|| malformed("X-Forwarded-Proto", "not http or https"))
                        })
                        .transpose()?
                } else {
                    None
                },
                host: if self.host {
                    last(headers, "x-forwarded-host")?
                        .map(|h| checked_host(h, "X-Forwarded-Host"))
                        .transpose()?
                } else {
                    None
                },
            }),
        }
    }
}

/// The scheme and host the proxy reports; either may be absent.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Forwarded {
    pub proto: Option<&'static str>,
    pub host: Option<String>,
}

/// Whether `value` can stand as a URL's authority: a host (a registered name of letters, digits, `-`, `.` and
/// `_`; an IPv4 address; or an IPv6 address in brackets), then optionally `:` and a port from 1 to 65535, and
/// nothing else (no user information, no path). The one test for the `Host` header, `X-Forwarded-Host` and
/// `Forwarded`'s `host=`.
///
/// `http`'s [`Authority`] parses the structure (it refuses stray colons, unbalanced brackets, bad
/// percent-encoding); what it still lets through, since an authority may carry them, is refused here: user
/// information, a port that is empty, not a number, 0 or past 65535, a bracketed part that is not an IPv6
/// address, a dotted number that is not an IPv4 address, the sub-delimiters and escapes no host name has, and a
/// name DNS could not hold (longer than 253 bytes, or with a label that is empty, longer than 63 bytes, or starts
/// or ends with `-`; one trailing dot, the fully qualified form, is allowed).
pub fn is_host(value: &str) -> bool {
    // Checked before parsing: a name DNS cannot hold is refused whatever else it is.
    if value.len() > 255 + ":65535".len() {
        return false;
    }
    // A name or an IPv4 address with an optional port, the shape nearly every request's Host has, is split
    // where `Authority` would split it, without it: it copies the value to the heap, on every call.
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
        && value.bytes().filter(|&b| b == b':').count() <= 1;
    let authority;
    let (host, port) = if plain {
        value.split_at(value.find(':').unwrap_or(value.len()))
    } else {
        let Ok(parsed) = value.parse::<Authority>() else {
            return false;
        };
        authority = parsed;
        if authority.as_str().contains('@') {
            return false;
        }
        let host = authority.host();
        (host, &authority.as_str()[host.len()..])
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|digits| {
            (1..=5).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && digits.parse::<u16>().is_ok_and(|port| port != 0)
        });
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|address| address.parse::<Ipv6Addr>().is_ok())
    } else if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        host.parse::<Ipv4Addr>().is_ok()
    } else {
        is_host_name(host)
    };
    port_ok && host_ok
}

/// A registered name as DNS can hold it (RFC 1035 §2.3.4's lengths, RFC 1123's labels), with `_` allowed too:
/// some internal names carry it.
fn is_host_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn malformed(header: &str, problem: &str) -> AppError {
    AppError::bad_request(
        "InvalidForwardedHeader",
        format!("The {header} header from the proxy is malformed: {problem}."),
    )
}

/// The last value of an `X-Forwarded-*` list; `None` when the header is absent.
fn last(headers: &HeaderMap, name: &'static str) -> Result<Option<String>, AppError> {
    let Some(list) = joined(headers, name)? else {
        return Ok(None);
    };
    let last = list.rsplit(',').next().unwrap_or_default().trim();
    if last.is_empty() {
        return Err(malformed(name, "its last value is empty"));
    }
    Ok(Some(last.to_owned()))
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

impl TrustedProxies {
    /// RFC 7239 §4: `Forwarded: element *( "," element )`, `element: pair *( ";" pair )`, `pair: token "="
    /// value`, value a token or a quoted-string. Only the last element is read; the ones before it came from
    /// farther away. Of it, `proto` and `host` count when they are believed, like `for`, `by` and extensions
    /// (of no use here) otherwise.
    fn read_forwarded(&self, list: &str) -> Result<Forwarded, AppError> {
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
            let value = unquoted(value).ok_or_else(|| {
                malformed(HEADER, "a value is neither a token nor a quoted string")
            })?;
            match name.as_str() {
                "proto" if self.proto => {
                    forwarded.proto = Some(
                        proto(&value)
                            .ok_or_else(|| malformed(HEADER, "proto is not http or https"))?,
                    );
                }
                "host" if self.host => forwarded.host = Some(checked_host(value, HEADER)?),
                _ => {}
            }
            seen.push(name);
        }
        Ok(forwarded)
    }
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
    use ForwardedField::{Host, Proto};
    use ForwardedHeader::{Forwarded as Rfc7239, XForwarded};
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

    fn read(
        header: ForwardedHeader,
        fields: &[ForwardedField],
        given: &[(&'static str, &'static str)],
    ) -> Result<Forwarded, AppError> {
        TrustedProxies::new(vec!["127.0.0.1/32".parse().unwrap()], header, fields)
            .read(&headers(given))
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
        ];
        for (given, expected) in cases {
            assert_eq!(
                read(Rfc7239, &[Proto, Host], &given).unwrap(),
                expected,
                "{given:?}"
            );
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
            assert_eq!(
                read(XForwarded, &[Proto, Host], &given).unwrap(),
                expected,
                "{given:?}"
            );
        }
    }

    #[test]
    fn the_family_not_configured_is_ignored_whatever_it_says() {
        let both = [
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "pcgw.contoso.com"),
            ("forwarded", "for=1.2.3.4;host=evil.example;proto=http"),
        ];
        assert_eq!(
            read(XForwarded, &[Proto, Host], &both).unwrap(),
            forwarded(Some("https"), Some("pcgw.contoso.com"))
        );
        assert_eq!(
            read(Rfc7239, &[Proto, Host], &both).unwrap(),
            forwarded(Some("http"), Some("evil.example"))
        );
        // Not read, so not judged either.
        assert_eq!(
            read(XForwarded, &[Proto, Host], &[("forwarded", "proto=gopher")]).unwrap(),
            forwarded(None, None)
        );
        assert_eq!(
            read(Rfc7239, &[Proto, Host], &[("x-forwarded-host", "a b")]).unwrap(),
            forwarded(None, None)
        );
    }

    #[test]
    fn the_host_is_believed_only_when_listed() {
        let given = [
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
            ("forwarded", "proto=https;host=evil.example"),
        ];
        assert_eq!(
            read(XForwarded, &[Proto], &given).unwrap(),
            forwarded(Some("https"), None)
        );
        assert_eq!(
            read(Rfc7239, &[Proto], &given).unwrap(),
            forwarded(Some("https"), None)
        );
        assert_eq!(
            read(XForwarded, &[Host], &given).unwrap(),
            forwarded(None, Some("evil.example"))
        );
        // A field not believed is not judged.
        assert_eq!(
            read(
                Rfc7239,
                &[Proto],
                &[("forwarded", "proto=https;host=\"a b\"")]
            )
            .unwrap(),
            forwarded(Some("https"), None)
        );
        assert_eq!(
            read(
                XForwarded,
                &[Proto],
                &[("x-forwarded-host", "user@evil.example")]
            )
            .unwrap(),
            forwarded(None, None)
        );
    }

    #[test]
    fn malformed_values_are_refused() {
        for (header, given) in [
            (Rfc7239, vec![("forwarded", "proto=ftp")]),
            (Rfc7239, vec![("forwarded", "proto=https;proto=http")]),
            (Rfc7239, vec![("forwarded", "host=\"pcgw.contoso.com")]),
            (Rfc7239, vec![("forwarded", "host=evil.example/path")]),
            (Rfc7239, vec![("forwarded", "host=\"a b\"")]),
            (Rfc7239, vec![("forwarded", "host=\"a:b:c\"")]),
            (Rfc7239, vec![("forwarded", "host=\"[[evil\"")]),
            (Rfc7239, vec![("forwarded", "proto")]),
            (Rfc7239, vec![("forwarded", "proto=https,")]),
            (Rfc7239, vec![("forwarded", "pro to=https")]),
            (XForwarded, vec![("x-forwarded-proto", "gopher")]),
            (XForwarded, vec![("x-forwarded-proto", "https,")]),
            (XForwarded, vec![("x-forwarded-host", "pcgw.contoso.com/x")]),
            (
                XForwarded,
                vec![("x-forwarded-host", "user@pcgw.contoso.com")],
            ),
            (XForwarded, vec![("x-forwarded-host", "a:b:c")]),
            (
                XForwarded,
                vec![("x-forwarded-host", "pcgw.contoso.com:http")],
            ),
        ] {
            let error = read(header, &[Proto, Host], &given).unwrap_err();
            assert!(
                matches!(&error, AppError::BadRequest { code, .. } if *code == "InvalidForwardedHeader"),
                "{given:?}: {error:?}"
            );
        }
    }

    #[test]
    fn a_host_is_a_name_or_address_and_an_optional_port() {
        for good in [
            "pcgw.contoso.com",
            "pcgw.contoso.com:8443",
            "localhost",
            "my_host-1.example",
            "127.0.0.1",
            "127.0.0.1:8080",
            "[::1]",
            "[2001:db8::1]:443",
            "xn--bcher-kva.example",
            "pcgw.contoso.com.",
            "h:65535",
        ] {
            assert!(is_host(good), "{good}");
        }
        let label_63 = "a".repeat(63);
        assert!(is_host(&format!("{label_63}.example")));
        let too_long = format!("{label_63}.").repeat(4) + "example";
        for bad in [
            format!("{}.example", "a".repeat(64)),
            too_long,
            "h:0".into(),
            "h:100000".into(),
            "a..b".into(),
            ".a".into(),
            "-a.example".into(),
            "a-.example".into(),
            "a.example..".into(),
        ] {
            assert!(!is_host(&bad), "{bad}");
        }
        for bad in [
            "",
            "a:b:c",
            "[[evil",
            "[evil]",
            "[::1",
            "::1",
            "h:",
            "h:99999",
            "h:8x",
            "h:+80",
            "1.2.3.999",
            "1.2.3",
            "user@host",
            "user:pw@host",
            "host/path",
            "host?q",
            "a b",
            "a%20b",
            "a,b",
            "a;b",
            "a!b",
            "[fe80::1%25eth0]",
        ] {
            assert!(!is_host(bad), "{bad}");
        }
    }

    #[test]
    fn trusted_ranges_match_addresses_and_mapped_ipv4() {
        let trusted = TrustedProxies::new(
            vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
            XForwarded,
            &[Proto],
        );
        assert!(trusted.trusts("10.1.2.3".parse().unwrap()));
        assert!(trusted.trusts("::ffff:10.1.2.3".parse().unwrap()));
        assert!(trusted.trusts("::1".parse().unwrap()));
        assert!(!trusted.trusts("11.0.0.1".parse().unwrap()));
        assert!(!TrustedProxies::default().trusts("127.0.0.1".parse().unwrap()));
    }
}
