"""Webhook ingest vs a hello-world Django view, on gunicorn with Postgres and Redis.

Both run in the same gunicorn (gunicorn.conf.py, 2 processes for the
machine's 2 cores), loaded by wrk (apt-get install wrk) with 32 connections,
once opening a new connection per request and once with keep-alive. The
webhook is TriboPay's postback with a unique payment id per request:
authenticated, stored and deduplicated, answered once committed
(webhooks/ingest.py).

This machine's speed drifts by up to 2x over tens of seconds, so the two are
measured in alternating rounds, each started on a quiet machine, and compared
over all rounds. Prints requests/s of each and their ratio (target >= 60 %),
the CPU each request cost (gunicorn, and Postgres for the postbacks), and
checks that every answered postback was stored.

    .venv/bin/python bench/webhook_ingest.py [rounds] [seconds per run]
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from _processes import (
    free_port,
    start,
    stop,
    wait_for_port,
)
from _setup import ROOT, fresh_database
from _wrk import Load, measure, wrk

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
SECRET = "bench-secret"
POSTBACK_LUA = """
-- Every wrk thread has its own Lua state: the thread number keeps payment ids unique across threads,
-- and the run number (RUN, set below) across the runs of one bench.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"id": "bench-%d-%d-%d", "payment_method": "credit_card", '
    .. '"payment_status": "paid", "amount": 5000, "customer": {"phone_number": "+5511987654321", '
    .. '"name": "Ana", "email": "ana@example.com"}}', RUN, thread_id, counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"""


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk: apt-get install wrk")
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    database_url = fresh_database()
    from webhooks.models import WebhookEvent

    port = free_port()
    temp = Path(tempfile.gettempdir())
    env = {"DJANGO_SETTINGS_MODULE": "bench.bench_settings", "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
           "CELERY_BROKER_URL": REDIS_URL, "TRIBOPAY_WEBHOOK_SECRET": SECRET, "LOG_LEVEL": "WARNING",
           "ALLOWED_HOSTS": "127.0.0.1"}
    web = start([sys.executable, "-m", "gunicorn", "smsgate.wsgi", "--config", str(ROOT / "gunicorn.conf.py"),
                 "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
                env, temp / "bench-gunicorn.log")
    results = {}
    try:
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        wrk(f"{base}/hello", 2, new_connections=False)  # warm-up
        run = 0
        for new_connections in (True, False):
            hello, ingest, ratios = Load(), Load(), []
            for _ in range(rounds):
                run += 1
                script = temp / f"bench-postback-{run}.lua"
                script.write_text(f"RUN = {run}\n{POSTBACK_LUA}")
                hello_rate = measure(hello, web, f"{base}/hello", seconds, new_connections=new_connections)
                ingest_rate = measure(ingest, web, f"{base}/api/webhooks/tribopay/?token={SECRET}", seconds,
                                      new_connections=new_connections, script=script)
                ratios.append(ingest_rate / hello_rate)
            results[new_connections] = (hello, ingest, ratios)
    finally:
        stop(web)
    stored = WebhookEvent.objects.count()
    answered = 0
    for new_connections, label in ((True, "a new connection per request"), (False, "keep-alive")):
        hello, ingest, ratios = results[new_connections]
        answered += ingest.answered
        print(f"{label} ({rounds} alternating rounds of {seconds} s each):")
        print(f"  hello-world view   {hello.per_second:.0f} requests/s, CPU per request: "
              f"gunicorn {hello.cpu_ms(hello.web_cpu):.2f} ms")
        print(f"  TriboPay webhook   {ingest.per_second:.0f} requests/s (authenticated, stored, deduplicated), "
              f"CPU per request: gunicorn {ingest.cpu_ms(ingest.web_cpu):.2f} ms, "
              f"Postgres {ingest.cpu_ms(ingest.postgres_cpu):.2f} ms")
        print(f"  ratio              {ingest.per_second / hello.per_second:.0%} (target >= 60%); "
              f"rounds: {' '.join(f'{ratio:.0%}' for ratio in ratios)}")
    print(f"postbacks answered {answered}, stored {stored} (every answered one must be stored)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
