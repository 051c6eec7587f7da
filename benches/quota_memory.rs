//! Memory and speed of the per-connection quota at a million connections.
//!
//! Run: `cargo bench --bench quota_memory`. Prints figures; asserts nothing (the targets are read, not timed).
//! Memory is counted by a global allocator that tallies live heap bytes, so the figure is what the quota store
//! itself holds, not what the process happens to have mapped.

use std::alloc::{GlobalAlloc, Layout, System};
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use partner_center_gateway::clock::Clock;
use partner_center_gateway::domain::{BearerIdentity, ConnectionId};
use partner_center_gateway::quota::{QuotaLimit, QuotaOptions, Quotas};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// A connection ID as bearer pass-through makes them: `user:<tid>:<oid>`, 78 characters.
fn connection(round: u32, i: u32) -> ConnectionId {
    let tenant = uuid::Uuid::parse_str("8f5c9f0a-3f6e-4a4e-9d3b-5d3c2b1a0e9f").unwrap();
    let object =
        uuid::Uuid::parse_str(&format!("{round:08x}-{:04x}-4000-8000-{:012x}", i >> 16, i))
            .unwrap();
    ConnectionId::bearer(BearerIdentity::User, tenant, object)
}

const KEYS: u32 = 1_000_000;

fn settings(max_tracked: usize) -> QuotaOptions {
    QuotaOptions {
        limit: QuotaLimit::new(
            NonZeroU32::new(100).unwrap(),
            NonZeroU64::new(60).unwrap(),
            false,
        )
        .unwrap(),
        max_tracked_connections: NonZeroUsize::new(max_tracked).unwrap(),
        evict_interval_secs: NonZeroU64::new(60).unwrap(),
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this too, and a million-key measurement in a
    // debug build is neither a test nor a figure worth printing.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("quota_memory: a measurement; run it with `cargo bench --bench quota_memory`");
        return;
    }
    println!("quota store at {KEYS} connections (100 calls / 60 s, one call each)");
    let clock = Clock::manual();
    // Room for every key, so the figure is the cost of tracking, not of the cap.
    let quotas = Quotas::new(&settings(2 * KEYS as usize), [], &clock);
    let empty = live();
    let started = Instant::now();
    for i in 0..KEYS {
        quotas.admit(&connection(0, i)).unwrap();
    }
    let insert = started.elapsed();
    let full = live() - empty;
    println!(
        "  tracked {:>9}   heap {:>6.1} MiB   {:>5.1} bytes per tracked connection   first call {:>4.0} ns",
        quotas.tracked(),
        full as f64 / 1_048_576.0,
        full as f64 / quotas.tracked() as f64,
        insert.as_nanos() as f64 / f64::from(KEYS)
    );

    let started = Instant::now();
    for i in 0..KEYS {
        let _ = quotas.admit(&connection(0, i));
    }
    println!(
        "  repeat call on a tracked connection: {:.0} ns",
        started.elapsed().as_nanos() as f64 / f64::from(KEYS)
    );

    println!(
        "churn: each round, {KEYS} new connections, then a minute passes and idle ones are evicted"
    );
    // The million above go idle first, so that every round starts from the same empty store.
    clock.advance(Duration::from_secs(61));
    quotas.evict_idle();
    for round in 1..=3 {
        for i in 0..KEYS {
            quotas.admit(&connection(round, i)).unwrap();
        }
        let peak = live() - empty;
        clock.advance(Duration::from_secs(61));
        quotas.evict_idle();
        println!(
            "  round {round}: peak heap {:>6.1} MiB, after eviction {:>6.2} MiB, tracked {}",
            peak as f64 / 1_048_576.0,
            (live() - empty) as f64 / 1_048_576.0,
            quotas.tracked()
        );
    }

    let cap = 100_000;
    let clock = Clock::manual();
    let capped = Quotas::new(&settings(cap), [], &clock);
    let empty = live();
    for i in 0..KEYS {
        capped.admit(&connection(9, i)).unwrap();
    }
    println!(
        "cap {cap}: {KEYS} active connections → tracked {}, heap {:.1} MiB, {} forced evictions",
        capped.tracked(),
        (live() - empty) as f64 / 1_048_576.0,
        capped.forced_evictions()
    );
}
