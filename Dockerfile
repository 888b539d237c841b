# syntax=docker/dockerfile:1
# Production-style image of Tributary: a release build on the full Swift image, run on the
# slim one (Swift runtime libraries only). Used by docker-compose.yml; on its own:
#   docker build -t tributary . && docker run --env-file tributary.env -p 8080:8080 tributary
#
# Swift 6.2, not 6.1: Package.swift says swift-tools-version 6.2, which a 6.1 toolchain
# refuses. Override with --build-arg SWIFT_VERSION=... (it must be >= the tools version).
ARG SWIFT_VERSION=6.2

FROM swift:${SWIFT_VERSION}-bookworm AS builder
WORKDIR /src
# .dockerignore keeps .build*, .data, .git and Package.resolved (which may pin commits of
# a local package mirror) out of this copy.
COPY . .
# The cache mount keeps SwiftPM's checkouts and build products between image builds; the
# binary is copied out in the same step because the mount is not part of the image.
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --product tributary \
    && mkdir -p /out \
    && cp "$(swift build -c release --show-bin-path)/tributary" /out/tributary

FROM swift:${SWIFT_VERSION}-bookworm-slim
# libcurl4: FoundationNetworking (URLSession) loads it at run time.
# ca-certificates: outgoing HTTPS (webhooks, OAuth providers) needs trusted roots.
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends libcurl4 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home --home-dir /app --shell /usr/sbin/nologin tributary
WORKDIR /app
COPY --from=builder /out/tributary /app/tributary
COPY migrations /app/migrations
ENV TRIBUTARY_MIGRATIONS_DIR=/app/migrations \
    HOST=0.0.0.0 \
    PORT=8080
# No secrets here: DATABASE_URL, TRIBUTARY_ADMIN_TOKEN and TRIBUTARY_ENCRYPTION_KEYS come
# from the environment the container is started with.
USER tributary
EXPOSE 8080
CMD ["/app/tributary", "serve", "--worker"]
