# flowwatch: a slim Python 3.11 image running the bot as a non-root user.
#   docker build -t flowwatch .
#   docker run -d --name flowwatch --env-file .env -v flowwatch-data:/data flowwatch
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLOWWATCH_DB=/data/flowwatch.db \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /app
COPY requirements-runtime.lock pyproject.toml README.md LICENSE ./
RUN pip install -r requirements-runtime.lock
COPY bot ./bot
COPY signals ./signals
COPY storage ./storage
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin flowwatch \
    && mkdir -p /data && chown flowwatch:flowwatch /data

USER flowwatch
VOLUME ["/data"]
# the database lives on the volume; the health check reads it (heartbeat, sources, deliveries)
HEALTHCHECK --interval=1m --timeout=30s --start-period=3m --retries=3 CMD ["flowwatch", "health"]
ENTRYPOINT ["flowwatch"]
CMD ["run"]
