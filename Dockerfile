# roombot: the Slack app server (`roombot serve`), HTTP on port 3000 or Socket Mode.
#   docker build -t roombot .
#   docker run -p 3000:3000 -v roombot-data:/data -e SLACK_BOT_TOKEN=… -e SLACK_SIGNING_SECRET=… \
#     -e ACS_CONNECTION_STRING=… roombot        (or ACS_ENDPOINT=… for Microsoft Entra ID)
# tests/test_dockerfile.py replays this file's COPY and pip steps in fresh venvs; hadolint
# checks it in `make check`; deploy/ runs it with Compose or Kubernetes.

# Stage 1: the join page's calling bundle (docs/join-page.md) from the pinned lockfile.
# Only call.js (and its pre-compressed .gz/.br twins, which the server sends to browsers that
# accept them) leaves this stage; node and node_modules stay out of the runtime image.
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN node_modules/.bin/tsc --noEmit -p . && node build.mjs /web/dist/call.js

# Stage 2: roombot's own wheel, bundle included. The build backend (setuptools, from
# pyproject.toml's build-system) lives and dies here. bot/local (fake Slack, the ACS
# emulator, the dev console) is not in the build context (.dockerignore): development tools
# do not ship, and `roombot dev` in the image says so in one line.
FROM python:3.11-slim AS wheel
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY --from=web /web/dist/call.js /web/dist/call.js.gz /web/dist/call.js.br ./bot/join/static/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir dist .

# Stage 3, the image that runs: the dependencies exactly as pinned and hashed in
# requirements.lock (`make lock` writes it from pyproject.toml), then the wheel without
# resolving anything again. No compiler, no test or bench tools, no build backend.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# A fixed uid/gid so volume permissions and runAsNonRoot policies can name it.
RUN groupadd --system --gid 10001 roombot \
    && useradd --system --uid 10001 --gid roombot --no-log-init \
       --home-dir /home/roombot --create-home --shell /usr/sbin/nologin roombot \
    && mkdir /data \
    && chown roombot:roombot /data

WORKDIR /src
COPY requirements.lock ./
COPY --from=wheel /src/dist ./dist
RUN pip install --no-cache-dir --require-hashes --only-binary=:all: -r requirements.lock \
    && pip install --no-cache-dir --no-deps --no-index dist/roombot-*.whl \
    && rm -rf /src

WORKDIR /home/roombot
USER 10001:10001
ENV DATABASE_URL=sqlite+aiosqlite:////data/roombot.db
VOLUME ["/data"]
EXPOSE 3000

# slim has no curl: ask /healthz with the interpreter that is there anyway.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]

CMD ["roombot", "serve"]
