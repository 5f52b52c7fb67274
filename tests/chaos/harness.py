"""Real processes for tests: celery workers, sweeper loops and gunicorn against the test database.

Everything runs on loopback, is bounded in time, and is stopped by the test
(kill -9 included). Sweepers stand in for celery beat, looping faster than
its 5 s so a test takes seconds.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
SWEEPER = """
import os, time, django
django.setup()
from smsgate.tasks import sweep_due_messages_task
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

    def sweeper(self, seconds: float) -> subprocess.Popen:
        """A loop claiming due messages every 0.3 s for `seconds` (what beat does every 5 s)."""
        return self._start("sweeper", [sys.executable, "-c", SWEEPER], CHAOS_SECONDS=str(seconds))

    @staticmethod
    def kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Signal the process and its children (prefork pool), as a crash or OOM kill would."""
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        process.wait(timeout=20)

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                self.kill(process, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, every: float = 0.3) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()
