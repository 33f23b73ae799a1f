# syntax=docker/dockerfile:1.7
#
# One image per service, all from this file and the same uv.lock:
#
#   docker build --target gateway -t agentbus-gateway .     (also: auth, chat, billing)
#   docker build --target ops     -t agentbus-ops .          (agentbus CLI: migrate, streams, db backup)
#
# Build: uv installs a standalone CPython and each target's packages, compiled, into
# /opt/venv. Runtime: Debian slim with that interpreter and venv only (no uv, no compiler,
# no sources), running as an unprivileged user. Nothing is written below / at run time
# (bytecode is precompiled), so the containers run with a read-only root filesystem and
# a writable /tmp.

ARG PYTHON_VERSION=3.11
ARG DEBIAN_IMAGE=debian:bookworm-slim
ARG POSTGRES_IMAGE=postgres:16-bookworm

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# ------------------------------------------------------------------ build
FROM ${DEBIAN_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ARG PYTHON_VERSION
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_FROZEN=1 \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_PYTHON_PREFERENCE=only-managed \
    UV_PROJECT_ENVIRONMENT=/opt/venv
RUN uv python install "${PYTHON_VERSION}"
WORKDIR /src
COPY . .

FROM build AS build-gateway
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-editable --package agentbus-gateway

FROM build AS build-auth
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-editable --package agentbus-auth

FROM build AS build-chat
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-editable --package agentbus-chat

FROM build AS build-billing
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-editable --package agentbus-billing

FROM build AS build-ops
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-editable --all-packages

# ------------------------------------------------------------------ runtime
FROM ${DEBIAN_IMAGE} AS runtime
# CA certificates for TLS to NATS, PostgreSQL, Stripe and model providers.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 agentbus \
    && useradd --system --uid 10001 --gid agentbus --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin agentbus
COPY --from=build /opt/python /opt/python
# HOME on the writable /tmp: libraries that cache under ~ keep working on a read-only root.
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    LOG_FORMAT=json \
    HTTP_HOST=0.0.0.0
WORKDIR /tmp
USER 10001:10001
STOPSIGNAL SIGTERM

FROM runtime AS gateway
COPY --from=build-gateway /opt/venv /opt/venv
ENV HTTP_PORT=8000
# 8000: the public API; 8100: /metrics for Prometheus only (GATEWAY_METRICS_PORT), never published.
EXPOSE 8000 8100
CMD ["python", "-m", "agentbus_gateway"]

FROM runtime AS auth
COPY --from=build-auth /opt/venv /opt/venv
ENV HTTP_PORT=8101
EXPOSE 8101
CMD ["python", "-m", "agentbus_auth"]

FROM runtime AS billing
COPY --from=build-billing /opt/venv /opt/venv
ENV HTTP_PORT=8102
EXPOSE 8102
CMD ["python", "-m", "agentbus_billing"]

FROM runtime AS chat
COPY --from=build-chat /opt/venv /opt/venv
ENV HTTP_PORT=8103
EXPOSE 8103
CMD ["python", "-m", "agentbus_chat"]

# ------------------------------------------------------------------ ops
# The operator CLI with every service installed (migrations, streams, backups). Based on the
# PostgreSQL image of the deployed major version, so pg_dump/pg_restore match the server.
FROM ${POSTGRES_IMAGE} AS ops
RUN groupadd --system --gid 10001 agentbus \
    && useradd --system --uid 10001 --gid agentbus --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin agentbus
COPY --from=build /opt/python /opt/python
COPY --from=build-ops /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    LOG_FORMAT=json
WORKDIR /tmp
USER 10001:10001
ENTRYPOINT ["agentbus"]
CMD ["--help"]
