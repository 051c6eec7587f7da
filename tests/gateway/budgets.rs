//! Resource budgets, from outside: what a client that needs no key can make the gateway hold (memory, sockets,
//! descriptors) stays within `[server]`'s budgets, refusals are the JSON error shape, and `/healthz` is answered
//! throughout. Where memory and descriptors are measured, the gateway is the real binary in a process of its
//! own, read through `/proc/<pid>` (the test binary's own figures mix every test running beside it).

use std::io::{Read, Write};
use std::net::TcpStream as StdStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// `status`, and the body as JSON, of one raw HTTP/1.1 answer.
fn parse_answer(answer: &[u8]) -> (u16, String, serde_json::Value) {
    let text = String::from_utf8_lossy(answer).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no whole head: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {head}"));
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, head.to_ascii_lowercase(), json)
}

/// Sends `request` on a fresh connection and reads until the gateway closes it.
async fn exchange(app: &TestApp, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    // A refused request is answered and the connection closed before the client may have sent all of it.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the gateway answers and closes the connection");
    answer
}

fn assert_refusal(answer: &[u8], status: u16, code: &str) {
    let (got, head, body) = parse_answer(answer);
    assert_eq!(got, status, "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(body["statusCode"], status);
    assert_eq!(body["code"], code);
    let id = body["correlationId"].as_str().unwrap();
    assert!(uuid::Uuid::try_parse(id).is_ok(), "{body}");
    assert!(
        head.contains(&format!("x-ms-correlation-id: {id}")),
        "{head}"
    );
}

#[tokio::test]
async fn a_header_block_over_the_budget_is_431_in_the_json_error_shape() {
    let app = spawn_app().await;
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: gateway.test\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(40 * 1024)
    );
    assert_refusal(
        &exchange(&app, request.as_bytes()).await,
        431,
        "HeadersTooLarge",
    );
    // A head well within it is served.
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: gateway.test\r\nX-Padding: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(16 * 1024)
    );
    let answer = exchange(&app, request.as_bytes()).await;
    assert!(answer.starts_with(b"HTTP/1.1 200 "), "{answer:?}");
}

#[tokio::test]
async fn a_malformed_request_line_is_400_in_the_json_error_shape() {
    let app = spawn_app().await;
    for request in [
        &b"GET\x01 /healthz HTTP/1.1\r\nHost: gateway.test\r\n\r\n"[..],
        b"GET /healthz HTTP/9.9\r\nHost: gateway.test\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nBad Header: x\r\n\r\n",
    ] {
        assert_refusal(&exchange(&app, request).await, 400, "MalformedRequest");
    }
}

#[tokio::test]
async fn a_target_over_the_budget_is_414_in_the_json_error_shape() {
    let app = spawn_app().await;
    let long = format!(
        "GET /v1/customers/{} HTTP/1.1\r\nHost: gateway.test\r\nX-API-Key: {CONTOSO_KEY}\r\n\
         Connection: close\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    assert_refusal(&exchange(&app, long.as_bytes()).await, 414, "UriTooLong");
    // Within the budget, the same kind of target reaches the operation, whose own check refuses it.
    let within = long.replace(&"a".repeat(20 * 1024), &"a".repeat(10 * 1024));
    let (status, _, _) = parse_answer(&exchange(&app, within.as_bytes()).await);
    assert_eq!(status, 400);
    assert_eq!(
        app.sandbox().api_calls(),
        0,
        "nothing reached Partner Center"
    );
}

#[tokio::test]
async fn a_declared_body_over_the_budget_is_413_at_once_even_with_expect_continue() {
    let app = spawn_app().await;
    let mut stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /v1/customers/{SEED_CUSTOMER}/agreements HTTP/1.1\r\nHost: gateway.test\r\n\
         X-API-Key: {CONTOSO_KEY}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n\
         Content-Length: 10000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    // The body is never sent: only a refusal that does not wait for it can arrive in time.
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        !answer.starts_with(b"HTTP/1.1 100"),
        "no 100 Continue: {answer:?}"
    );
    assert_refusal(&answer, 413, "BodyTooLarge");
    assert_eq!(
        app.sandbox().api_calls(),
        0,
        "nothing reached Partner Center"
    );
}

/// A keep-alive connection that has had one `/healthz` answered, and so holds its seat until the header timeout.
async fn heard_connection(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway.test\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0; 4096];
    // The whole answer: its head, then as many bytes as its `content-length` says.
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("answered")
            .unwrap();
        assert!(n > 0, "closed before the answer: {answer:?}");
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(0);
            if body.len() >= length {
                assert!(head.starts_with("http/1.1 200 "), "{head}");
                return stream;
            }
        }
    }
}

