//! What every call passes through between the router and its route, in one service: its correlation ID and
//! trace context set, and named on the answer; its log line; and the refusals the request's head alone decides
//! (a `Host` that is not one valid host, a budget over its limit).
//!
//! Written as one tower service rather than a stack of `axum::middleware::from_fn`: each of those cloned the
//! rest of the stack, boxed it again and boxed and moved the call's future, per call; together they were about a
//! sixth of a proxied call's instructions. Here the rest of the stack is called in place (its readiness is this
//! service's), and the call's future is boxed once.
//!
//! Order, outermost first, as the separate layers had it: the correlation ID and the trace context are set
//! before anything else runs, so every answer, including a refusal of the head, a 401, a 429 or a caught panic,
//! carries them (and the gateway's JSON errors name the ID); the call's log line is written inside them, so it
//! names both; the protocol's check (one valid Host) and then the budgets read from the head run inside the
//! log line, so a refused request is logged like any call.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};
use tracing::Instrument;

use super::budgets::{self, RequestBudgets};
use crate::call_record;
use crate::correlation;
use crate::edge::call_log::CallLog;
use crate::edge::protocol;
use crate::trace_context::{self, TRACEPARENT, TraceContext};

#[derive(Clone)]
pub struct CallLayer(Arc<Shared>);

struct Shared {
    log: Arc<CallLog>,
    budgets: RequestBudgets,
}

impl CallLayer {
    pub fn new(log: Arc<CallLog>, budgets: RequestBudgets) -> Self {
        Self(Arc::new(Shared { log, budgets }))
    }
}

impl<S> Layer<S> for CallLayer {
    type Service = CallService<S>;

    fn layer(&self, inner: S) -> CallService<S> {
        CallService {
            inner,
            shared: Arc::clone(&self.0),
        }
    }
}

#[derive(Clone)]
pub struct CallService<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// How a call is answered: by the rest of the stack, or refused on its head (with `Connection: close` for a
/// budget's refusal, as the budgets ask).
enum Answer<F> {
    Inner(F),
    Refused {
        error: crate::error::AppError,
        close: bool,
    },
}

impl<S> Service<Request> for CallService<S>
where
    S: Service<Request, Error = Infallible>,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let id = correlation::from_headers(request.headers());
        let trace = TraceContext::from_headers(request.headers());
        let span = CallLog::span(id, &trace);
        let begun = self.shared.log.begin(&request);
        // Decided here, answered inside the scopes below: a refusal's JSON names the correlation ID, and its
        // kind is noted in the call's record. The rest of the stack's future does nothing until polled.
        let answer = match protocol::one_valid_host(request.headers()) {
            Err(error) => Answer::Refused {
                error,
                close: false,
            },
            Ok(()) => match self.shared.budgets.refusal(&request) {
                Some(error) => Answer::Refused { error, close: true },
                None => Answer::Inner(self.inner.call(request)),
            },
        };
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let traceparent = trace.traceparent();
            let logged = trace.clone();
            let answered = async move {
                match answer {
                    Answer::Inner(future) => match future.await {
                        Ok(response) => response.into_response(),
                        Err(never) => match never {},
                    },
                    Answer::Refused { error, close: true } => budgets::closing(error),
                    Answer::Refused { error, .. } => error.into_response(),
                }
            };
            let mut scoped = std::pin::pin!(call_record::scope(correlation::scope(
                id,
                trace_context::scope(trace, answered.instrument(span)),
            )));
            let mut response = scoped.as_mut().await;
            let record = call_record::take(scoped);
            shared
                .log
                .finish(begun, response.status(), &record, id, &logged);
            let headers = response.headers_mut();
            headers.insert(TRACEPARENT.clone(), traceparent);
            correlation::stamp(headers, id);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{HeaderMap, StatusCode, header};
    use tower::{ServiceBuilder, ServiceExt};
    use tower_http::catch_panic::CatchPanicLayer;

    use super::*;
    use crate::edge::refusals::Refusals;
    use crate::error::AppError;

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    fn layer() -> CallLayer {
        let log = CallLog {
            ids: Arc::default(),
            documented: Default::default(),
            refusals: Refusals::new(),
        };
        let budgets = RequestBudgets {
            max_body_bytes: 1024,
            max_uri_bytes: 64,
        };
        CallLayer::new(Arc::new(log), budgets)
    }

    /// The answer to `request` of the call layer around a handler that panics, as the router stacks them.
    async fn answer(request: Request) -> (StatusCode, HeaderMap, serde_json::Value) {
        let service = ServiceBuilder::new()
            .layer(layer())
            .layer(CatchPanicLayer::custom(|_| {
                AppError::Internal("handler panicked".into()).into_response()
            }))
            .service_fn(|_: Request| async {
                if true {
                    panic!("the handler fails");
                }
                Ok::<_, Infallible>(Response::new(Body::empty()))
            });
        let response = service.oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let json = serde_json::from_slice(&body).expect("a JSON body");
        (parts.status, parts.headers, json)
    }

    fn request(uri: &str, hosts: &[&str]) -> Request {
        let mut request = Request::builder()
            .uri(uri)
            .header("x-ms-correlation-id", ID);
        for host in hosts {
            request = request.header(header::HOST, *host);
        }
        request.body(Body::empty()).unwrap()
    }

    fn assert_names_the_call(headers: &HeaderMap, json: &serde_json::Value) {
        assert_eq!(headers["x-ms-correlation-id"], ID);
        assert_eq!(headers["ms-correlationid"], ID);
        assert_eq!(json["correlationId"], ID, "{json}");
        let traceparent = headers["traceparent"].to_str().unwrap();
        assert_eq!(traceparent.len(), 55, "{traceparent}");
    }

    #[tokio::test]
    async fn a_caught_panic_and_each_refusal_of_the_head_name_the_call() {
        let (status, headers, json) = answer(request("/v1/invoices", &["gw.example"])).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_names_the_call(&headers, &json);

        let (status, headers, json) =
            answer(request("/v1/invoices", &["gw.example", "other.example"])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["code"], "InvalidHost");
        assert_names_the_call(&headers, &json);

        let long = format!("/v1/invoices?Size={}", "1".repeat(64));
        let (status, headers, json) = answer(request(&long, &["gw.example"])).await;
        assert_eq!(status, StatusCode::URI_TOO_LONG);
        assert_eq!(headers[header::CONNECTION], "close");
        assert_names_the_call(&headers, &json);
    }
}
