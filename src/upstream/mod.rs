//! The one HTTP client that talks to Partner Center.
//!
//! It sends exactly the headers Partner Center documents and nothing of the caller's beyond the correlation ID
//! and locale, and it returns the answer as bytes: the per-call path never re-serialises a body it does not
//! have to change.

pub(crate) mod breaker;
pub(crate) mod claims;
pub(crate) mod device_code;
pub mod retry;
pub mod shared_tokens;
pub(crate) mod tokens;

use std::time::{Duration, Instant, SystemTime};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use bytes::Bytes;
use uuid::Uuid;

use crate::call_record;
use crate::connection::AccessToken;
use crate::domain::ContinuationToken;
use crate::error::AppError;
use crate::telemetry::{self, Metrics};
use crate::trace_context::{TRACEPARENT, TRACESTATE, TraceContext};
use crate::worker::PerWorker;
use breaker::Breaker;
use retry::{RetryPolicy, parse_retry_after};

static MS_REQUEST_ID: HeaderName = HeaderName::from_static("ms-requestid");
static MS_CORRELATION_ID: HeaderName = HeaderName::from_static("ms-correlationid");
static MS_CONTRACT_VERSION: HeaderName = HeaderName::from_static("ms-contract-version");
static MS_CONTINUATION_TOKEN: HeaderName = HeaderName::from_static("ms-continuationtoken");
static X_LOCALE: HeaderName = HeaderName::from_static("x-locale");

/// What a call carries from the caller: set at the edge, read here.
pub struct CallContext {
    pub correlation_id: Uuid,
    pub locale: Option<HeaderValue>,
    /// The operationId the call is answering, for the metrics' `operation` label.
    pub operation: &'static str,
    /// The call's trace: Partner Center is sent its `traceparent` (the gateway's span as parent) and `tracestate`.
    pub trace: Option<TraceContext>,
}

pub struct UpstreamRequest<'a> {
    pub method: Method,
    /// Starts with `/v1/`; built only from validated newtypes.
    pub path_and_query: String,
    pub continuation: Option<&'a ContinuationToken>,
    pub json_body: Option<Bytes>,
}

impl UpstreamRequest<'_> {
    pub fn get(path_and_query: String) -> Self {
        Self {
            method: Method::GET,
            path_and_query,
            continuation: None,
            json_body: None,
        }
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: Option<HeaderValue>,
    pub retry_after: Option<HeaderValue>,
    pub body: Bytes,
}

pub struct PartnerCenter {
    /// One client, so one connection pool, per serving worker: see [`crate::worker`].
    http: PerWorker<reqwest::Client>,
    /// Base URL, parsed once: parsing the whole URL of every call (its host through IDNA) was a tenth of the
    /// gateway's instructions per proxied call; a call's URL is this one with its path and query set.
    base: reqwest::Url,
    /// The `Host` header of every call, as hyper would write it from the URL (the host, and the port unless it
    /// is the scheme's own), made once instead of formatted on each call.
    host: HeaderValue,
    /// `upstream.max_response_bytes`: past it, an answer is dropped unread.
    max_response_bytes: usize,
    retry: RetryPolicy,
    breaker: Breaker,
    metrics: Metrics,
    /// Each attempt's duration, by operation and Partner Center's status (or how the attempt failed).
    durations: telemetry::Handles<(&'static str, Result<u16, &'static str>), metrics::Histogram>,
}

/// How an attempt failed to produce a whole answer.
#[derive(Debug)]
enum Failure {
    /// No connection: nothing was sent.
    Connect(reqwest::Error),
    /// No answer in time: the request may or may not have been acted on.
    Timeout(reqwest::Error),
    /// The connection broke before an answer began (a reset, a close).
    NoAnswer(reqwest::Error),
    /// The answer began (the status arrived) but its body was cut short.
    BodyCut(reqwest::Error),
    /// The answer is larger than `upstream.max_response_bytes`; the rest of it was not read.
    TooLarge(usize),
}

