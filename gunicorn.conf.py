"""gunicorn settings for every way smsgate's web process runs (Procfile, Dockerfile, compose, bench).

Threaded workers: most requests wait on Postgres or a carrier, and TriboPay
postbacks arriving together share one commit (webhooks.ingest), which needs
several requests in flight per process. WEB_CONCURRENCY processes (default:
one per core) x WEB_THREADS threads (default 8).
"""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
