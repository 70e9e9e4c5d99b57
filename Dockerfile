# Eye Spy: one image for web (gunicorn), worker and beat (celery). See docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # One inference thread per worker process; TensorFlow (training only) stays quiet.
    OMP_NUM_THREADS=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    EYESPY_VAR_DIR=/app/var

WORKDIR /app

# Dependencies first: this layer is reused while only the code changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are collected at build time and served by WhiteNoise. The key below exists only so
# the production settings load during the build; the real SECRET_KEY comes from the environment.
RUN DEBUG=false \
    SECRET_KEY=collectstatic-build-only-key-never-used-at-run-time \
    ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --noinput

# Never run as root. var/ holds the worker's model cache and (as a volume) beat's schedule; user data is in S3.
RUN useradd --create-home --uid 1000 eyespy \
    && mkdir -p /app/var/beat \
    && chown -R eyespy:eyespy /app/var
USER eyespy

EXPOSE 8000
# Threaded workers: a slow 200 MB upload holds one thread, not a whole worker.
CMD ["gunicorn", "eyespy_site.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", "--threads", "4", "--timeout", "120", "--access-logfile", "-"]
