# One image for every Python service of docker-compose.yml; the command chooses the role
# (pulse api, pulse worker, pulse ui, pulse streamlit, pulse migrate). The dashboard is built
# with Node in its own stage and only its static files are copied over.

FROM node:20.20.2-bookworm-slim AS dashboard
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json frontend/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11.14-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PULSE_API_HOST=0.0.0.0
WORKDIR /app
# A user of its own: no service runs as root.
RUN useradd --create-home --uid 10001 --user-group pulse
COPY pyproject.toml README.md ./
COPY ingest_api ingest_api
COPY analytics analytics
COPY streamlit_app streamlit_app
COPY sql sql
COPY --from=dashboard /src/frontend/dist frontend/dist
# Runtime dependencies only (no [dev]). Editable, so the code finds sql/ and frontend/dist
# beside it as it does in a checkout.
RUN pip install --no-cache-dir -e . \
    && chown -R pulse:pulse /app
USER 10001:10001
EXPOSE 8000 5173 8501
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["pulse", "api"]