/// Waits until the gateway closes `stream`, which sends nothing.
async fn closed_by_the_gateway(stream: &mut TcpStream) {
    let mut buf = [0; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("the gateway closes the connection");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "nothing is answered to a request never sent: {read:?}"
    );
}

fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn app_with_four_seats() -> (TestApp, String) {
    let state = tempfile::tempdir().unwrap();
    let toml = with_server_keys(
        &sandbox_profile(&state.path().join("contoso.refresh-token")),
        "max_connections = 4",
    );
    let app = spawn_toml(&toml).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    (app, address)
}

#[tokio::test]
async fn past_max_connections_probes_are_answered_and_other_calls_refused_at_once() {
    let (app, address) = app_with_four_seats().await;
    // Four connections that have each had an answer and stay open hold every served seat.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(heard_connection(&address).await);
    }
    let health = fresh_client()
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let call = fresh_client()
        .get(app.url("/v1/customers?Size=1"))
        .header("X-API-Key", CONTOSO_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), 503);
    assert_eq!(json(call).await["code"], "Overloaded");

    // More idle connections than the probes' reserve holds: the newest take the places of the oldest.
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(TcpStream::connect(&address).await.unwrap());
    }
    let health = fresh_client()
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    drop(held);
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let call = fresh_client()
            .get(app.url("/v1/customers?Size=1"))
            .header("X-API-Key", CONTOSO_KEY)
            .send()
            .await
            .unwrap();
        if call.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "calls are served again once the held connections are gone"
        );
    }
}

#[tokio::test]
async fn connections_that_never_send_a_request_give_their_seats_to_real_calls() {
    let (app, address) = app_with_four_seats().await;
    // Connected in order, so accepted in order: more silent sockets than the served seats and the probes'
    // reserve together.
    let mut silent = Vec::new();
    for _ in 0..4 + 32 + 4 {
        silent.push(TcpStream::connect(&address).await.unwrap());
    }
    let call = fresh_client()
        .get(app.url("/v1/customers?Size=1"))
        .header("X-API-Key", CONTOSO_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        call.status(),
        200,
        "a real call is served, not refused, while silent sockets are open"
    );
    let health = fresh_client()
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // The oldest silent socket gave its seat up.
    closed_by_the_gateway(&mut silent[0]).await;
}

#[tokio::test]
async fn a_probe_under_way_on_the_reserve_is_answered_while_new_connections_keep_arriving() {
    let (_app, address) = app_with_four_seats().await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(heard_connection(&address).await);
    }
    // The reserve filled with silent sockets but one seat, which the probe takes; it sends half its request.
    let mut silent = Vec::new();
    for _ in 0..31 {
        silent.push(TcpStream::connect(&address).await.unwrap());
    }
    let mut probe = TcpStream::connect(&address).await.unwrap();
    probe
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway.test\r\n")
        .await
        .unwrap();
    // New connections keep arriving, each taking the place of the oldest silent one: the 31 before the probe,
    // then those that came after it.
    let mut newer = Vec::new();
    for older in &mut silent {
        newer.push(TcpStream::connect(&address).await.unwrap());
        closed_by_the_gateway(older).await;
    }
    for _ in 0..9 {
        newer.push(TcpStream::connect(&address).await.unwrap());
    }
    // By now the gateway has seated all of them: at least the 8 oldest newcomers have given their seats up.
    closed_by_the_gateway(&mut newer[7]).await;
    probe.write_all(b"Connection: close\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), probe.read_to_end(&mut answer))
        .await
        .expect("the probe is answered");
    assert!(
        answer.starts_with(b"HTTP/1.1 200 "),
        "the probe under way is answered: {:?}",
        String::from_utf8_lossy(&answer)
    );
    drop(held);
}

/// The gateway binary in a process of its own, killed when dropped.
struct Process {
    child: Child,
    address: String,
    /// What it wrote before it said where it listens.
    startup: Vec<String>,
    _state: tempfile::TempDir,
}

/// The open files limit a gateway process starts with.
#[derive(Clone, Copy)]
enum Nofile {
    Inherited,
    /// The soft limit lowered, as many services start: the gateway can raise it again.
    Soft(u64),
    /// Both lowered, as a container runtime or `LimitNOFILE=` can: the gateway cannot.
    Hard(u64),
}

