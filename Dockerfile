# The pages' front-end packages (bpmn-js, chart.js) from npm, copied into web/static/vendor.
FROM node:20-slim AS frontend
WORKDIR /app/web/frontend
COPY web/frontend/package.json web/frontend/package-lock.json web/frontend/copy-vendor.mjs ./
RUN npm ci --no-audit --no-fund --loglevel=error && node copy-vendor.mjs

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/usr/local
WORKDIR /app
RUN pip install --no-cache-dir uv
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
COPY --from=frontend /app/web/static/vendor web/static/vendor
# Static files into STATIC_ROOT (/app/staticfiles) with hashed names and gzip copies, as the
# server (DEBUG off) expects them; WhiteNoise serves them from gunicorn.
RUN SECRET_KEY=build DEBUG=false python manage.py collectstatic --noinput
EXPOSE 8000
