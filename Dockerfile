# SME Pulse image: the web app (gunicorn) by default; the same image runs the
# RQ worker with `flask --app wsgi worker`.

# --- build: Python dependencies from the lock, front-end assets checked ---
FROM python:3.11-slim-bookworm AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock .python-version ./
RUN uv sync --frozen --no-dev --no-install-project
COPY webapp/assets.py webapp/assets.py
COPY static/vendor.json static/vendor.json
RUN .venv/bin/python webapp/assets.py

# --- runtime: WeasyPrint's libraries and fonts, a non-root user ---
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
      fonts-dejavu-core fonts-noto-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 smepulse
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY --chown=smepulse:smepulse webapp webapp
COPY --chown=smepulse:smepulse templates templates
COPY --chown=smepulse:smepulse static static
COPY --from=build --chown=smepulse:smepulse /app/static/vendor static/vendor
COPY --chown=smepulse:smepulse migrations migrations
COPY --chown=smepulse:smepulse wsgi.py ./
RUN mkdir -p instance && chown smepulse:smepulse instance
USER smepulse
ENV PATH=/app/.venv/bin:$PATH APP_ENV=production FLASK_APP=wsgi PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["gunicorn", "--workers", "2", "--threads", "4", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "wsgi:app"]