impl Failure {
    /// The metrics' name for it, as `reason` of a retry and `upstream_status` of an attempt.
    fn label(&self) -> &'static str {
        match self {
            Failure::Connect(_) => "connect",
            Failure::Timeout(_) => "timeout",
            Failure::NoAnswer(_) => "no_answer",
            Failure::BodyCut(_) => "body_cut",
            Failure::TooLarge(_) => "too_large",
        }
    }

    fn into_error(self) -> AppError {
        match self {
            Failure::Timeout(e) => AppError::GatewayTimeout(e.to_string()),
            Failure::Connect(e) | Failure::NoAnswer(e) | Failure::BodyCut(e) => {
                AppError::BadGateway(e.to_string())
            }
            Failure::TooLarge(limit) => AppError::UpstreamTooLarge { limit },
        }
    }
}

/// The HTTP client for Partner Center and the token authority, with `connect_timeout` for each new connection,
/// `timeout` for each whole request (its answer's body included), and at most `max_idle` idle connections kept
/// to a host (each serving worker has a pool of its own: together they keep no more than the calls in flight
/// allowed, `upstream.max_concurrent_calls`).
pub fn http_client(
    connect_timeout: Duration,
    timeout: Duration,
    max_idle: usize,
) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .use_rustls_tls()
        .pool_max_idle_per_host(max_idle)
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        // A redirect would send the connection's token wherever Partner Center (or an attacker in the path)
        // pointed; Partner Center's API does not redirect, so any redirect is an error to surface.
        .redirect(reqwest::redirect::Policy::none())
        // An idle connection is closed here before the far end would close it (Azure's load balancers keep one
        // 4 minutes by default), so a call never goes out on a connection the other side is dropping. reqwest's
        // default, named here because the README promises it.
        .pool_idle_timeout(Duration::from_secs(90))
        // reqwest's own retries are only for HTTP/2 and HTTP/3 refusals (its `retry::is_retryable_error`), which
        // this HTTP/1 client never meets; [`PartnerCenter::send`] decides retries. With none allowed, reqwest no
        // longer copies each request (headers, extensions) in case it retries.
        .retry(reqwest::retry::never().max_retries_per_request(0));
    // With no proxy in the environment, the proxy reqwest reads from it matches nothing, but it is still asked
    // about each plain-HTTP request (the sandbox's); with one, it is kept (`HTTPS_PROXY`, `NO_PROXY`, ...).
    let from_env = ["ALL_PROXY", "HTTP_PROXY", "HTTPS_PROXY"]
        .iter()
        .any(|name| {
            std::env::var_os(name).is_some() || std::env::var_os(name.to_lowercase()).is_some()
        });
    match from_env {
        true => builder,
        false => builder.no_proxy(),
    }
    .build()
}

impl PartnerCenter {
    /// `base` is an http(s) URL with no trailing slash (checked with the configuration, or the sandbox's).
    pub fn new(
        http: PerWorker<reqwest::Client>,
        base: String,
        max_response_bytes: usize,
        retry: RetryPolicy,
        breaker: Breaker,
        metrics: Metrics,
    ) -> Self {
        let base =
            reqwest::Url::parse(&base).expect("Partner Center's base URL was checked at load");
        Self {
            http,
            host: host_header(&base),
            base,
            max_response_bytes,
            retry,
            breaker,
            durations: telemetry::Handles::new(&metrics),
            metrics,
        }
    }

    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// One logical call, retried where that helps and is safe.
    ///
    /// Reads (GET) are retried on no connection, a broken or cut-short answer, 5xx, and 429 (after its
    /// `Retry-After`), never on 4xx and never on a timeout (the caller's wait stays bounded by one timeout), at
    /// most `max_retries` times and none starting later than the retry budget after the first attempt.
    /// Writes (ConfirmCustomerAgreement) are retried only when no whole answer arrived, always with the same
    /// `MS-RequestId`: Partner Center takes it as the write's identity and answers a repeat with the agreement
    /// it already stored, so a retry never confirms twice. Such a retry is bounded by `max_retries` alone, not
    /// by the budget: a write that got no answer may have been stored, and only its repeat can tell the caller
    /// (a later call with a new `MS-RequestId` would meet 409 instead); so the caller may wait up to
    /// `max_retries + 1` timeouts plus the backoff. A write that was answered, whatever the answer, is never
    /// sent again.
    pub async fn send(
        &self,
        token: &AccessToken,
        ctx: &CallContext,
        request: UpstreamRequest<'_>,
    ) -> Result<Reply, AppError> {
        let bearer = token.bearer().ok_or_else(|| {
            AppError::BadGateway(
                "token authority issued a token that is not a valid header value".into(),
            )
        })?;
        self.send_with(bearer, ctx, request).await
    }

