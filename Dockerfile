# One image with every matterhook binary (receiver, API, scheduler, workers, the `matterhook` CLI
# and the Clio simulator for the demo); a container runs one of them (its command). Multi-stage:
# dependencies are compiled in a layer of their own (cargo-chef), rebuilt only when a manifest or
# Cargo.lock changes; the runtime image is Debian slim with ca-certificates and curl (for the
# HEALTHCHECK), running as an unprivileged user.
#
#   docker build -t matterhook .
#   docker run --rm matterhook matterhook --help
ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS chef
# No debug info in the image: the workspace's release profile keeps line tables for backtraces,
# which made each of the 13 binaries about 100 MB (1.3 GB in all; 237 MB stripped).
ENV CARGO_INCREMENTAL=0 CARGO_TERM_COLOR=never \
    CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=debuginfo
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json \
      -p matterhook-receiver -p matterhook-api -p matterhook-workers -p matterhook-ctl -p clio-sim
COPY . .
RUN cargo build --release --locked --bins \
      -p matterhook-receiver -p matterhook-api -p matterhook-workers -p matterhook-ctl -p clio-sim \
 && mkdir /out \
 && find target/release -maxdepth 1 -type f -executable \( -name 'matterhook*' -o -name clio-sim \) \
      -exec cp {} /out/ \;

FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 matterhook \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin matterhook
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
# Workers and the scheduler serve /healthz, /readyz and /metrics on MATTERHOOK_HEALTH_ADDR; the
# receiver and the API on their own address: set MATTERHOOK_HEALTH_PORT to 8080 / 8081 for them.
ENV MATTERHOOK_HEALTH_ADDR=0.0.0.0:9100 \
    MATTERHOOK_LOG_FORMAT=json \
    RUST_LOG=info
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${MATTERHOOK_HEALTH_PORT:-9100}/healthz" > /dev/null || exit 1
CMD ["matterhook", "--help"]
