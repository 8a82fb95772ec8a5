# The production image: one image, several roles (web, worker, listener), chosen by command.
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npx vite build

FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 teachingfile
WORKDIR /app
COPY pyproject.toml README.md ./
COPY teachingfile/ teachingfile/
COPY accounts/ accounts/
COPY cases/ cases/
COPY anonymizer/ anonymizer/
COPY pacs_bridge/ pacs_bridge/
COPY templates/ templates/
COPY static/ static/
COPY manage.py ./
COPY --from=frontend /src/frontend/dist frontend/dist
RUN pip install --no-cache-dir . \
 && DJANGO_SECRET_KEY=build-only TEACHINGFILE_VAR_DIR=/tmp/build python manage.py collectstatic --noinput
ENV TCP_NODELAY=1 OMP_THREAD_LIMIT=1 PYTHONUNBUFFERED=1
USER teachingfile
EXPOSE 8000 11112
CMD ["gunicorn", "teachingfile.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
