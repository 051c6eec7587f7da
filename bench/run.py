#!/usr/bin/env python3
"""Side-by-side load test of the gateway and an nginx peer on loopback; `bash bench/run` calls it.

Standard library only. Starts an nginx stub (Partner Center, its token endpoint and a JWKS), the nginx peer and
the gateway against that stub, drives each with the same wrk load, and prints one table. See bench/README.md.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
GATEWAY = ROOT / "target/release/partner-center-gateway"
FIXTURES = ROOT / "target/release/examples/bench_fixtures"
FLOOR = ROOT / "target/release/examples/bench_floor"
CUSTOMER = "/v1/customers/c501c3c4-d776-40ef-9ecf-9cefb59442c1"
TICK = os.sysconf("SC_CLK_TCK")
MAKERS = 10_000


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes


def children(pid):
    """`pid` and every process whose parent it is (nginx's master and its workers)."""
    out = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def status_kb(pids, field):
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class Server:
    """A process we started; its CPU and memory read from /proc (nginx: the master and its workers, summed)."""

    def __init__(self, name, argv, env=None, log_file=None):
        self.name = name
        self.started = time.monotonic()
        out = open(log_file, "wb") if log_file else subprocess.DEVNULL
        self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    def pids(self):
        return children(self.proc.pid)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def get(port, path, headers=None, timeout=2.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def wait_until(server, check, timeout=60.0):
    """Seconds from the process's start until `check()` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            return None
        try:
            if check():
                return time.monotonic() - server.started
        except OSError:
            pass
        time.sleep(0.002)
    return None


def listening(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# ---------------------------------------------------------------- load


def wrk(args, port, mode, conns, seconds, seq=False):
    env = dict(os.environ, MODE=mode, CONNS=str(conns), THREADS=str(args.threads),
               TOKENS=str(args.run / "tokens.txt"), SEQ="1" if seq else "0")
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "5s",
            "-s", str(BENCH / "load.lua"), f"http://127.0.0.1:{port}/"]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    line = [l for l in out.splitlines() if l.startswith("{")][-1]
    return json.loads(line)


def measure(args, server, port, mode, conns):
    """Warm-up (every credential once, then a short random run), then the measured run."""
    # wrk runs for its whole duration even once every thread has stopped, so the warm-up's is sized to what
    # it has to send (at 100,000 connections a token fetch each), not fixed.
    wrk(args, port, mode, conns, 1 + conns // 5000, seq=True)
    if args.warmup > 0:
        wrk(args, port, mode, conns, args.warmup)
    pids = server.pids()
    cpu0 = cpu_seconds(pids)
    r = wrk(args, port, mode, conns, args.duration)
    cpu = cpu_seconds(pids) - cpu0
    seconds = r["duration_us"] / 1e6
    return {
        "rate": r["requests"] / seconds,
        "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000, "p999_ms": r["p999_us"] / 1000,
        "cpu_per_10k": cpu / r["requests"] * 10_000 if r["requests"] else float("nan"),
        "rss_mb": status_kb(pids, "VmHWM") / 1024,
        "non2xx": r["non2xx"] / max(r["requests"], 1),
        "socket_errors": r["socket_errors"],
    }


# ---------------------------------------------------------------- the two servers


def fill(template, args, out):
    text = (BENCH / template).read_text()
    for key, value in {"@RUN@": str(args.run), "@STUB_PORT@": str(args.port),
                       "@PEER_QUOTA_PORT@": str(args.port + 1), "@PEER_PORT@": str(args.port + 2)}.items():
        text = text.replace(key, value)
    out.write_text(text)
    return out


def start_nginx(args, conf, name, port):
    server = Server(name, ["nginx", "-p", str(args.run), "-c", str(conf)])
    if wait_until(server, lambda: listening(port), 10) is None:
        sys.exit(f"{name} did not start: see {args.run}/*-error.log")
    return server


def start_gateway(args, config, check_key="bench-key-0", timeout=60.0, baseline=False):
    """The gateway on `config` (the --baseline build and its environment when `baseline`); (server, seconds to
    the first answered proxied call) or (None, why not)."""
    env = dict(os.environ, RUST_LOG=args.rust_log)
    binary = GATEWAY
    if baseline:
        binary = args.baseline
        env.update(v.split("=", 1) for v in args.baseline_env)
    logfile = args.run / f"gateway-{config.stem}.log"
    server = Server("gateway", [str(binary), "--config", str(config)], env=env, log_file=logfile)
    first = wait_until(server, lambda: get(args.port + 3, CUSTOMER, {"X-API-Key": check_key}, 5) == 200,
                       timeout)
    if first is None:
        server.stop()
        tail = logfile.read_text(errors="replace").strip().splitlines()[-3:]
        return None, " / ".join(tail) or "no answer"
    return server, first


def start_floor(args, mode):
    """examples/bench_floor in `mode` on the gateway's port: the chosen stack with nothing of the gateway."""
    server = Server(f"floor-{mode}", [str(FLOOR), mode, f"127.0.0.1:{args.port + 3}",
                                      f"http://127.0.0.1:{args.port}"])
    if wait_until(server, lambda: listening(args.port + 3), 10) is None:
        sys.exit(f"bench_floor {mode} did not start")
    return server


# ---------------------------------------------------------------- scenarios

# (name, what, load mode, credentials, gateway config, nginx port offset from the stub's)
SCENARIOS = {
    "proxied-10": ("proxied, warm tokens, 10 connections", "keys", 10, "gw-10", 2),
    "proxied-1000": ("proxied, warm tokens, 1,000 connections", "keys", 1_000, "gw-1000", 2),
    "proxied-100000": ("proxied, warm tokens, 100,000 connections", "keys", 100_000, "gw-100000", 2),
    "over-quota": ("over quota (429), 10 connections", "keys", 10, "gw-quota", 1),
    "bearer-10000": ("bearer pass-through, 10,000 makers", "bearer", MAKERS, "gw-10", 2),
}

# With --floor, the floors measured in a scenario's rounds beside the gateway and nginx (examples/bench_floor):
# (target, bench_floor's mode, the table's label).
FLOORS = {
    "proxied-10": [("floor-hyper", "hyper", "floor: hyper server, hyper's client"),
                   ("floor-reqwest", "reqwest", "floor: hyper server, reqwest")],
    "over-quota": [("floor-deny", "deny", "floor: hyper server, a static 429")],
}


def fixtures(args):
    stub = f"http://127.0.0.1:{args.port}"
    listen = f"127.0.0.1:{args.port + 3}"

    def config(name, n, *extra):
        path = args.run / f"{name}.toml"
        subprocess.run([str(FIXTURES), "config", str(path), "--stub", stub, "--listen", listen,
                        "--connections", str(n), *extra], check=True)

    for n in (10, 1_000, 100_000):
        config(f"gw-{n}", n)
    config("gw-quota", 10, "--calls", "100", "--period-secs", "60")
    config("gw-redis", 1_000, "--extra-quota",
           f'backend = "redis"\n\n[redis]\nurl = "redis://127.0.0.1:{args.port + 4}"\n')
    # Signing 10,000 tokens takes seconds; they are valid for a day, so a run within 12 hours reuses them.
    tokens = args.run / "tokens.txt"
    stamp = args.run / "tokens.stub"
    fresh = (tokens.exists() and stamp.exists() and stamp.read_text() == stub
             and time.time() - tokens.stat().st_mtime < 12 * 3600)
    if not fresh:
        subprocess.run([str(FIXTURES), "tokens", str(args.run), "--stub", stub, "--makers", str(MAKERS)],
                       check=True)
        stamp.write_text(stub)


def side_by_side(args, results):
    peer_conf = fill("nginx-peer.conf", args, args.run / "nginx-peer.conf")
    names = [s for s in SCENARIOS if s in args.only]
    for round_ in range(1, args.rounds + 1):
        for name in names:
            what, mode, conns, config, offset = SCENARIOS[name]
            order = ["gateway", "nginx"] if (round_ + names.index(name)) % 2 else ["nginx", "gateway"]
            if args.baseline:
                order.insert(1, "baseline")
            if args.floor:
                # First in one round, last in the next, as gateway and nginx alternate, so that a drift over a
                # round (nginx's calls/s vary the most) does not always fall on the floor's side.
                floors = [target for target, _, _ in FLOORS.get(name, [])]
                order = floors + order if round_ % 2 == 0 else order + floors
            for target in order:
                floor = next((mode for t, mode, _ in FLOORS.get(name, []) if t == target), None)
                if floor:
                    server = start_floor(args, floor)
                    port = args.port + 3
                elif target == "nginx":
                    server = start_nginx(args, peer_conf, "nginx", args.port + offset)
                    port = args.port + offset
                else:
                    server, why = start_gateway(args, args.run / f"{config}.toml", baseline=target == "baseline")
                    if server is None:
                        sys.exit(f"the gateway did not start on {config}.toml: {why}")
                    port = args.port + 3
                try:
                    figures = measure(args, server, port, mode, conns)
                finally:
                    server.stop()
                results.setdefault(name, {}).setdefault(target, []).append(figures)
                log(f"round {round_} {name:>15} {target:>13}: {figures['rate']:9.0f} calls/s  "
                    f"p99 {figures['p99_ms']:6.2f} ms  non-2xx {figures['non2xx']:.0%}")


def redis_scenario(args, results):
    """The Redis quota backend against the memory one, gateway against gateway, at 1,000 connections."""
    if shutil.which("redis-server") is None:
        results["redis"] = {"skipped": "no redis-server on PATH (apt-get install redis-server)"}
        return
    redis = Server("redis", ["redis-server", "--port", str(args.port + 4), "--save", "", "--appendonly", "no"])
    try:
        if wait_until(redis, lambda: listening(args.port + 4), 10) is None:
            results["redis"] = {"skipped": "redis-server did not start"}
            return
        server, why = start_gateway(args, args.run / "gw-redis.toml", timeout=15)
        if server is None:
            results["redis"] = {"skipped": f"this gateway does not run quota.backend = \"redis\": {why}"}
            return
        server.stop()
        for round_ in range(1, args.rounds + 1):
            for backend, config in (("memory", "gw-1000"), ("redis", "gw-redis")):
                server, why = start_gateway(args, args.run / f"{config}.toml")
                try:
                    figures = measure(args, server, args.port + 3, "keys", 1_000)
                finally:
                    server.stop()
                results.setdefault("redis", {}).setdefault(backend, []).append(figures)
                log(f"round {round_} redis-vs-memory {backend:>7}: {figures['rate']:9.0f} calls/s")
    finally:
        redis.stop()


def startup_scenario(args, results):
    """Start-up to the first answered proxied call (token fetch included), and the idle RSS after it."""
    for round_ in range(1, args.rounds + 1):
        for config in ("gw-10", "gw-100000"):
            server, first = start_gateway(args, args.run / f"{config}.toml")
            if server is None:
                sys.exit(f"the gateway did not start on {config}.toml: {first}")
            time.sleep(1.0)
            rss = status_kb(server.pids(), "VmRSS") / 1024
            server.stop()
            results.setdefault("startup", {}).setdefault(config, []).append({"first_ms": first * 1000,
                                                                             "idle_rss_mb": rss})
            log(f"round {round_} start-up {config}: first call {first * 1000:.0f} ms, idle RSS {rss:.1f} MB")
        peer_conf = args.run / "nginx-peer.conf"
        nginx = start_nginx(args, peer_conf, "nginx", args.port + 2)
        first = wait_until(nginx, lambda: get(args.port + 2, CUSTOMER, {"X-API-Key": "bench-key-0"}) == 200)
        time.sleep(1.0)
        rss = status_kb(nginx.pids(), "VmRSS") / 1024
        nginx.stop()
        results["startup"].setdefault("nginx", []).append({"first_ms": first * 1000, "idle_rss_mb": rss})


def memory_scenario(args, results):
    """The quota store's heap per tracked connection at 1,000,000 (cargo bench --bench quota_memory)."""
    out = subprocess.run(["cargo", "bench", "--locked", "--bench", "quota_memory"], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        results["memory"] = {"skipped": out.stderr.strip().splitlines()[-1]}
        return
    text = out.stdout
    results["memory"] = {"output": text}
    m = re.search(r"([\d.]+) bytes (?:per|a|each)", text)
    if m:
        results["memory"]["bytes_per_connection"] = float(m.group(1))


# ---------------------------------------------------------------- report


def med(rows, key):
    values = [r[key] for r in rows]
    return statistics.median(values), min(values), max(values)


def fmt(rows, key, digits):
    m, lo, hi = med(rows, key)
    if len(rows) == 1:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def table(args, results):
    lines = []
    cols = [("calls/s", "rate", 0), ("p50 ms", "p50_ms", 2), ("p99 ms", "p99_ms", 2), ("p99.9 ms", "p999_ms", 2),
            ("CPU s / 10k calls", "cpu_per_10k", 3), ("peak RSS MB", "rss_mb", 1)]
    lines.append(f"Rounds: {args.rounds}, wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
                 "medians (min–max); ratio = gateway / nginx of the medians (a latency, CPU or RSS ratio < 1 "
                 "is the gateway's better).")
    lines.append("")
    lines.append("| scenario | server | " + " | ".join(c[0] for c in cols) + " | non-2xx |")
    lines.append("|---|---|" + "---|" * len(cols) + "---|")
    for name in [s for s in SCENARIOS if s in results]:
        per = results[name]
        for target in ("gateway", "nginx"):
            rows = per[target]
            cells = [fmt(rows, key, d) for _, key, d in cols]
            lines.append(f"| {SCENARIOS[name][0]} | {target} | " + " | ".join(cells)
                         + f" | {med(rows, 'non2xx')[0]:.0%} |")
        ratio = [med(per["gateway"], key)[0] / med(per["nginx"], key)[0] if med(per["nginx"], key)[0] else
                 float("nan") for _, key, _ in cols]
        lines.append("| | **gateway / nginx** | " + " | ".join(f"**{r:.2f}×**" for r in ratio) + " | |")
        if "baseline" in per:
            rows = per["baseline"]
            lines.append(f"| | baseline | " + " | ".join(fmt(rows, key, d) for _, key, d in cols)
                         + f" | {med(rows, 'non2xx')[0]:.0%} |")
            ratio = [med(per["gateway"], key)[0] / med(rows, key)[0] for _, key, _ in cols]
            lines.append("| | gateway / baseline | " + " | ".join(f"{r:.2f}×" for r in ratio) + " | |")
        for target, _, label in FLOORS.get(name, []):
            if target in per:
                rows = per[target]
                lines.append(f"| | {label} | " + " | ".join(fmt(rows, key, d) for _, key, d in cols)
                             + f" | {med(rows, 'non2xx')[0]:.0%} |")
                ratio = [med(rows, key)[0] / med(per["nginx"], key)[0] for _, key, _ in cols]
                lines.append("| | floor / nginx | " + " | ".join(f"{r:.2f}×" for r in ratio) + " | |")
    if "redis" in results:
        r = results["redis"]
        lines.append("")
        if "skipped" in r:
            lines.append(f"Redis backend against memory: skipped ({r['skipped']}).")
        else:
            m, rd = med(r["memory"], "rate")[0], med(r["redis"], "rate")[0]
            lines.append(f"Redis backend against memory, gateway at 1,000 connections: memory {fmt(r['memory'], 'rate', 0)}"
                         f" calls/s p99 {fmt(r['memory'], 'p99_ms', 2)} ms, redis {fmt(r['redis'], 'rate', 0)} calls/s"
                         f" p99 {fmt(r['redis'], 'p99_ms', 2)} ms: **{rd / m:.2f}×**.")
    if "startup" in results:
        s = results["startup"]
        lines.append("")
        lines.append("| start-up | first answered proxied call, ms | idle RSS MB |")
        lines.append("|---|---|---|")
        for key, label in (("gw-10", "gateway, 10 connections"), ("gw-100000", "gateway, 100,000 connections"),
                           ("nginx", "nginx peer")):
            if key in s:
                lines.append(f"| {label} | {fmt(s[key], 'first_ms', 0)} | {fmt(s[key], 'idle_rss_mb', 1)} |")
    if "startup" in results and "gw-10" in results["startup"] and "gw-100000" in results["startup"]:
        small, large = (med(results["startup"][k], "idle_rss_mb")[0] for k in ("gw-10", "gw-100000"))
        lines.append("")
        lines.append(f"Gateway process memory per registered connection (idle RSS after the first call, 100,000 "
                     f"against 10 connections): {(large - small) * 1024 * 1024 / 99_990:.0f} bytes.")
    if "memory" in results:
        m = results["memory"]
        lines.append("")
        if "bytes_per_connection" in m:
            lines.append(f"Quota store heap per tracked connection at 1,000,000 (cargo bench --bench quota_memory): "
                         f"**{m['bytes_per_connection']:.1f} bytes**.")
        else:
            lines.append(f"Quota store memory: {m.get('skipped', 'see results.json')}")
    return "\n".join(lines)


def targets(results):
    """The issue's targets, read from the figures."""
    out = []

    def ratio(name, key):
        return med(results[name]["gateway"], key)[0] / med(results[name]["nginx"], key)[0]

    for name in ("proxied-10", "proxied-1000", "proxied-100000"):
        if name in results:
            r, p = ratio(name, "rate"), ratio(name, "p99_ms")
            out.append(f"- {name}: {r:.2f}× nginx's calls/s (target ≥ 1.0), p99 {p:.2f}× nginx's (target ≤ 1.0): "
                       f"{'met' if r >= 1 and p <= 1 else 'not met'}")
    if "proxied-10" in results and "proxied-100000" in results:
        g = med(results["proxied-100000"]["gateway"], "rate")[0] / med(results["proxied-10"]["gateway"], "rate")[0]
        out.append(f"- 100,000 against 10 connections: {g:.2f}× (target ≥ 0.9): {'met' if g >= 0.9 else 'not met'}")
    if "over-quota" in results:
        r = ratio("over-quota", "rate")
        out.append(f"- 429s: {r:.2f}× nginx's (target ≥ 1.0): {'met' if r >= 1 else 'not met'}")
    if "bearer-10000" in results and "proxied-10" in results:
        b = med(results["bearer-10000"]["gateway"], "rate")[0] / med(results["proxied-10"]["gateway"], "rate")[0]
        out.append(f"- bearer at 10,000 makers: {b:.2f}× the gateway's proxied rate (target ≥ 0.9): "
                   f"{'met' if b >= 0.9 else 'not met'}")
    if "redis" in results and "skipped" not in results["redis"]:
        r = med(results["redis"]["redis"], "rate")[0] / med(results["redis"]["memory"], "rate")[0]
        out.append(f"- redis backend: {r:.2f}× memory (target ≥ 0.7): {'met' if r >= 0.7 else 'not met'}")
    if "memory" in results and "bytes_per_connection" in results["memory"]:
        b = results["memory"]["bytes_per_connection"]
        out.append(f"- quota store: {b:.1f} bytes per tracked connection (target ≤ 128): {'met' if b <= 128 else 'not met'}")
    if "startup" in results and "gw-10" in results["startup"]:
        rss, first = med(results["startup"]["gw-10"], "idle_rss_mb")[0], med(results["startup"]["gw-10"], "first_ms")[0]
        out.append(f"- idle RSS {rss:.1f} MB (target < 30), first call {first:.0f} ms after start (target < 100): "
                   f"{'met' if rss < 30 and first < 100 else 'not met'}")
    return "\n".join(out)


def plot(args, results, png):
    """Throughput and p99 against the number of connections, gateway and nginx, with gnuplot."""
    points = [(n, int(name.split("-")[1])) for name in results for n in [name] if name.startswith("proxied-")]
    if len(points) < 2 or shutil.which("gnuplot") is None:
        log("plot: skipped (needs gnuplot and at least two connection counts)")
        return
    data = args.run / "plot.dat"
    with data.open("w") as f:
        f.write("# connections gw_rate nginx_rate gw_p99 nginx_p99\n")
        for name, n in sorted(points, key=lambda p: p[1]):
            g, x = results[name]["gateway"], results[name]["nginx"]
            f.write(f"{n} {med(g, 'rate')[0]:.0f} {med(x, 'rate')[0]:.0f} {med(g, 'p99_ms')[0]:.3f} "
                    f"{med(x, 'p99_ms')[0]:.3f}\n")
    script = f"""
set terminal pngcairo size 1000,420 font ',10'
set output '{png}'
set multiplot layout 1,2 title 'partner-center-gateway vs nginx peer: wrk -t{args.threads} -c{args.connections}, median of {args.rounds} rounds'
set logscale x
set xlabel 'registered connections (API keys)'
set key bottom left
set grid
set yrange [0:*]
set ylabel 'calls/s'
set title 'throughput'
plot '{data}' using 1:2 with linespoints lw 2 pt 7 title 'gateway', '' using 1:3 with linespoints lw 2 pt 5 title 'nginx'
set ylabel 'p99 latency, ms'
set title 'p99'
set key top left
plot '{data}' using 1:4 with linespoints lw 2 pt 7 title 'gateway', '' using 1:5 with linespoints lw 2 pt 5 title 'nginx'
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    log(f"plot: {png}")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--duration", type=int, default=6, help="seconds of each measured wrk run (default 6)")
    p.add_argument("--warmup", type=int, default=1, help="seconds of random load before each (default 1)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    p.add_argument("--quick", action="store_true", help="a smoke run: one round of 2 s, no warm-up run")
    p.add_argument("--only", default=",".join([*SCENARIOS, "redis", "startup", "memory"]),
                   help="comma-separated scenarios (default all): " + ", ".join([*SCENARIOS, "redis", "startup", "memory"]))
    p.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "18190")),
                   help="first of five loopback ports (stub, peer 429, peer, gateway, redis); default 18190")
    p.add_argument("--out", type=Path, default=ROOT / "target/bench", help="results, plot and logs (default target/bench)")
    p.add_argument("--baseline", type=Path,
                   help="another gateway binary run in the same rounds (before/after figures of a change)")
    p.add_argument("--baseline-env", action="append", default=[], metavar="NAME=VALUE",
                   help="environment for the baseline only (e.g. TOKIO_WORKER_THREADS=1); repeatable")
    p.add_argument("--floor", action="store_true",
                   help="also measure the chosen stack's floor (examples/bench_floor) in proxied-10 and over-quota")
    p.add_argument("--rust-log", default="warn",
                   help="the gateway's RUST_LOG (default warn: no line per call, as the peer has access_log off)")
    args = p.parse_args()
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 2, 0
    args.only = set(args.only.split(","))
    if args.baseline_env and not args.baseline:
        args.baseline = GATEWAY
    args.run = (args.out / "run").resolve()
    args.run.mkdir(parents=True, exist_ok=True)
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: run bash bench/run, which installs it")
    started = time.monotonic()
    log("fixtures ...")
    fixtures(args)
    results = {}
    stub = start_nginx(args, fill("nginx-stub.conf", args, args.run / "nginx-stub.conf"), "stub", args.port)
    try:
        side_by_side(args, results)
        if "redis" in args.only:
            redis_scenario(args, results)
        if "startup" in args.only:
            startup_scenario(args, results)
    finally:
        stub.stop()
    if "memory" in args.only and not args.quick:
        memory_scenario(args, results)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    report = table(args, results)
    cpus = os.cpu_count()
    model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                  if l.startswith("model name")), "?")
    print(f"\n{cpus} CPUs ({model}), load average before the run's end {os.getloadavg()[0]:.2f}; "
          f"{time.monotonic() - started:.0f} s\n")
    print(report)
    print("\nTargets:\n" + targets(results))
    plot(args, results, args.out / "connections.png")
    (args.out / "table.md").write_text(report + "\n\nTargets:\n" + targets(results) + "\n")


if __name__ == "__main__":
    main()
