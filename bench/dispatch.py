"""Dispatch throughput: messages/s from Postgres through real celery workers to a fake carrier.

The carrier is bench/fast_carrier.py (SMSC.ru's send.php, asyncio) in its own
process. Prints its capacity (requests/s straight at it through the smsc
backend), the end-to-end dispatch rate, their ratio, duplicates and the
workers' RSS. Target: >= 1,000 msg/s on 2 cores.

    .venv/bin/python bench/dispatch.py [messages] [worker concurrency]
"""

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from _processes import celery_worker, free_port, group_rss_mib, start, stop, wait_for_port
from _setup import ROOT, fresh_database

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def carrier_capacity(url: str, seconds: float = 3.0, threads: int = 4) -> float:
    """Requests/s the carrier answers, sent by the smsc backend like the workers do."""
    from providers.smsc import SmscProvider

    def client_loop(counter: list[int], stop_at: float) -> None:
        provider = SmscProvider(login="bench", password="bench", sender="", base_url=url, timeout=5)
        message = type("M", (), {"to": "+79161234567", "body": "capacity", "segments": 1, "pk": None})()
        while time.monotonic() < stop_at:
            provider.send(message)
            counter[0] += 1

    counters = [[0] for _ in range(threads)]
    stop_at = time.monotonic() + seconds
    workers = [threading.Thread(target=client_loop, args=(c, stop_at)) for c in counters]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(c[0] for c in counters) / seconds


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    os.environ.update(REDIS_URL=REDIS_URL, CELERY_BROKER_URL=REDIS_URL)
    database_url = fresh_database()
    sys.path.insert(0, str(ROOT))
    import redis
    from django.conf import settings

    from smsgate.models import Message, Tenant
    from smsgate.services import BulkItem, submit_many
    from smsgate.tasks import sweep_due_messages_task

    redis.Redis.from_url(REDIS_URL).flushdb()
    port = free_port()
    carrier_url = f"http://127.0.0.1:{port}"
    temp = Path(tempfile.gettempdir())
    carrier = start([sys.executable, str(ROOT / "bench" / "fast_carrier.py"), str(port)], {},
                    temp / "bench-carrier.log")
    worker = None
    try:
        wait_for_port(port)
        capacity = carrier_capacity(carrier_url)
        before = requests.get(f"{carrier_url}/count", timeout=5).json()["requests"]
        tenant = Tenant.objects.get(slug="default")
        submit_many(tenant=tenant, items=(BulkItem(to="+79161234567", body=f"bench {n}") for n in range(count)),
                    phones_are_e164=True, return_ids=False)
        env = {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "CELERY_BROKER_URL": REDIS_URL,
               "SMS_PRIMARY_PROVIDER": "smsc", "SMSC_LOGIN": "bench", "SMSC_PASSWORD": "bench",
               "SMSC_BASE_URL": carrier_url, "LOG_LEVEL": "WARNING"}
        worker = celery_worker(env, temp / "bench-dispatch-worker.log", concurrency=concurrency)
        time.sleep(4)  # worker start-up, not counted
        settings.CELERY_BROKER_URL = REDIS_URL
        started = time.monotonic()
        rss = 0.0
        while Message.objects.filter(status="sent").count() < count:
            sweep_due_messages_task.delay()  # what beat does every 5 s, here as often as useful
            rss = max(rss, group_rss_mib(worker))
            time.sleep(0.5)
            if time.monotonic() - started > 300:
                raise SystemExit("timed out; see the worker log in the temp folder")
        elapsed = time.monotonic() - started
        counts = requests.get(f"{carrier_url}/count", timeout=5).json()
    finally:
        if worker:
            stop(worker)
        stop(carrier)
    rate = count / elapsed
    duplicates = counts["requests"] - before - count
    print(f"messages                  {count}")
    print(f"fake carrier capacity     {capacity:.0f} requests/s (smsc backend, 4 threads)")
    print(f"dispatch                  {rate:.0f} msg/s with {concurrency} worker processes (target >= 1000)")
    print(f"ratio to carrier capacity {rate / capacity:.2f}")
    print(f"duplicate sends           {duplicates}")
    print(f"worker RSS (all procs)    {rss:.0f} MiB")


if __name__ == "__main__":
    main()