impl Process {
    /// The binary on `toml` (listening on port 0), with the open files limit set to `nofile` first.
    fn start(toml: &str, state: tempfile::TempDir, nofile: Nofile) -> Self {
        let config = state.path().join("gateway.toml");
        std::fs::write(&config, toml).unwrap();
        let binary = env!("CARGO_BIN_EXE_partner-center-gateway");
        let exec = "exec \"$0\" --config \"$1\"";
        let script = match nofile {
            Nofile::Inherited => exec.to_owned(),
            Nofile::Soft(n) => format!("ulimit -Sn {n} && {exec}"),
            Nofile::Hard(n) => format!("ulimit -Sn {n} && ulimit -Hn {n} && {exec}"),
        };
        let mut child = Command::new("sh")
            .args(["-c", &script, binary])
            .arg(&config)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut line = String::new();
            while stdout.read_line(&mut line).unwrap_or(0) > 0 {
                let _ = tx.send(std::mem::take(&mut line));
            }
        });
        let mut startup = Vec::new();
        let address = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("the gateway says where it listens");
            startup.push(line.clone());
            if line.contains("partner-center-gateway listening") {
                break line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("address="))
                    .expect("the line names the address")
                    .to_owned();
            }
        };
        Self {
            child,
            address,
            startup,
            _state: state,
        }
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    fn rss_mib(&self) -> f64 {
        self.status_kib("VmRSS:") as f64 / 1024.0
    }

    fn descriptors(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .count()
    }

    /// The connections the gateway holds on its listening port (its own upstream sockets left out), from the
    /// socket inodes of its descriptors and the kernel's TCP table.
    fn served_connections(&self) -> usize {
        let port = self.address.rsplit(':').next().unwrap();
        let port = format!("{:04X}", port.parse::<u16>().unwrap());
        let mut served = std::collections::HashSet::new();
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            for line in std::fs::read_to_string(table)
                .unwrap_or_default()
                .lines()
                .skip(1)
            {
                let fields: Vec<_> = line.split_whitespace().collect();
                let local_port = fields[1].rsplit(':').next().unwrap();
                // 0A: the listening socket itself.
                if local_port == port && fields[3] != "0A" {
                    served.insert(fields[9].to_owned());
                }
            }
        }
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| {
                let target = target.to_string_lossy();
                target
                    .strip_prefix("socket:[")
                    .and_then(|t| t.strip_suffix(']'))
                    .is_some_and(|inode| served.contains(inode))
            })
            .count()
    }

    fn soft_nofile(&self) -> u64 {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.child.id())).unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap();
        line.split_whitespace().nth(3).unwrap().parse().unwrap()
    }

    /// One request on a connection of its own; the answer's status, or none within `within`.
    fn get(&self, path: &str, key: Option<&str>, within: Duration) -> Option<u16> {
        let mut stream = StdStream::connect(&self.address).ok()?;
        stream.set_read_timeout(Some(within)).unwrap();
        let key = key.map_or(String::new(), |k| format!("X-API-Key: {k}\r\n"));
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: gateway.test\r\n{key}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).ok()?;
        String::from_utf8_lossy(&answer)
            .split(' ')
            .nth(1)?
            .parse()
            .ok()
    }

    /// Polls `condition` every 20 ms until it holds, or fails with `what` at `within`.
    fn wait_until(&self, within: Duration, what: &str, mut condition: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + within;
        while !condition(self) {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sandbox profile on port 0 with `server_keys` in `[server]` and a quota that is not in the way.
fn sandbox_process(server_keys: &str, nofile: Nofile) -> Process {
    let state = tempfile::tempdir().unwrap();
    let toml = with_server_keys(
        &sandbox_profile(&state.path().join("contoso.refresh-token")),
        server_keys,
    )
    .replace("calls = 100\n", "calls = 1000000\n");
    let process = Process::start(&toml, state, nofile);
    // Warmed up, so that what start-up allocates lazily is in the baseline.
    for _ in 0..3 {
        assert_eq!(
            process.get(
                "/v1/customers?Size=500",
                Some(CONTOSO_KEY),
                Duration::from_secs(30)
            ),
            Some(200)
        );
    }
    process
}

/// Peak RSS while `work` runs, sampled every 5 ms.
fn peak_rss_mib<T>(process: &Process, work: impl FnOnce() -> T) -> (T, f64) {
    let pid = process.child.id();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                    let rss = status
                        .lines()
                        .find_map(|l| l.strip_prefix("VmRSS:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                        .unwrap_or(0);
                    peak = peak.max(rss);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            peak as f64 / 1024.0
        })
    };
    let out = work();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    (out, sampler.join().unwrap())
}

/// A connection whose receive buffer is 4 KiB, so that what the gateway sends it backs up at once.
fn small_window_connection(address: &str) -> StdStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let address: std::net::SocketAddr = address.parse().unwrap();
    socket.connect(&address.into()).unwrap();
    socket.into()
}

