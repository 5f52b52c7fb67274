"""Latency: POST /api/v1/sms/send -> the carrier receives the message, at a steady rate.

Runs what `make run` runs, the production way: gunicorn (gunicorn.conf.py),
a celery worker and celery beat (django-celery-beat's schedule, as
setup_periodic_tasks writes it), against a loopback fake carrier
(bench/fast_carrier.py, SMSC's send.php) that notes when each text arrives.
Sends at a steady rate (open loop: each request goes at its planned time, on
one of many keep-alive connections), each message with its own text, then
matches every text the API accepted with its arrival at the carrier.

Prints the rate reached, the API's own answer time, and submit -> carrier
p50/p95/p99/max; messages accepted but never received are "lost" (must be 0).
Target: p99 < 1 s at 300 msg/s on 2 cores.

    .venv/bin/python bench/latency.py [rate per second] [seconds] [worker concurrency]
"""

import http.client
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from _processes import celery_worker, free_port, group_cpu_seconds, machine_cpu_seconds, start, stop, wait_for_port
from _setup import ROOT, fresh_database

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
CONNECTIONS = 64
PHONE = "+79161234567"


class Driver:
    """Sends `rate` requests a second for `seconds` from a pool of keep-alive connections; records each one."""

    def __init__(self, port: int, key: str, rate: float, seconds: float):
        self.port, self.key, self.rate, self.seconds = port, key, rate, seconds
        self.total = int(rate * seconds)
        self.next = 0
        self.lock = threading.Lock()
        self.sent: dict[str, float] = {}  # text -> when its request started (accepted ones only)
        self.answer_ms: list[float] = []
        self.refused: dict[int, int] = {}  # status -> count
        self.behind = 0  # requests that started more than 50 ms after their planned time

    def run(self) -> float:
        self.started = time.time()
        threads = [threading.Thread(target=self._loop) for _ in range(CONNECTIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.time() - self.started

    def _loop(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        while True:
            with self.lock:
                n = self.next
                self.next += 1
            if n >= self.total:
                break
            planned = self.started + n / self.rate
            if (wait := planned - time.time()) > 0:
                time.sleep(wait)
            text = f"latency {n}"
            body = json.dumps({"phone": PHONE, "message": text})
            at = time.time()
            self.behind += at - planned > 0.05
            try:
                connection.request("POST", "/api/v1/sms/send", body, headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.refused[0] = self.refused.get(0, 0) + 1
                continue
            if response.status == 202:
                self.sent[text] = at
                self.answer_ms.append((time.time() - at) * 1000)
            else:
                self.refused[response.status] = self.refused.get(response.status, 0) + 1
        connection.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def api_key() -> str:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("create_api_key", "--tenant", "bench", "--create-tenant", stdout=out, stderr=io.StringIO())
    call_command("setup_periodic_tasks", stdout=io.StringIO())
    return out.getvalue().strip().splitlines()[-1]


def main() -> None:
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 300
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20
    concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    database_url = fresh_database()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    key = api_key()
    temp = Path(tempfile.gettempdir())
    carrier_port, web_port = free_port(), free_port()
    carrier_url = f"http://127.0.0.1:{carrier_port}"
    env = {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "CELERY_BROKER_URL": REDIS_URL,
           "SMS_PRIMARY_PROVIDER": "smsc", "SMSC_LOGIN": "bench", "SMSC_PASSWORD": "bench",
           "SMSC_BASE_URL": carrier_url, "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "127.0.0.1",
           "API_RATE_LIMIT": "1000000/min"}
    processes = [start([sys.executable, str(ROOT / "bench" / "fast_carrier.py"), str(carrier_port)], {},
                       temp / "bench-latency-carrier.log")]
    try:
        web = start([sys.executable, "-m", "gunicorn", "smsgate.wsgi", "--config", str(ROOT / "gunicorn.conf.py"),
                     "--bind", f"127.0.0.1:{web_port}", "--log-level", "warning", "--access-logfile", "/dev/null"],
                    env, temp / "bench-latency-web.log")
        worker = celery_worker(env, temp / "bench-latency-worker.log", concurrency=concurrency)
        beat = start([sys.executable, "-m", "celery", "-A", "smsgate", "beat", "--loglevel=warning"], env,
                     temp / "bench-latency-beat.log")
        processes += [web, worker, beat]
        wait_for_port(carrier_port)
        wait_for_port(web_port)
        time.sleep(5)  # worker and beat start-up
        warm = Driver(web_port, key, 50, 2)  # every gunicorn process and pool connection once
        warm.run()
        time.sleep(2)
        cpu_before = {"web": group_cpu_seconds(web), "worker": group_cpu_seconds(worker)}
        machine_before = machine_cpu_seconds()
        driver = Driver(web_port, key, rate, seconds)
        taken = driver.run()
        cpu_after = {"web": group_cpu_seconds(web), "worker": group_cpu_seconds(worker)}
        machine_after = machine_cpu_seconds()
        deadline = time.time() + 30  # the sweeper's safety net runs every 5 s
        while True:
            arrivals = requests.get(f"{carrier_url}/arrivals", timeout=10).json()
            if all(text in arrivals for text in driver.sent) or time.time() > deadline:
                break
            time.sleep(1)
    finally:
        for process in reversed(processes):
            stop(process)
    latencies = [(arrivals[text] - at) * 1000 for text, at in driver.sent.items() if text in arrivals]
    lost = len(driver.sent) - len(latencies)
    accepted = len(driver.sent)
    busy = (machine_after[0] - machine_before[0]) / (machine_after[1] - machine_before[1])
    print(f"asked                     {rate:.0f} msg/s for {seconds:.0f} s ({driver.total} requests, "
          f"{CONNECTIONS} keep-alive connections, worker concurrency {concurrency})")
    print(f"reached                   {accepted / taken:.0f} accepted/s; {driver.behind} requests started "
          f">50 ms late; refused {driver.refused or 'none'}")
    print(f"API answer (202)          p50 {statistics.median(driver.answer_ms):.0f} ms, "
          f"p99 {percentile(driver.answer_ms, 0.99):.0f} ms")
    if latencies:
        print(f"submit -> carrier         p50 {percentile(latencies, 0.5):.0f} ms, "
              f"p95 {percentile(latencies, 0.95):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms, "
              f"max {max(latencies):.0f} ms (target p99 < 1000 ms)")
    print(f"lost                      {lost} of {accepted} accepted")
    for name in ("web", "worker"):
        print(f"CPU per message, {name:8s} {(cpu_after[name] - cpu_before[name]) / max(accepted, 1) * 1000:.2f} ms")
    print(f"machine CPU busy          {busy:.0%} of {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
