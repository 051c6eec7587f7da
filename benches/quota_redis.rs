//! The Redis quota backend against the memory one, in the same run: calls per second and latency percentiles,
//! at the quota layer (`Quotas::check`, every call a Redis round trip) and through the HTTP gateway (the whole
//! call, against the embedded sandbox, with the Redis round trip inside it).
//!
//! Run: `cargo bench --bench quota_redis` (needs `redis-server` on the PATH; `bash .ci/test` installs it). It
//! starts its own redis-server on a free loopback port, without persistence, and stops it at the end. Prints
//! figures; asserts nothing (the target, redis at least 0.7× memory's calls per second, is read, not timed).
//! `QUOTA_BENCH_SECS` (default 3) is how long each measurement runs; `QUOTA_BENCH_CONCURRENCY` (default 64)
//! how many callers run at once.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use partner_center_gateway::clock::Clock;
use partner_center_gateway::config::Settings;
use partner_center_gateway::domain::ConnectionId;
use partner_center_gateway::quota::{
    QuotaLimit, QuotaOptions, Quotas, SharedOptions, SharedQuota, Topology,
};
use partner_center_gateway::startup::Application;

struct Redis(Child, u16);

impl Redis {
    fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Self(child, port))
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.1)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Clone, Copy)]
struct Figures {
    calls_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
}

/// `concurrency` callers, each calling `call` in a loop for `secs`; every call timed.
async fn measure<F, Fut>(concurrency: usize, secs: f64, call: F) -> Figures
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let call = Arc::clone(&call);
        tasks.spawn(async move {
            let mut times = Vec::new();
            let mut i = worker;
            while Instant::now() < until {
                let t = Instant::now();
                call(i).await;
                times.push(t.elapsed());
                i += concurrency;
            }
            times
        });
    }
    let mut times = Vec::new();
    while let Some(batch) = tasks.join_next().await {
        times.extend(batch.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    Figures {
        calls_per_sec: times.len() as f64 / elapsed,
        p50_us: at(0.50).as_secs_f64() * 1e6,
        p99_us: at(0.99).as_secs_f64() * 1e6,
    }
}

fn print(layer: &str, memory: Figures, redis: Figures) {
    for (backend, f) in [("memory", memory), ("redis", redis)] {
        println!(
            "{layer:<8} {backend:<7} {:>10.0} calls/s   p50 {:>8.1} µs   p99 {:>8.1} µs",
            f.calls_per_sec, f.p50_us, f.p99_us
        );
    }
    println!(
        "{layer:<8} redis/memory: {:.2}× the calls per second (target ≥ 0.70×)",
        redis.calls_per_sec / memory.calls_per_sec
    );
}

fn options() -> QuotaOptions {
    QuotaOptions {
        // Large enough that every call is admitted: the cost measured is the decision's, not a refusal's.
        limit: QuotaLimit::new(
            NonZeroU32::new(1_000_000).unwrap(),
            NonZeroU64::new(60).unwrap(),
            false,
        )
        .unwrap(),
        max_tracked_connections: NonZeroUsize::new(100_000).unwrap(),
        evict_interval_secs: NonZeroU64::new(60).unwrap(),
    }
}

/// The sandbox profile on port 0, its quota out of the way, on `backend`.
fn gateway_settings(backend: &str) -> Settings {
    let text = std::fs::read_to_string("config/default.toml")
        .unwrap()
        .replace("127.0.0.1:8080", "127.0.0.1:0")
        .replace("calls = 100\n", "calls = 1000000\n")
        .replace(
            "period_secs = 60\n",
            &format!("period_secs = 60\n{backend}\n"),
        )
        .replace(
            "var/contoso-demo.refresh-token",
            &std::env::temp_dir()
                .join(format!("pcgw-bench-{}.refresh-token", std::process::id()))
                .display()
                .to_string(),
        );
    Settings::from_toml(&text).unwrap()
}

async fn through_gateway(settings: Settings, concurrency: usize, secs: f64) -> Figures {
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let url = format!("{base}/v1/customers/c501c3c4-d776-40ef-9ecf-9cefb59442c1");
    // One call first, so the connection's access token is fetched outside the measurement.
    let warm = client
        .get(&url)
        .header("X-API-Key", "demo-key-contoso")
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);
    let figures = measure(concurrency, secs, move |_| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let response = client
                .get(&url)
                .header("X-API-Key", "demo-key-contoso")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let _ = response.bytes().await;
        }
    })
    .await;
    let _ = stop.send(());
    let _ = server.await;
    figures
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this too, and a measurement in a debug build
    // is neither a test nor a figure worth printing.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("quota_redis: a measurement; run it with `cargo bench --bench quota_redis`");
        return;
    }
    let secs: f64 = std::env::var("QUOTA_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let concurrency: usize = std::env::var("QUOTA_BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let Some(redis) = Redis::start() else {
        println!(
            "quota_redis: redis-server is not installed (apt-get install redis-server); nothing measured"
        );
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        println!(
            "{} cores, {concurrency} callers at once, {secs} s per measurement, redis at {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            redis.url()
        );
        let ids: Arc<Vec<ConnectionId>> = Arc::new(
            (0..1000)
                .map(|i| ConnectionId::parse(&format!("bench-{i}")).unwrap())
                .collect(),
        );
        let clock = Clock::real();

        let memory = Arc::new(Quotas::new(&options(), [], &clock));
        let memory_figures = {
            let (memory, ids) = (Arc::clone(&memory), Arc::clone(&ids));
            measure(concurrency, secs, move |i| {
                let (memory, ids) = (Arc::clone(&memory), Arc::clone(&ids));
                async move {
                    let _ = memory.check(&ids[i % ids.len()]).await;
                }
            })
            .await
        };
        let shared = SharedQuota::new(
            SharedOptions {
                url: redis.url().into(),
                topology: Topology::Single,
                timeout: Duration::from_secs(1),
                fail_open: true,
                replicas: NonZeroU32::MIN,
            },
            clock.clone(),
            // This bench's own runtime serves the calls: no serving workers.
            0,
        )
        .unwrap();
        let shared = Arc::new(Quotas::shared(&options(), [], &clock, Arc::new(shared)));
        let redis_figures = {
            let (shared, ids) = (Arc::clone(&shared), Arc::clone(&ids));
            measure(concurrency, secs, move |i| {
                let (shared, ids) = (Arc::clone(&shared), Arc::clone(&ids));
                async move {
                    let decided = shared.check(&ids[i % ids.len()]).await;
                    assert!(matches!(decided, Ok(Ok(_))), "every call admitted by Redis");
                }
            })
            .await
        };
        print("quota", memory_figures, redis_figures);

        let memory_http = through_gateway(gateway_settings(""), concurrency, secs).await;
        let backend = format!(
            "backend = \"redis\"\n\n[redis]\nurl = \"{}\"\ntimeout_ms = 1000",
            redis.url()
        );
        let redis_http = through_gateway(gateway_settings(&backend), concurrency, secs).await;
        print("gateway", memory_http, redis_http);
    });
}
