#!/usr/bin/env python3
"""What a client that needs no key can make a gateway binary hold, measured from outside through /proc.

    python3 bench/budgets.py [BINARY] [--scale N]

BINARY defaults to target/debug/partner-center-gateway (run from the repository root). Each scenario starts
the binary afresh on a configuration of its own (the sandbox profile, or a real profile against a fake upstream
served from here) and prints one line: the resident memory (VmRSS) before and at its peak, descriptors, what the
clients saw. --scale divides the connection counts (a small machine). Budget keys a binary does not know are
left out, so an older binary can be measured the same way.
"""

import hashlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = next((a for a in sys.argv[1:] if not a.startswith("--") and not a.isdigit()),
              os.path.join(ROOT, "target/debug/partner-center-gateway"))
SCALE = int(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 1
KEY = "demo-key-contoso"
TENANT = "8f5c9f0a-3f6e-4a4e-9d3b-5d3c2b1a0e9f"
CLIENT = "5b1e0c33-7d1f-4d8e-a1c4-0f6f3b2a9e11"
CUSTOMER = "c501c3c4-d776-40ef-9ecf-9cefb59442c1"


class Gateway:
    def __init__(self, toml, nofile=None):
        self.dir = tempfile.TemporaryDirectory()
        config = os.path.join(self.dir.name, "gateway.toml")
        with open(config, "w") as f:
            f.write(toml)
        limit = f"ulimit -Sn {nofile[0]} && ulimit -Hn {nofile[1]} && " if nofile else ""
        self.log = open(os.path.join(self.dir.name, "log"), "w+")
        self.proc = subprocess.Popen(["sh", "-c", limit + 'exec "$0" --config "$1"', BINARY, config],
                                     cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, RUST_LOG="info"))
        deadline = time.time() + 60
        while time.time() < deadline:
            self.log.seek(0)
            m = re.search(r"listening.*address=(\S+)", self.log.read())
            if m:
                host, port = m.group(1).rsplit(":", 1)
                self.addr = (host, int(port))
                return
            time.sleep(0.05)
        raise SystemExit("the gateway did not start: " + open(self.log.name).read())

    def rss(self):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def soft_nofile(self):
        for line in open(f"/proc/{self.proc.pid}/limits"):
            if line.startswith("Max open files"):
                return line.split()[3]

    def served(self):
        """Connections the gateway holds on its listening port."""
        port = f"{self.addr[1]:04X}"
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in open(table).readlines()[1:]:
                f = line.split()
                if f[1].rsplit(":", 1)[1] == port and f[3] != "0A":
                    inodes.add(f[9])
        n = 0
        for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.proc.pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                n += 1
        return n

    def logged(self, needle):
        self.log.seek(0)
        return self.log.read().count(needle)

    def get(self, path, key=None, timeout=5):
        try:
            s = socket.create_connection(self.addr, timeout=timeout)
            k = f"X-API-Key: {key}\r\n" if key else ""
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: gateway.test\r\n{k}Connection: close\r\n\r\n".encode())
            data = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                data += c
            return int(data.split(b" ")[1])
        except (OSError, IndexError, ValueError):
            return None

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Peak:
    """Samples VmRSS every 5 ms while in use."""

    def __init__(self, gw):
        self.gw, self.peak, self.stop = gw, 0, False

    def __enter__(self):
        def run():
            while not self.stop:
                try:
                    self.peak = max(self.peak, self.gw.rss())
                except OSError:
                    return
                time.sleep(0.005)
        self.thread = threading.Thread(target=run)
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.stop = True
        self.thread.join()


def sandbox_toml(server_keys=""):
    toml = open(os.path.join(ROOT, "config/default.toml")).read()
    state = tempfile.mkdtemp()
    toml = toml.replace("127.0.0.1:8080", "127.0.0.1:0").replace(
        "var/contoso-demo.refresh-token", os.path.join(state, "rt"))
    toml = toml.replace("calls = 100\n", "calls = 1000000\n")
    return toml.replace('listen = "127.0.0.1:0"', 'listen = "127.0.0.1:0"\n' + server_keys, 1)


def warm(gw):
    for _ in range(3):
        gw.get("/v1/customers?Size=500", KEY, timeout=30)


def let_go(gw, within=120):
    """When the gateway held none of its served connections any more (seconds from now), or what it still held."""
    t = time.time()
    while time.time() - t < within:
        if gw.served() == 0:
            return f"after {time.time() - t + 5:.0f} s"
        time.sleep(0.5)
    return f"no, {gw.served()} still held after {within + 5} s"


def non_readers_of(label, req):
    """`n` sockets that send `req` and read nothing: what the gateway holds meanwhile, and when it lets go."""
    n = 60 // SCALE
    gw = Gateway(sandbox_toml())
    warm(gw)
    before = gw.rss()
    socks = []
    with Peak(gw) as peak:
        for _ in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(gw.addr)
            s.sendall(req.encode())
            socks.append(s)
        time.sleep(5)
        at5 = gw.rss()
        held5 = gw.served()
        gone = let_go(gw)
    print(f"{label.format(n=n)}: RSS {before:.0f} -> {at5:.0f} MiB at 5 s "
          f"(peak {peak.peak:.0f}); connections held at 5 s: {held5}, all let go: {gone}; /healthz {gw.get('/healthz')}")
    for s in socks:
        s.close()
    gw.stop()


PAGE = f"GET /v1/customers?Size=500 HTTP/1.1\r\nHost: gateway.test\r\nX-API-Key: {KEY}\r\n\r\n"


