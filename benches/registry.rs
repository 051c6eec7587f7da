//! Start-up and API-key lookup at 100,000 connections.
//!
//! Run: `cargo bench --bench registry`. Prints figures; asserts nothing. For each shape of configuration it
//! generates the TOML, then times what start-up does with it: parsing and checking it (`Settings::from_toml`) and
//! building the registry (`startup::registry`: every connection's secrets and refresh token file read, its keys
//! registered, the quotas set up). Then the cost of one lookup (SHA-256 of the presented key and a map probe) for
//! a key that opens a connection, one that opens nothing, and one that has expired, at 100,000 connections and at
//! 10, next to the whole-registry scan that lookups were before.
//!
//! `cargo bench --bench registry -- --write-config FILE [--connections N]` writes instead the sandbox profile of
//! 100,000 (or N) such connections, listening on 127.0.0.1:18080, for timing the real binary (keys
//! `pcgw_bench_<i>`, `i` from 0), and the secret file it names beside it.

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use partner_center_gateway::clock::Clock;
use partner_center_gateway::config::Settings;
use partner_center_gateway::connection::{Lookup, Registry, hash_api_key};
use partner_center_gateway::startup;
use sha2::{Digest, Sha256};

/// The binary's allocator, so that start-up costs what it costs the gateway, counting live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn mib(bytes: isize) -> f64 {
    bytes as f64 / 1_048_576.0
}

const CONNECTIONS: usize = 100_000;
const TENANT: &str = "8f5c9f0a-3f6e-4a4e-9d3b-5d3c2b1a0e9f";
const CLIENT: &str = "5b1e0c33-7d1f-4d8e-a1c4-0f6f3b2a9e11";

#[derive(Clone, Copy)]
enum Shape {
    /// Every connection app-only on one application: the client secret in one file they all name.
    AppOnly,
    /// Every connection App+User, each with a refresh token file of its own (the worst case for start-up).
    AppUser,
}

fn key(i: usize) -> String {
    format!("pcgw_bench_{i}")
}