const CONNECTIONS: usize = 20;

#[test]
fn clients_that_read_none_of_their_pipelined_answers_are_disconnected_within_the_write_budget() {
    let gateway = sandbox_process("write_timeout_ms = 1000", Nofile::Inherited);
    let baseline_rss = gateway.rss_mib();
    // Two pages of 500 customers, then 6 MB of Swagger UI's script (which needs no key): more than the kernel's
    // socket buffers hold (4 MiB at most here), so the gateway's writes back up.
    let request = format!(
        "GET /v1/customers?Size=500 HTTP/1.1\r\nHost: gateway.test\r\nX-API-Key: {CONTOSO_KEY}\r\n\r\n"
    )
    .repeat(2)
        + &"GET /swagger-ui/swagger-ui-bundle.js HTTP/1.1\r\nHost: gateway.test\r\n\r\n".repeat(4);
    let started = Instant::now();
    let ((), peak) = peak_rss_mib(&gateway, || {
        let sockets: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                let mut socket = small_window_connection(&gateway.address);
                socket.write_all(request.as_bytes()).unwrap();
                socket
            })
            .collect();
        gateway.wait_until(
            Duration::from_secs(10),
            "the gateway took the connections",
            |g| g.served_connections() == CONNECTIONS,
        );
        gateway.wait_until(
            Duration::from_secs(15),
            "the gateway let go of the connections that read nothing",
            |g| g.served_connections() == 0,
        );
        drop(sockets);
    });
    let growth = peak - baseline_rss;
    eprintln!(
        "{CONNECTIONS} non-reading connections: RSS {baseline_rss:.1} MiB, peak {peak:.1} MiB, let go after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Each connection holds at most about one answer and hyper's 32 KiB buffers; the largest answer here is
    // Swagger UI's script (1.4 MB; a Size=500 page is 0.2 MB).
    let answer_mib = 1.5;
    assert!(
        growth < CONNECTIONS as f64 * (answer_mib + 0.1) + 16.0,
        "RSS grew {growth:.1} MiB"
    );
    assert_eq!(
        gateway.get("/healthz", None, Duration::from_secs(5)),
        Some(200)
    );
}

#[test]
fn header_floods_cost_at_most_the_header_budget() {
    let gateway = sandbox_process("", Nofile::Inherited);
    let baseline = gateway.rss_mib();
    const SENDERS: usize = 300;
    let ((), peak) = peak_rss_mib(&gateway, || {
        let mut senders: Vec<_> = (0..SENDERS)
            .map(|_| {
                let mut socket = StdStream::connect(&gateway.address).unwrap();
                socket.set_nonblocking(true).unwrap();
                let _ = socket.write(b"GET /healthz HTTP/1.1\r\nHost: gateway.test\r\n");
                socket
            })
            .collect();
        // 380 KB of headers each, never finished: what hyper would buffer whole without the budget.
        let line = format!("X-Padding: {}\r\n", "a".repeat(1000));
        for _ in 0..380 {
            for socket in &mut senders {
                let _ = socket.write(line.as_bytes());
            }
        }
        for socket in &mut senders {
            socket.set_nonblocking(false).unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut answer = Vec::new();
            let _ = socket.read_to_end(&mut answer);
            assert!(
                answer.starts_with(b"HTTP/1.1 431 "),
                "{:?}",
                String::from_utf8_lossy(&answer)
            );
        }
    });
    let growth = peak - baseline;
    eprintln!("{SENDERS} header floods: RSS {baseline:.1} MiB, peak {peak:.1} MiB");
    // 32 KiB read a connection, and hyper's buffer growth, with room for the allocator.
    assert!(
        growth < SENDERS as f64 * 0.064 + 16.0,
        "RSS grew {growth:.1} MiB"
    );
}

#[test]
fn idle_connections_past_the_budget_hold_no_more_descriptors_and_healthz_is_answered() {
    // Started with the soft limit many services get: the gateway raises it to the hard limit.
    let gateway = sandbox_process("max_connections = 100", Nofile::Soft(256));
    let hard = std::fs::read_to_string(format!("/proc/{}/limits", gateway.child.id()))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4).map(str::to_owned))
        .unwrap();
    assert_eq!(
        gateway.soft_nofile().to_string(),
        hard,
        "soft raised to hard"
    );
    let baseline = gateway.descriptors();
    let idle: Vec<_> = (0..600)
        .map(|_| StdStream::connect(&gateway.address).unwrap())
        .collect();
    assert_eq!(
        gateway.get("/healthz", None, Duration::from_secs(5)),
        Some(200),
        "/healthz answered with {} idle connections open",
        idle.len()
    );
    let held = gateway.descriptors() - baseline;
    eprintln!("600 idle connections: the gateway holds {held} more descriptors");
    assert!(held <= 100 + 32 + 1, "{held} descriptors more");
}

