# syntax=docker/dockerfile:1
# The tagging service as a container image: `docker build -t tagging-service .` (BuildKit, the
# default builder since Docker 23, is needed for the cache mounts), or `docker compose up` with
# docker-compose.yml beside this file. No image is built on CI (it has no Docker engine):
# .ci/validate-deploy.sh lints this file and checks its build command and Cargo.lock.

# --- build -----------------------------------------------------------------------------------
# No system protoc: build.rs compiles proto/ with protox. SQLite is bundled by sqlx, compiled with
# the image's C compiler.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# CI compiles these sources with --locked (clippy) and in release (the README and docs walkthroughs); here
# both at once: release profile, Cargo.lock exactly as committed. The registry and
# target/ are cache mounts, so a rebuild after a source change reuses the compiled dependencies;
# the binary is copied out of the cache mount in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
 && install -D -m 0755 target/release/tagging-service /out/tagging-service

# --- runtime ---------------------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates only. Unpinned on purpose: bookworm's security updates should land on a rebuild.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A non-root user. Its home is the working directory, so the default database
# (`sqlite:tagging.db`, used when TAGGING_DATABASE_URL is not set) lands somewhere writable.
RUN groupadd --system --gid 10001 tagging \
 && useradd --system --uid 10001 --gid tagging --home-dir /var/lib/tagging --create-home \
    --shell /usr/sbin/nologin tagging
COPY --from=build /out/tagging-service /usr/local/bin/tagging-service
# Numeric, so that runtimes checking "runs as non-root" (Kubernetes' runAsNonRoot) can verify it.
USER 10001:10001
WORKDIR /var/lib/tagging
# Inside a container the service must listen on every interface, not on loopback (its default).
ENV TAGGING_LISTEN=0.0.0.0:50051
EXPOSE 50051
# Health: `GET /openapi.json`, a plain HTTP route served on the gRPC port, must answer 200.
# The binary has no health-check subcommand, and grpc_health_probe or curl would be one more tool
# (and more attack surface) in the image. bash, which bookworm-slim already has, speaks enough HTTP
# through its /dev/tcp redirection: this checks that the server answers HTTP, not only that the
# port accepts connections. It takes the port from TAGGING_LISTEN, so overriding that keeps it
# right. It does not test the database: gRPC `grpc.health.v1.Health` (NOT_SERVING while the
# database does not answer) is the probe for that, for orchestrators that speak gRPC.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "port=\"${TAGGING_LISTEN##*:}\"; exec 3<>\"/dev/tcp/127.0.0.1/${port:-50051}\" && printf 'GET /openapi.json HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 4 _ status _ <&3 && [ \"$status\" = 200 ]"]
ENTRYPOINT ["tagging-service"]
CMD ["serve"]
