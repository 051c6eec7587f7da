# partner-center-gateway container image.
#
# NOT BUILT HERE: the machine this was written on has no Docker engine. It is kept standard and was checked by
# reading, and by running its two `cargo build` stages by hand in a clean directory with exactly the files each
# stage copies. Build and run:
#   docker build -t partner-center-gateway .
#   docker run -p 8080:8080 \
#     -v /etc/partner-center-gateway:/etc/partner-center-gateway:ro \
#     -v pcgw-state:/var/lib/partner-center-gateway \
#     -e PCGW_CONFIG=/etc/partner-center-gateway/partner-center.toml \
#     partner-center-gateway
# deploy/compose.yaml and deploy/kubernetes/ run it with the probes and a drain delay.
# The configuration is mounted, never baked in: it names secrets (files or environment variables). App+User
# connections rewrite their refresh token files, so those must live on a writable volume such as
# /var/lib/partner-center-gateway.

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so editing the gateway's code does not rebuild them. The workspace has two members, the
# gateway and the sandbox crate it embeds (sandbox/), and cargo reads both manifests.
COPY Cargo.toml Cargo.lock build.rs ./
COPY sandbox/Cargo.toml ./sandbox/
# build.rs stamps the binary with its commit for pcgw_build_info; the build context has no .git, so pass it:
# docker build --build-arg PCGW_GIT_COMMIT=$(git rev-parse --short=12 HEAD) .
ARG PCGW_GIT_COMMIT=unknown
ENV PCGW_GIT_COMMIT=$PCGW_GIT_COMMIT
# The manifest names benchmark targets; cargo refuses a manifest whose targets are missing, so stub them too,
# and give the sandbox a library to find.
RUN mkdir src benches sandbox/src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs sandbox/src/lib.rs \
    && echo 'fn main() {}' > benches/quota_memory.rs && echo 'fn main() {}' > benches/registry.rs \
    && cargo build --release --locked \
    && rm -rf src benches sandbox/src
COPY src ./src
COPY benches ./benches
COPY sandbox/src ./sandbox/src
# Sources copied in may be older than the stubs' build; touching them makes cargo rebuild both crates.
RUN touch src/main.rs src/lib.rs sandbox/src/lib.rs sandbox/src/main.rs && cargo build --release --locked

FROM debian:bookworm-slim
# rustls needs no OpenSSL; ca-certificates only for tools run inside the container.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin pcgw \
    && install -d -o pcgw -g pcgw -m 0700 /var/lib/partner-center-gateway
COPY --from=build /src/target/release/partner-center-gateway /usr/local/bin/partner-center-gateway
WORKDIR /var/lib/partner-center-gateway
# The shipped profiles, relative to the working directory as they expect: with no PCGW_CONFIG the container
# serves the sandbox profile (demo keys, embedded sandbox), which writes its refresh token under ./var.
COPY --chown=pcgw:pcgw config ./config
USER pcgw
ENV PCGW_SERVER__LISTEN=0.0.0.0:8080
EXPOSE 8080
# Alive, not ready: Docker (and Swarm, which replaces unhealthy containers) act on this, and restarting does not
# bring back an unreachable Partner Center; readiness (/readyz) is for what routes calls, as in
# deploy/kubernetes/. The image has no curl: the binary probes itself. With server.tls, or another port, override
# it (`--health-cmd`, or `healthcheck:` in Compose).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/partner-center-gateway", "probe", "--url", "http://127.0.0.1:8080/healthz"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/partner-center-gateway"]
CMD ["serve"]