    /// [`Self::send`] with the `Authorization` header already made: a maker's own, forwarded.
    pub async fn send_with(
        &self,
        bearer: &HeaderValue,
        ctx: &CallContext,
        request: UpstreamRequest<'_>,
    ) -> Result<Reply, AppError> {
        let request_uuid = Uuid::new_v4();
        call_record::note(|r| r.request_id = Some(request_uuid));
        let request_id = uuid_header(request_uuid);
        let url = join(&self.base, &request.path_and_query);
        let is_write = request.method != Method::GET;
        let started = Instant::now();
        let within_budget = |wait: Duration| started.elapsed() + wait <= self.retry.budget;

        let mut retry = 0;
        loop {
            // A write is retried only when its attempt got no answer, so it may be stored: its repeat goes out
            // even if that failure has just opened the breaker, as refusing it would lose the outcome.
            let admitted = match is_write && retry > 0 {
                true => None,
                false => Some(self.breaker.admit()?),
            };
            let attempt_started = Instant::now();
            let outcome = self.attempt(&url, bearer, &request_id, ctx, &request).await;
            self.observe(ctx.operation, &outcome, attempt_started);
            call_record::note(|r| {
                r.attempts += 1;
                r.upstream_time += attempt_started.elapsed();
                r.upstream_status = outcome.as_ref().ok().map(|reply| reply.status.as_u16());
            });
            if let Some(admitted) = admitted {
                admitted.record(matches!(&outcome, Ok(reply) if !reply.status.is_server_error()));
            }
            let may_retry = retry < self.retry.max_retries;
            let wait = match outcome {
                Ok(reply) if reply.status == StatusCode::TOO_MANY_REQUESTS && !is_write => {
                    let wait = reply
                        .retry_after
                        .as_ref()
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()))
                        .unwrap_or_else(|| self.retry.backoff(retry));
                    if !may_retry || !within_budget(wait) {
                        // Waiting would overrun the budget: hand the wait to the caller instead.
                        return Ok(reply.with_retry_after(wait));
                    }
                    self.retried("throttled");
                    wait
                }
                Ok(reply) if reply.status.is_server_error() && !is_write && may_retry => {
                    let wait = self.retry.backoff(retry);
                    if !within_budget(wait) {
                        return Ok(reply);
                    }
                    self.retried("server_error");
                    wait
                }
                Ok(reply) => return Ok(reply),
                Err(failure) => {
                    let retryable = match &failure {
                        Failure::Connect(_) | Failure::NoAnswer(_) | Failure::BodyCut(_) => true,
                        Failure::Timeout(_) => is_write,
                        // The same request would be answered as large again.
                        Failure::TooLarge(_) => false,
                    };
                    let wait = self.retry.backoff(retry);
                    // One timeout alone may outlast the budget (by default it does); were the budget to stop a
                    // write's retry, the caller would lose an agreement Partner Center may have stored.
                    let in_time = is_write || within_budget(wait);
                    if !retryable || !may_retry || !in_time {
                        return Err(failure.into_error());
                    }
                    // The call's own line counts the attempts; each retry's cause is detail.
                    tracing::debug!(retry = retry + 1, ?failure, "retrying Partner Center call");
                    self.retried(failure.label());
                    wait
                }
            };
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }

    fn observe(&self, operation: &'static str, outcome: &Result<Reply, Failure>, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        let outcome = match outcome {
            Ok(reply) => Ok(reply.status.as_u16()),
            Err(failure) => Err(failure.label()),
        };
        let histogram = self.durations.get((operation, outcome), || {
            let status: metrics::SharedString = match outcome {
                Ok(status) => telemetry::status_label(status),
                Err(label) => label.into(),
            };
            metrics::histogram!(
                telemetry::UPSTREAM_DURATION,
                "operation" => operation,
                "upstream_status" => status,
            )
        });
        if let Some(histogram) = histogram {
            histogram.record(seconds);
        }
    }

    fn retried(&self, reason: &'static str) {
        self.metrics
            .record(|| metrics::counter!(telemetry::RETRIES, "reason" => reason).increment(1));
    }

    async fn attempt(
        &self,
        url: &reqwest::Url,
        bearer: &HeaderValue,
        request_id: &HeaderValue,
        ctx: &CallContext,
        request: &UpstreamRequest<'_>,
    ) -> Result<Reply, Failure> {
        // Sized for every header a call may carry, so that it is never grown (and rehashed) while filled; set
        // on a `reqwest::Request` directly rather than through `RequestBuilder`, whose `header` converts and
        // checks each name and value again.
        let mut headers = HeaderMap::with_capacity(12);
        headers.insert(header::HOST, self.host.clone());
        headers.insert(header::AUTHORIZATION, bearer.clone());
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(&MS_REQUEST_ID, request_id.clone());
        headers.insert(&MS_CORRELATION_ID, uuid_header(ctx.correlation_id));
        headers.insert(&MS_CONTRACT_VERSION, HeaderValue::from_static("v1"));
        if let Some(locale) = &ctx.locale {
            headers.insert(&X_LOCALE, locale.clone());
        }
        if let Some(trace) = &ctx.trace {
            headers.insert(&TRACEPARENT, trace.traceparent());
            if let Some(state) = trace.tracestate() {
                headers.insert(&TRACESTATE, state.clone());
            }
        }
        if let Some(token) = request.continuation {
            let value = HeaderValue::from_str(token.as_str())
                .expect("a continuation token is visible ASCII, checked when it was parsed");
            headers.insert(&MS_CONTINUATION_TOKEN, value);
        }
        let mut outgoing = reqwest::Request::new(request.method.clone(), url.clone());
        if let Some(body) = &request.json_body {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            *outgoing.body_mut() = Some(body.clone().into());
        }
        *outgoing.headers_mut() = headers;
        let response = self.http.get().execute(outgoing).await.map_err(|e| {
            if e.is_timeout() {
                Failure::Timeout(e)
            } else if e.is_connect() {
                Failure::Connect(e)
            } else {
                Failure::NoAnswer(e)
            }
        })?;
        let status = response.status();
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
        let body = read_capped(response, self.max_response_bytes).await?;
        Ok(Reply {
            status,
            content_type,
            retry_after,
            body,
        })
    }
}