#[test]
fn a_connection_budget_past_the_hard_open_files_limit_is_warned_at_start() {
    let state = tempfile::tempdir().unwrap();
    let toml = with_server_keys(
        &sandbox_profile(&state.path().join("contoso.refresh-token")),
        "max_connections = 1024",
    );
    // A hard limit the gateway cannot raise, below the 1,024 connections it is asked to serve.
    let gateway = Process::start(&toml, state, Nofile::Hard(512));
    let warning = gateway
        .startup
        .iter()
        .find(|l| l.contains("needs more file descriptors than the open files limit"))
        .unwrap_or_else(|| panic!("no warning at start: {:#?}", gateway.startup));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("limit=512"), "{warning}");
    let needed: u64 = warning
        .split_whitespace()
        .find_map(|w| w.strip_prefix("needed="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the warning says how many are needed: {warning}"));
    assert!(needed > 1024, "{warning}");
    assert!(
        warning.contains("server.max_connections"),
        "it says what to lower: {warning}"
    );
    assert_eq!(gateway.soft_nofile(), 512);
    // Warned, not refused: the gateway serves within what it has.
    assert_eq!(
        gateway.get("/healthz", None, Duration::from_secs(10)),
        Some(200)
    );
}

#[test]
fn a_100_mb_upstream_answer_is_502_at_once_and_never_held_whole() {
    // The token authority and Partner Center both: a token for any token request, 100 MB of JSON-looking bytes
    // for anything else, with no Content-Length (only reading tells how long it is).
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", upstream.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in upstream.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                if String::from_utf8_lossy(&head).contains("/oauth2/v2.0/token") {
                    let token = r#"{"token_type":"Bearer","expires_in":3599,"access_token":"t"}"#;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{token}",
                        token.len()
                    );
                    return;
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[",
                );
                let chunk = vec![b' '; 64 * 1024];
                for _ in 0..(100 * 1024 * 1024 / chunk.len()) {
                    if stream.write_all(&chunk).is_err() {
                        return;
                    }
                }
                let _ = stream.write_all(b"]");
            });
        }
    });
    let state = tempfile::tempdir().unwrap();
    let toml = real_profile(&url, &url, &state.path().join("rt"), "");
    let gateway = Process::start(&toml, state, Nofile::Inherited);
    assert_eq!(
        gateway.get("/healthz", None, Duration::from_secs(5)),
        Some(200)
    );
    let baseline = gateway.rss_mib();
    let started = Instant::now();
    let (status, peak) = peak_rss_mib(&gateway, || {
        let mut stream = StdStream::connect(&gateway.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "GET /v1/customers/{SEED_CUSTOMER} HTTP/1.1\r\nHost: gateway.test\r\nX-API-Key: app-key\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        parse_answer(&answer)
    });
    let elapsed = started.elapsed();
    eprintln!(
        "100 MB upstream answer: {} after {:.2} s, RSS {baseline:.1} MiB, peak {peak:.1} MiB",
        status.0,
        elapsed.as_secs_f64()
    );
    assert_eq!(status.0, 502, "{}", status.1);
    assert_eq!(status.2["code"], "UpstreamAnswerTooLarge");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    // The default cap is 8 MiB; what was read is held once, with room for the allocator.
    assert!(
        peak - baseline < 32.0,
        "RSS grew {:.1} MiB",
        peak - baseline
    );
}

#[tokio::test]
async fn a_token_authority_that_never_stops_answering_is_502_at_once() {
    // Answers every request with a body that never ends: without a cap, the gateway would read until its
    // upstream timeout, holding all of it.
    let authority = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", authority.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in authority.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut byte = [0u8; 1];
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"access_token\":\"",
                );
                let chunk = vec![b'a'; 64 * 1024];
                while stream.write_all(&chunk).is_ok() {}
            });
        }
    });
    let (app, _state) = gateway_on(&url, &url, "timeout_ms = 20000").await;
    let started = Instant::now();
    let response = app
        .get("app-key", &format!("/v1/customers/{SEED_CUSTOMER}"))
        .await;
    assert_eq!(response.status(), 502);
    assert_eq!(json(response).await["statusCode"], 502);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refused after {:?}, not at once",
        started.elapsed()
    );
}
