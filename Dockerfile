# syntax=docker/dockerfile:1
# One image for both components; the first argument chooses:
#   krr-mcp operator   the kopf operator that applies approved recommendations (the default)
#   krr-mcp serve      the MCP bridge an AI assistant talks to
# Reproducible from uv.lock: `uv sync --locked` refuses to run when the lock file and pyproject.toml
# disagree, and installs exactly the locked versions. Build: docker build -t krr-mcp:dev .
ARG PYTHON_IMAGE=python:3.12-slim-trixie
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# --- builder: a virtual environment at /opt/krr-mcp with the project and its locked dependencies.
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.12 \
    UV_PROJECT_ENVIRONMENT=/opt/krr-mcp
WORKDIR /src
# Dependencies first: this layer changes only with the lock file.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project
# Then the project itself, installed as a wheel (not editable: /src is not copied to the runtime image).
# --reinstall-package: uv's cache keys a local project's wheel on pyproject.toml alone, so without it a
# cached wheel of older sources could be installed.
COPY README.md ./
COPY operator/ operator/
COPY mcp_bridge/ mcp_bridge/
COPY krr_mcp/ krr_mcp/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --reinstall-package krr-mcp

# --- runtime: the slim base, the environment, a non-root numeric user; no build tools, no caches.
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="krr-mcp" \
      org.opencontainers.image.description="Right-size Kubernetes workloads with an AI assistant; a human approves every change." \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /opt/krr-mcp /opt/krr-mcp
# HOME=/tmp: the root filesystem is read-only in the cluster, /tmp is an emptyDir there.
ENV PATH=/opt/krr-mcp/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /tmp
# 65532: the conventional "nonroot" UID/GID; numeric so that runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8000 8080
ENTRYPOINT ["krr-mcp"]
CMD ["operator"]
