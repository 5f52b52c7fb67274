"""Dispatch throughput: messages/s from Postgres through real celery workers to a fake carrier.

The carrier is bench/fast_carrier.py (SMSC.ru's send.php, asyncio) in its own
process. Prints its capacity (requests/s straight at it through the smsc
backend), the end-to-end dispatch rate (until the last outcome was written),
their ratio, duplicates, the workers' RSS, and CPU per message of the workers,
the carrier and the database's Postgres backends, with how much of the
machine other processes used meanwhile (on a shared machine the rate moves
with their load; CPU per message much less). Target: dispatch >= 50 % of the
carrier's capacity measured through the same client.

The messages are submitted first; the timed part starts with one sweep (what
a bulk submit's commit publishes) and then sweeps every 5 s as beat does: the
workers keep themselves fed (each chunk of a full sweep sweeps again when done).

    .venv/bin/python bench/dispatch.py [messages] [worker concurrency]

BENCH_ROUTING=cheapest: the tenant routes cheapest first (smsc, then twilio, which the price list makes
dearer) with a price list of 600 rows, so each chunk loads prices and orders the chain per message.
"""

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from _processes import (
    celery_worker,
    cpu_seconds,
    free_port,
    group_cpu_seconds,
    group_rss_mib,
    machine_cpu_seconds,
    start,
    stop,
    wait_for_port,
)
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


def postgres_backends(database: str) -> list[int]:
    """The server processes serving `database` (the workers keep theirs open)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
        return [pid for (pid,) in cursor.fetchall()]


def cpu_snapshot(worker, carrier, database: str) -> dict:
    backends = postgres_backends(database)
    busy, total = machine_cpu_seconds()
    return {"worker": group_cpu_seconds(worker), "carrier": group_cpu_seconds(carrier), "bench": time.process_time(),
            "machine": busy, "machine total": total, "postgres": {pid: cpu_seconds([pid]) for pid in backends}}


def cpu_report(before: dict, after: dict, count: int) -> list[str]:
    """CPU per message by process, and how busy the whole machine was (other people's work included)."""
    postgres = sum(seconds - before["postgres"].get(pid, 0.0) for pid, seconds in after["postgres"].items())
    ours = {"workers": after["worker"] - before["worker"], "carrier": after["carrier"] - before["carrier"],
            "postgres": postgres, "this script": after["bench"] - before["bench"]}
    busy = after["machine"] - before["machine"]
    total = after["machine total"] - before["machine total"]
    lines = [f"CPU per message, {name:11s} {seconds / count * 1000:.2f} ms" for name, seconds in ours.items()]
    lines.append(f"machine CPU busy          {busy / total:.0%} of {os.cpu_count()} cores; "
                 f"{(busy - sum(ours.values())) / total:.0%} by other processes (Redis included)")
    return lines


def least_cost_routing(tenant) -> str:
    """Cheapest first over a price list of 300 prefixes for each of two carriers; smsc is the cheaper to +7."""
    from decimal import Decimal

    from smsgate.models import CarrierPrice, Routing

    tenant.primary_provider, tenant.fallback_providers, tenant.routing = "twilio", "smsc", Routing.CHEAPEST
    tenant.save()
    rows = [CarrierPrice(provider=provider, prefix=str(prefix), price=Decimal(price), currency="USD")
            for prefix in [7, *range(200, 499)] for provider, price in (("smsc", "0.010"), ("twilio", "0.020"))]
    CarrierPrice.objects.bulk_create(rows)
    return f"cheapest first, {len(rows)} prices"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    os.environ.update(REDIS_URL=REDIS_URL, CELERY_BROKER_URL=REDIS_URL)
    database_url = fresh_database()
    sys.path.insert(0, str(ROOT))
    import redis
    from django.conf import settings
    from django.db.models import Max
    from django.utils import timezone

    from smsgate.models import Message, Tenant
    from smsgate.sending.submit import SmsRequest, submit
    from smsgate.sending.tasks import sweep_due_messages_task

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
        routing = least_cost_routing(tenant) if os.environ.get("BENCH_ROUTING") == "cheapest" else "in order"
        submit(tenant, [SmsRequest(to="+79161234567", body=f"bench {n}") for n in range(count)])
        redis.Redis.from_url(REDIS_URL).flushdb()  # the sweep submit published: the timed one starts below
        env = {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "CELERY_BROKER_URL": REDIS_URL,
               "SMS_PRIMARY_PROVIDER": "smsc", "SMSC_LOGIN": "bench", "SMSC_PASSWORD": "bench",
               "SMSC_BASE_URL": carrier_url, "LOG_LEVEL": "WARNING"}
        worker = celery_worker(env, temp / "bench-dispatch-worker.log", concurrency=concurrency)
        time.sleep(4)  # worker start-up, not counted
        settings.CELERY_BROKER_URL = REDIS_URL
        database = settings.DATABASES["default"]["NAME"]
        cpu_before = cpu_snapshot(worker, carrier, database)
        started = timezone.now()
        rss = 0.0
        swept_at = 0.0
        while Message.objects.filter(status="sent").count() < count:
            if time.monotonic() - swept_at >= 5:  # what the bulk submit's commit, then beat every 5 s, publish
                sweep_due_messages_task.delay()
                swept_at = time.monotonic()
            rss = max(rss, group_rss_mib(worker))
            time.sleep(0.5)
            if (timezone.now() - started).total_seconds() > 300:
                raise SystemExit("timed out; see the worker log in the temp folder")
            cpu_after = cpu_snapshot(worker, carrier, database)
        # Until the last outcome was written, not until this loop next looked.
        elapsed = (Message.objects.aggregate(last=Max("updated_at"))["last"] - started).total_seconds()
        counts = requests.get(f"{carrier_url}/count", timeout=5).json()
    finally:
        if worker:
            stop(worker)
        stop(carrier)
    rate = count / elapsed
    duplicates = counts["requests"] - before - count
    print(f"messages                  {count}")
    print(f"routing                   {routing}")
    print(f"fake carrier capacity     {capacity:.0f} requests/s (smsc backend, 4 threads)")
    print(f"dispatch                  {rate:.0f} msg/s with {concurrency} worker processes")
    print(f"ratio to carrier capacity {rate / capacity:.2f} (target >= 0.50)")
    print(f"duplicate sends           {duplicates}")
    print(f"worker RSS (all procs)    {rss:.0f} MiB")
    print("\n".join(cpu_report(cpu_before, cpu_after, count)))


if __name__ == "__main__":
    main()
