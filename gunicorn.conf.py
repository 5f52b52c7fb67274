"""gunicorn settings for every way smsgate's web process runs (Procfile, Dockerfile, compose, bench).

Threaded workers: most requests wait on Postgres or a carrier, and TriboPay
postbacks arriving together share one commit (webhooks.ingest), which needs
several requests in flight per process. WEB_CONCURRENCY processes (default:
one per core) x WEB_THREADS threads (default 8).
"""

import multiprocessing
import os
import sys

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))


def post_fork(server, worker):
    # A thread back from Postgres waits for the GIL up to the switch interval (5 ms by
    # default) while other threads parse requests; the thread writing a batch of
    # postbacks holds up the whole batch. 0.5 ms measured about 20 % more postbacks/s.
    sys.setswitchinterval(0.0005)