def non_readers():
    non_readers_of("1. {n} non-reading sockets x 3 pipelined Size=500", PAGE * 3)


def non_readers_big():
    """As above, but with more answered than the kernel's socket buffers hold (4 MiB here): 2 pages of 500
    customers and 4 x Swagger UI's 1.5 MB script, so the gateway's own writes back up."""
    non_readers_of("1b. {n} non-reading sockets x (2 Size=500 + 4 x 1.5 MB)",
                   PAGE * 2 + "GET /swagger-ui/swagger-ui-bundle.js HTTP/1.1\r\nHost: gateway.test\r\n\r\n" * 4)


def header_floods():
    n = 1200 // SCALE
    gw = Gateway(sandbox_toml())
    warm(gw)
    before = gw.rss()
    socks = []
    line = b"X-Padding: " + b"a" * 1000 + b"\r\n"
    with Peak(gw) as peak:
        for _ in range(n):
            s = socket.create_connection(gw.addr)
            s.setblocking(False)
            s.send(b"GET /healthz HTTP/1.1\r\nHost: gateway.test\r\n")
            socks.append(s)
        for _ in range(380):
            for s in socks:
                try:
                    s.send(line)
                except OSError:
                    pass
        time.sleep(3)
        held = gw.served()
        health = gw.get("/healthz")
    refused = 0
    for s in socks:
        s.setblocking(True)
        s.settimeout(0.2)
        try:
            refused += s.recv(64).startswith(b"HTTP/1.1 431")
        except OSError:
            pass
        s.close()
    print(f"2. {n} connections x 380 KB of headers, stalled: RSS {before:.0f} -> peak {peak.peak:.0f} MiB; "
          f"held after 3 s: {held}; answered 431: {refused}; /healthz {health}")
    gw.stop()


def idle_sockets():
    n = 1100 // SCALE
    gw = Gateway(sandbox_toml(), nofile=(1024, 4096))
    warm(gw)
    fds0 = gw.fds()
    socks = []
    for _ in range(n):
        try:
            socks.append(socket.create_connection(gw.addr, timeout=2))
        except OSError:
            break
    time.sleep(2)
    t = time.time()
    health = gw.get("/healthz", timeout=5)
    took = time.time() - t
    call = gw.get("/v1/customers?Size=1", KEY, timeout=5)
    print(f"3. {len(socks)} idle sockets (started at nofile soft 1024, hard 4096; soft now {gw.soft_nofile()}): "
          f"descriptors {fds0} -> {gw.fds()}; /healthz {health} in {took:.2f} s; a call on a new connection: {call}; "
          f"'Too many open files' logged {gw.logged('Too many open files')} times")
    for s in socks:
        s.close()
    gw.stop()


def big_upstream():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    url = f"http://127.0.0.1:{srv.getsockname()[1]}"

    def serve(c):
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.recv(4096)
            if not d:
                return
            head += d
        try:
            if b"/oauth2/v2.0/token" in head:
                tok = b'{"token_type":"Bearer","expires_in":3599,"access_token":"t"}'
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                          b"Connection: close\r\n\r\n%s" % (len(tok), tok))
            else:
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[")
                chunk = b" " * 65536
                for _ in range(100 * 1024 * 1024 // 65536):
                    c.sendall(chunk)
                c.sendall(b"]")
        except OSError:
            pass
        c.close()

    def accept():
        while True:
            c, _ = srv.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    state = tempfile.mkdtemp()
    toml = f"""
[server]
listen = "127.0.0.1:0"
[upstream]
base_url = "{url}"
[auth]
authority = "{url}"
[[connections]]
id = "app-conn"
api_key_sha256 = "{hashlib.sha256(b'app-key').hexdigest()}"
[connections.credentials]
kind = "app_only"
tenant_id = "{TENANT}"
client_id = "{CLIENT}"
client_secret_file = "config/sandbox/demo-client-secret"
"""
    gw = Gateway(toml)
    before = gw.rss()
    t = time.time()
    with Peak(gw) as peak:
        status = gw.get(f"/v1/customers/{CUSTOMER}", "app-key", timeout=60)
    print(f"5. a 100 MB upstream answer: {status} after {time.time() - t:.2f} s; RSS {before:.0f} -> peak "
          f"{peak.peak:.0f} MiB")
    gw.stop()


def expect_continue():
    gw = Gateway(sandbox_toml())
    s = socket.create_connection(gw.addr, timeout=40)
    t = time.time()
    s.sendall(f"POST /v1/customers/{CUSTOMER}/agreements HTTP/1.1\r\nHost: gateway.test\r\nX-API-Key: {KEY}\r\n"
              "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 10000000\r\n\r\n".encode())
    seen = []
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
            for m in re.finditer(rb"HTTP/1.1 (\d{3})", data):
                if m.group(1).decode() not in [x[0] for x in seen]:
                    seen.append((m.group(1).decode(), round(time.time() - t, 3)))
    except OSError:
        pass
    print(f"6. Expect: 100-continue with Content-Length 10 MB (body never sent): answers {seen}")
    gw.stop()


if __name__ == "__main__":
    print(f"binary: {BINARY}")
    only = [a for a in sys.argv[1:] if a.startswith("--only=")]
    for scenario in (non_readers, non_readers_big, header_floods, idle_sockets, big_upstream, expect_continue):
        if only and scenario.__name__ not in only[0][7:].split(","):
            continue
        scenario()
        sys.stdout.flush()
