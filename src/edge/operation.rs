//! What an operation's call passes through before its handler, in one service: counted and timed under its
//! operationId ([`super::observe`]), outside authentication so that a 401 or a 429 counts as its operation's
//! call too; then the caller identified and admitted by its connection's quota ([`super::auth`]).
//!
//! One tower service rather than two `axum::middleware::from_fn` layers: each of those cloned the rest of the
//! stack, boxed it again and boxed and moved the call's future, per call. Here the call's future is boxed once.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use super::Gateway;
use super::auth::{self, QuotaDecisions};
use super::observe::{self, CallMetrics, Operation, OperationIds};

#[derive(Clone)]
pub struct OperationLayer(Arc<Shared>);

struct Shared {
    gateway: Gateway,
    ids: Arc<OperationIds>,
    calls: CallMetrics,
    decisions: QuotaDecisions,
}

impl OperationLayer {
    /// The metrics' handles are made here, once per router.
    pub fn new(gateway: Gateway, ids: Arc<OperationIds>) -> Self {
        let calls = CallMetrics::new(&gateway.metrics);
        let decisions = QuotaDecisions::new(&gateway.metrics);
        Self(Arc::new(Shared {
            gateway,
            ids,
            calls,
            decisions,
        }))
    }
}

impl<S> Layer<S> for OperationLayer {
    type Service = OperationService<S>;

    fn layer(&self, inner: S) -> OperationService<S> {
        OperationService {
            inner,
            shared: Arc::clone(&self.0),
        }
    }
}

#[derive(Clone)]
pub struct OperationService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Service<Request> for OperationService<S>
where
    S: Service<Request, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let operation = observe::operation_of(&self.shared.ids, &request);
        request.extensions_mut().insert(Operation(operation));
        // The handler is called only once the caller is admitted, after awaiting the quota: the service made
        // ready goes with the call, a clone stays for the next one.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let shared = Arc::clone(&self.shared);
        // Awaited in place, not handed on as futures: each future passed by value to another would be moved
        // into it, and take its room in the call's future twice.
        Box::pin(async move {
            let shared = &*shared;
            let in_flight = shared.calls.enter();
            let response =
                auth::authenticate(&shared.gateway, &shared.decisions, request, |request| {
                    let answer = inner.call(request);
                    async move {
                        match answer.await {
                            Ok(response) => response.into_response(),
                            Err(never) => match never {},
                        }
                    }
                })
                .await;
            in_flight.answered(operation, &response);
            Ok(response)
        })
    }
}