/// The whole body, read as it streams in and dropped as soon as it passes `cap` (a declared `Content-Length` over
/// it is refused before anything is read), so an oversized answer never costs more than `cap` of memory.
async fn read_capped(response: reqwest::Response, cap: usize) -> Result<Bytes, Failure> {
    capped_body(response, cap).await.map_err(|e| match e {
        BodyError::TooLarge => Failure::TooLarge(cap),
        BodyError::Read(e) if e.is_timeout() => Failure::Timeout(e),
        BodyError::Read(e) => Failure::BodyCut(e),
    })
}

/// Why an upstream's body could not be had whole.
pub(crate) enum BodyError {
    /// Larger than the cap; the rest was not read.
    TooLarge,
    Read(reqwest::Error),
}

/// An upstream answer's body, read as it streams in and dropped past `cap`.
pub(crate) async fn capped_body(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Bytes, BodyError> {
    if response
        .content_length()
        .is_some_and(|length| length > cap as u64)
    {
        return Err(BodyError::TooLarge);
    }
    // Kept as the chunks came, without copying, and joined once at the end: growing one buffer as they come
    // would leave the allocator holding every size it went through. Most answers are one chunk, kept apart so
    // that they need no list.
    let mut first = None;
    let mut chunks = Vec::new();
    let mut length = 0;
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        length += chunk.len();
        if length > cap {
            return Err(BodyError::TooLarge);
        }
        match first {
            None => first = Some(chunk),
            Some(_) => chunks.push(chunk),
        }
    }
    let Some(first) = first else {
        return Ok(Bytes::new());
    };
    if chunks.is_empty() {
        return Ok(first);
    }
    let mut body = bytes::BytesMut::with_capacity(length);
    body.extend_from_slice(&first);
    for chunk in chunks {
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

impl Reply {
    /// The caller is told to wait in seconds, the form every client understands, rounded up.
    fn with_retry_after(mut self, wait: Duration) -> Self {
        let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        self.retry_after = Some(HeaderValue::from(secs));
        self
    }
}

/// `base` followed by `path_and_query`, as parsing their concatenation would make it, without parsing the
/// scheme and host again.
fn join(base: &reqwest::Url, path_and_query: &str) -> reqwest::Url {
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    let mut url = base.clone();
    let base_path = base.path().trim_end_matches('/');
    if base_path.is_empty() {
        url.set_path(path);
    } else {
        url.set_path(&format!("{base_path}{path}"));
    }
    url.set_query(query);
    url
}

/// `host[:port]` of `url`, the port left out when it is the scheme's default (which a parsed URL never holds).
fn host_header(url: &reqwest::Url) -> HeaderValue {
    let host = url
        .host_str()
        .expect("Partner Center's base URL is http(s), so it has a host");
    let value = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    HeaderValue::try_from(value).expect("a URL's host and port are a valid header value")
}

fn uuid_header(id: Uuid) -> HeaderValue {
    let mut buf = Uuid::encode_buffer();
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
        .expect("a GUID is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_header_is_what_hyper_writes_for_the_url() {
        for (base, host) in [
            (
                "https://api.partnercenter.microsoft.com",
                "api.partnercenter.microsoft.com",
            ),
            ("https://pc.example.com:443/prefix", "pc.example.com"),
            ("https://pc.example.com:8443", "pc.example.com:8443"),
            ("http://127.0.0.1:80", "127.0.0.1"),
            ("http://127.0.0.1:18081", "127.0.0.1:18081"),
            ("http://[::1]:18081", "[::1]:18081"),
            ("http://PC.Example.COM", "pc.example.com"),
        ] {
            assert_eq!(
                host_header(&reqwest::Url::parse(base).unwrap()),
                host,
                "{base}"
            );
        }
    }

    #[test]
    fn a_calls_url_is_the_base_and_its_path_as_one_parse_would_make_them() {
        for base in [
            "https://api.partnercenter.microsoft.com",
            "http://127.0.0.1:18081",
            "https://pc.example.com/prefix",
            "https://pc.example.com/a/b",
        ] {
            let parsed = reqwest::Url::parse(base).unwrap();
            for path in [
                "/v1/customers/c501c3c4-d776-40ef-9ecf-9cefb59442c1",
                "/v1/customers?size=2&filter=%7B%22Field%22%3A%22Domain%22%7D",
                "/v1/invoices/D%2F1/lineitems?provider=one%20time&size=10",
                "/v1/customers/x/subscriptions?",
            ] {
                assert_eq!(
                    join(&parsed, path).as_str(),
                    reqwest::Url::parse(&format!("{base}{path}"))
                        .unwrap()
                        .as_str(),
                    "{base} + {path}"
                );
            }
        }
    }
}
