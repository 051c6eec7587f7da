//! The floor under the gateway's figures: the least a server built on the gateway's own stack (tokio, hyper,
//! and reqwest or hyper's client) can do per call, with nothing of the gateway in it: no routing, connection,
//! quota, token, validation, log or metric. `bench/run --floor` measures these beside nginx, in the same
//! rounds and with the same load, so that the gateway's gap to nginx splits into what the stack costs and what
//! the gateway adds on top.
//!
//! ```text
//! cargo run --release --example bench_floor -- MODE LISTEN [UPSTREAM] [WORKERS]
//!   MODE deny       answers every call 429 with a small JSON body (the over-quota path's floor)
//!   MODE hyper      proxies each GET to UPSTREAM with hyper's pooled client
//!   MODE reqwest    proxies each GET to UPSTREAM with reqwest (the gateway's Partner Center client)
//! ```
//!
//! Each of WORKERS (default: one per CPU) single-threaded runtimes accepts on its own `SO_REUSEPORT` listener
//! and owns its client, nginx's worker model, which is also the gateway's (`server.workers`), less the
//! hand-over: the floor of that model, not a different one.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

const REFUSED: &str = r#"{"error":"quota_exceeded","message":"over quota"}"#;

// One per worker, shared by its calls through an `Rc`, so its size costs nothing per call.
#[allow(clippy::large_enum_variant)]
enum Upstream {
    Deny,
    Hyper(Client<HttpConnector, Full<Bytes>>, String),
    Reqwest(reqwest::Client, String),
}

impl Upstream {
    async fn call(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
        match self {
            Self::Deny => Response::builder()
                .status(StatusCode::TOO_MANY_REQUESTS)
                .header("content-type", "application/json")
                .header("retry-after", "60")
                .body(Full::new(Bytes::from_static(REFUSED.as_bytes())))
                .expect("a static response"),
            Self::Hyper(client, base) => {
                let upstream = Request::get(format!("{base}{path}"))
                    .body(Full::new(Bytes::new()))
                    .expect("a valid URI");
                match client.request(upstream).await {
                    Ok(answer) => {
                        let (parts, body) = answer.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        Response::from_parts(parts, Full::new(body))
                    }
                    Err(_) => bad_gateway(),
                }
            }
            Self::Reqwest(client, base) => match client.get(format!("{base}{path}")).send().await {
                Ok(answer) => {
                    let status = answer.status();
                    let kind = answer.headers().get("content-type").cloned();
                    let body = answer.bytes().await.unwrap_or_default();
                    let mut response = Response::new(Full::new(body));
                    *response.status_mut() = status;
                    if let Some(kind) = kind {
                        response.headers_mut().insert("content-type", kind);
                    }
                    response
                }
                Err(_) => bad_gateway(),
            },
        }
    }
}

fn bad_gateway() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}

fn listener(addr: SocketAddr) -> std::net::TcpListener {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    socket.set_reuse_port(true).expect("SO_REUSEPORT");
    socket.set_nonblocking(true).expect("non-blocking");
    socket.bind(&addr.into()).expect("bind");
    socket.listen(1024).expect("listen");
    socket.into()
}

async fn serve(addr: SocketAddr, upstream: Upstream) {
    let upstream = std::rc::Rc::new(upstream);
    let listener = tokio::net::TcpListener::from_std(listener(addr)).expect("a tokio listener");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let upstream = std::rc::Rc::clone(&upstream);
        tokio::task::spawn_local(async move {
            let service = service_fn(move |request| {
                let upstream = std::rc::Rc::clone(&upstream);
                async move { Ok::<_, Infallible>(upstream.call(request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bench_floor deny|hyper|reqwest LISTEN [UPSTREAM] [WORKERS]";
    let mode = args.first().expect(usage).clone();
    let addr: SocketAddr = args
        .get(1)
        .expect(usage)
        .parse()
        .expect("LISTEN is host:port");
    let base = args.get(2).cloned().unwrap_or_default();
    let workers = args
        .get(3)
        .map(|w| w.parse().expect("WORKERS is a number"))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let (mode, base) = (mode.clone(), base.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    let upstream = match mode.as_str() {
                        "deny" => Upstream::Deny,
                        "hyper" => {
                            let mut connector = HttpConnector::new();
                            connector.set_nodelay(true);
                            Upstream::Hyper(
                                Client::builder(TokioExecutor::new()).build(connector),
                                base,
                            )
                        }
                        "reqwest" => Upstream::Reqwest(
                            reqwest::Client::builder()
                                .no_proxy()
                                .build()
                                .expect("a client"),
                            base,
                        ),
                        other => panic!("unknown mode {other}: {usage}"),
                    };
                    serve(addr, upstream).await
                })
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
}
