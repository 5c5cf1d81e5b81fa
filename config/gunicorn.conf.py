"""gunicorn settings for CareFlow (`gunicorn -c config/gunicorn.conf.py config.wsgi`).

Environment: GUNICORN_BIND (default 0.0.0.0:8000), GUNICORN_WORKERS (default: one sync
worker per CPU — the work is CPU-bound and each request holds one database connection;
docs/benchmarks.md measured 2 workers beating 3 on 2 CPUs), GUNICORN_TIMEOUT (60 s).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS") or os.cpu_count() or 2)
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
backlog = 256


def post_worker_init(worker):
    from config.runtime import tune_gc

    tune_gc()