/// `n` connections: every tenth also lists an older key that expired in 2020, and has a quota of its own.
fn config(n: usize, shape: Shape, dir: &Path) -> String {
    let secret = dir.join("client-secret");
    std::fs::write(&secret, "sandbox-demo-client-secret").unwrap();
    let mut toml = String::from(
        "[server]\nlisten = \"127.0.0.1:18080\"\n\n[quota]\ncalls = 100\nperiod_secs = 60\n",
    );
    for i in 0..n {
        toml.push_str(&format!(
            "\n[[connections]]\nid = \"maker-{i:06}\"\napi_key_sha256 = \"{}\"\n",
            hash_api_key(&key(i))
        ));
        if i % 10 == 0 {
            toml.push_str(&format!(
                "api_keys = [{{ sha256 = \"{}\", expires = \"2020-01-01\" }}]\nquota = {{ calls = 200, period_secs = 60 }}\n",
                hash_api_key(&format!("{}-old", key(i)))
            ));
        }
        match shape {
            Shape::AppOnly => toml.push_str(&format!(
                "[connections.credentials]\nkind = \"app_only\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT}\"\nclient_secret_file = \"{}\"\n",
                secret.display()
            )),
            Shape::AppUser => {
                let file = dir.join(format!("maker-{i:06}.refresh-token"));
                std::fs::write(&file, format!("refresh-token-{i}")).unwrap();
                toml.push_str(&format!(
                    "[connections.credentials]\nkind = \"app_user\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT}\"\nrefresh_token_file = \"{}\"\n",
                    file.display()
                ));
            }
        }
    }
    toml
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nanoseconds per call of `f` over `keys`, taken round and round `rounds` times.
fn per_call(keys: &[Vec<u8>], rounds: usize, mut f: impl FnMut(&[u8])) -> f64 {
    let started = Instant::now();
    for _ in 0..rounds {
        for key in keys {
            f(key);
        }
    }
    started.elapsed().as_nanos() as f64 / (rounds * keys.len()) as f64
}

fn lookups(registry: &Registry, n: usize) {
    let now = Clock::real().now_utc();
    let sample = 10_000.min(n);
    let hits: Vec<Vec<u8>> = (0..sample)
        .map(|i| key(i * n / sample).into_bytes())
        .collect();
    let misses: Vec<Vec<u8>> = (0..sample)
        .map(|i| format!("pcgw_unknown_{i}").into_bytes())
        .collect();
    let expired: Vec<Vec<u8>> = (0..sample)
        .map(|i| format!("{}-old", key((i * n / sample) / 10 * 10)).into_bytes())
        .collect();
    assert!(matches!(
        registry.by_api_key(&hits[1], now),
        Lookup::Valid(_)
    ));
    assert!(matches!(
        registry.by_api_key(&misses[0], now),
        Lookup::Unknown
    ));
    assert!(matches!(
        registry.by_api_key(&expired[1], now),
        Lookup::Expired { .. }
    ));
    let rounds = 100;
    let lookup = |keys: &[Vec<u8>]| {
        per_call(keys, rounds, |k| {
            black_box(registry.by_api_key(black_box(k), now));
        })
    };
    let (hit, miss, expired) = (lookup(&hits), lookup(&misses), lookup(&expired));
    let sha = per_call(&hits, rounds, |k| {
        black_box(Sha256::digest(black_box(k)));
    });
    println!(
        "  lookup at {n:>7} connections: hit {hit:>5.0} ns   miss {miss:>5.0} ns   expired {expired:>5.0} ns   (of which SHA-256 {sha:.0} ns)"
    );
}

/// What every lookup did before, as it was written: the presented key's hash compared with every registered
/// hash, in constant time and without stopping at a match.
fn scan(n: usize) {
    use subtle::{ConditionallySelectable, ConstantTimeEq};
    let hashes: Vec<[u8; 32]> = (0..n)
        .map(|i| Sha256::digest(key(i).as_bytes()).into())
        .collect();
    let misses: Vec<Vec<u8>> = (0..100)
        .map(|i| format!("pcgw_unknown_{i}").into_bytes())
        .collect();
    let cost = per_call(&misses, 3, |k| {
        let presented: [u8; 32] = Sha256::digest(k).into();
        let mut found = u64::MAX;
        for (i, hash) in hashes.iter().enumerate() {
            found.conditional_assign(&(i as u64), hash.ct_eq(&presented));
        }
        black_box(found);
    });
    println!(
        "  the former scan at {n:>7} connections: {:>9.0} ns a lookup ({:.0} lookups/s on one core)",
        cost,
        1e9 / cost
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--write-config") {
        let file = Path::new(args.get(i + 1).expect("--write-config FILE"));
        let n = match args.iter().position(|a| a == "--connections") {
            Some(i) => args[i + 1].parse().expect("--connections N"),
            None => CONNECTIONS,
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(file, config(n, Shape::AppOnly, dir)).unwrap();
        println!(
            "wrote {} ({n} connections, keys pcgw_bench_0 ...)",
            file.display()
        );
        return;
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this too, and a 100,000-connection
    // measurement in a debug build is neither a test nor a figure worth printing.
    if !args.iter().any(|arg| arg == "--bench") {
        println!("registry: a measurement; run it with `cargo bench --bench registry`");
        return;
    }
    let clock = Clock::real();
    for (label, shape) in [
        ("app-only, one shared secret file", Shape::AppOnly),
        ("App+User, a refresh token file each", Shape::AppUser),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let toml = config(CONNECTIONS, shape, dir.path());
        println!(
            "{CONNECTIONS} connections, {label} ({:.1} MB of TOML; every tenth with an expired key and a quota of its own)",
            toml.len() as f64 / 1e6
        );
        // Three rounds: on a shared machine one round alone can be far off, and the spread says how far.
        let mut registry = None;
        for round in 1..=3 {
            drop(registry.take());
            let before = LIVE.load(Ordering::Relaxed);
            let started = Instant::now();
            let settings = Settings::from_toml(&toml).unwrap();
            let parsed = started.elapsed();
            let started = Instant::now();
            let built = startup::registry(&settings, &clock).unwrap();
            let build = started.elapsed();
            drop(settings);
            println!(
                "  start-up, round {round}: parse and check {:>6.0} ms   build the registry {:>6.0} ms   total {:>6.0} ms   \
                 registry heap {:>5.1} MiB",
                ms(parsed),
                ms(build),
                ms(parsed + build),
                mib(LIVE.load(Ordering::Relaxed) - before)
            );
            registry = Some(built);
        }
        let registry = registry.unwrap();
        if let Shape::AppOnly = shape {
            lookups(&registry, CONNECTIONS);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let small = Settings::from_toml(&config(10, Shape::AppOnly, dir.path())).unwrap();
    lookups(&startup::registry(&small, &clock).unwrap(), 10);
    scan(CONNECTIONS);
    scan(10);
}
