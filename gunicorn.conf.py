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

Logs: the access log goes to stdout in every deployment, in a format without
the query string, where webhook secrets may be (?token=, ?secret=); the
workers' error and access logs also redact secret-looking query parameters
(smsgate/log_redaction.py). Command lines must not set --access-logformat.

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
accesslog = "-"
# The default format with the path (%(U)s) instead of the request line (%(r)s, query string included) and
# without the referrer (a URL too); %(M)s: milliseconds taken.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'


def post_worker_init(worker):
    """Redact secrets from what the worker logs about requests ("Error handling request <uri>")."""
    from smsgate.log_redaction import RedactSecrets  # imported in the worker, after gevent patched it

    for handler in worker.log.error_log.handlers + worker.log.access_log.handlers:
        handler.addFilter(RedactSecrets())
