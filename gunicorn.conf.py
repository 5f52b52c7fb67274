"""gunicorn settings for every way smsgate's web process runs (Procfile, Dockerfile, compose, bench).

gevent workers: a request waiting on Postgres, Redis or a carrier yields to
the others instead of holding a thread, and TriboPay postbacks arriving
together share one commit (webhooks.ingest). Against threads this doubled
postbacks/s on the same machine (docs/PERFORMANCE.md): a thread that waits
costs context switches and GIL hand-offs, a greenlet a switch in-process.
WEB_CONCURRENCY processes (default: one per core), each serving up to
WEB_CONNECTIONS connections (default 100) with at most DATABASE_POOL_SIZE
Postgres connections (default 10, see smsgate/settings.py). libcurl's blocking
carrier calls run in gevent's thread pool (providers/http.py).

Do not add preload_app: the app must be imported after gevent patches the
worker (psycopg picks its waiting function, Django its thread-locals, at import).
"""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "gevent"
worker_connections = int(os.environ.get("WEB_CONNECTIONS", "100"))
os.environ.setdefault("DATABASE_POOL_SIZE", "10")  # read by the workers' settings
