"""Real processes for tests: celery workers, sweeper loops and gunicorn against the test database.

Everything runs on loopback, is bounded in time, and is stopped by the test
(kill -9 included). Sweepers stand in for celery beat, looping faster than
its 5 s so a test takes seconds.

The suite must pass on a slow, busy 2-core machine, where booting one of these
processes can take tens of seconds: tests wait for an outcome with
`wait_until` and a generous deadline (waiting longer costs nothing when all is
well), never with a fixed sleep, and never assert how long something took.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
SWEEPER = """
import os, time, django
django.setup()
from smsgate.sending.tasks import sweep_due_messages_task
stop_at = time.monotonic() + float(os.environ["CHAOS_SECONDS"])
while time.monotonic() < stop_at:
    try:
        sweep_due_messages_task()
    except Exception as exc:  # broker or database briefly away: try again, like beat would
        print("sweep failed:", type(exc).__name__, exc, flush=True)
    time.sleep(0.3)
"""


def database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Processes:
    """Starts processes with one environment and stops them all at the end."""

    def __init__(self, env: dict, logs: Path):
        self.env = {**os.environ, "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING", **env}
        self.logs = logs
        self.running: list[subprocess.Popen] = []

    def _start(self, name: str, args: list[str], **env: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}-{len(self.running)}.log", "w")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(args, cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.running.append(process)
        return process

    def worker(self, concurrency: int = 2) -> subprocess.Popen:
        return self._start("worker", [sys.executable, "-m", "celery", "-A", "smsgate", "worker", "--loglevel=warning",
                                      f"--concurrency={concurrency}", "--without-gossip", "--without-mingle"])

    def web(self, port: int, **env: str) -> subprocess.Popen:
        """gunicorn as production runs it (gunicorn.conf.py), with one worker process."""
        return self._start("web", [sys.executable, "-m", "gunicorn", "smsgate.wsgi", "--config", "gunicorn.conf.py",
                                   "--workers", "1", "--bind", f"127.0.0.1:{port}"], **env)

    def runserver(self, port: int) -> subprocess.Popen:
        """Django's development server as Procfile.dev runs it (without the autoreloader)."""
        return self._start("runserver", [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"])

    def sweeper(self, seconds: float = 600) -> subprocess.Popen:
        """A loop claiming due messages every 0.3 s (what beat does every 5 s), for `seconds` at most.

        The bound only stops a sweeper whose test died without stopping it; it must outlast every wait
        of the test, however slow the machine (600 s: longer than any test may run, see pytest timeouts).
        """
        return self._start("sweeper", [sys.executable, "-c", SWEEPER], CHAOS_SECONDS=str(seconds))

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """kill -9 the process and its children (prefork pool), as a crash or OOM kill would."""
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=60)

    def stop_all(self, grace: float = 60) -> None:
        """SIGTERM every process, and SIGKILL those still running `grace` seconds later.

        A worker finishing its task or gunicorn its requests can take a while on a busy machine; a test
        must not fail in its teardown for it.
        """
        for process in self.running:
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill(process)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    """Signal the process and its children (it leads its own session)."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answering(url: str, process: subprocess.Popen, log_hint: str = "") -> bool:
    """Does the web server `process` answer a GET of `url` (any status)? A predicate for `wait_until`.

    Refused until it listens; then a read timeout while its worker still loads the app, which takes
    tens of seconds on a busy machine: both are "not yet". The process having exited fails the test.
    """
    try:
        requests.get(url, timeout=2)
        return True
    except (requests.ConnectionError, requests.Timeout):
        assert process.poll() is None, f"the web server exited; {log_hint}"
        return False


BOOT_TIMEOUT = 120  # seconds a web server may take to answer after it was started, on a slow, busy machine


def wait_until(predicate, timeout: float, every: float = 0.3) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds have passed; its last answer.

    Give a deadline many times what the wait takes on a quiet machine: it only matters when the test fails.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()
