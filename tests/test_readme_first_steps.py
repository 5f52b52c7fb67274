"""The README's first steps, run exactly as written on a fresh copy of the repository.

The copy holds the working tree's files (what `git clone` would give once committed) and no .env;
its .venv links to this test's virtualenv, so `make run` installs nothing (no network) but runs every
other step itself: .env from .env.development, migrations, schedules, collectstatic, then honcho with
web, worker, beat and the ready line. The only change to the block is the port: localhost:8000 becomes
a free port (WEB_PORT), so the test never meets another server. Every wait polls with a generous deadline.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.chaos.harness import database_url

REPO = Path(__file__).resolve().parent.parent
DEADLINE = 300  # seconds for each outcome on a slow, busy machine
PHONE, RECOVERY_PHONE = "+5511987654321", "+5511912345678"

pytestmark = pytest.mark.timeout(1200)


def first_steps_block() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## First steps", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def fresh_copy(target: Path) -> None:
    """The repository's files as a clone has them, with a .venv that is already installed."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
            (target / name).chmod(source.stat().st_mode)
    venv = target / ".venv"
    venv.mkdir()
    for entry in Path(sys.prefix).iterdir():
        if entry.name != ".installed":
            (venv / entry.name).symlink_to(entry)
    (venv / ".installed").touch()  # newer than requirements.txt: `make` installs nothing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def poll(what: str, check, deadline: float = DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        result = check()
        if result:
            return result
        time.sleep(2)
    raise AssertionError(f"not within {deadline} s: {what}")


def query(db: str, sql: str, *params):
    """Rows of `sql`, or none while the database is not created or migrated yet."""
    try:
        with psycopg.connect(db, connect_timeout=30) as connection:
            return connection.execute(sql, params).fetchall()
    except (psycopg.OperationalError, psycopg.errors.UndefinedTable):
        return []


@pytest.fixture
def first_steps_database(db) -> str:
    """A database of its own that does not exist yet: `make run` must create it, as on a new machine.

    Named after this run's test database, so that two suites on one server never share it.
    """
    server, test_database = database_url().rsplit("/", 1)
    name = f"{test_database}_first_steps"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"{server}/{name}"


@pytest.fixture
def clone(tmp_path):
    fresh_copy(tmp_path)
    return tmp_path


def test_the_readme_first_steps_reach_delivered_recovered_and_opted_out(clone, first_steps_database):
    port = free_port()
    block = first_steps_block().replace("localhost:8000", f"localhost:{port}")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_", "REDIS_", "CELERY_", "SMSGATE_", "DJANGO_", "TRIBOPAY_", "PUBLIC_"))}
    env["WEB_PORT"] = str(port)
    env["DATABASE_URL"] = db = first_steps_database  # the README's default database, under a name of its own
    log_path = clone / "first-steps.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        shell = subprocess.Popen(["bash", "-euo", "pipefail", "-c", block], cwd=clone, env=env, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert shell.wait(timeout=900) == 0, log_path.read_text()[-5000:]
        delivered = 'SELECT source_type FROM smsgate_message WHERE "to" = %s AND status = %s'
        poll("the SMS delivered", lambda: query(db, delivered, PHONE, "delivered"))
        poll("the recovery SMS delivered", lambda: ("payment",) in query(db, delivered, RECOVERY_PHONE, "delivered"))
        elapsed = time.monotonic() - started
        assert query(db, "SELECT o.keyword, t.slug FROM smsgate_optout o JOIN smsgate_tenant t ON t.id = o.tenant_id "
                         "WHERE o.phone = %s", PHONE) == [("STOP", "acme")]
        output = log_path.read_text(errors="replace")
        assert "STOP from +5511987654321: opted out of tenant 'acme'" in output
        assert '{"phone":["recipient opted out"]}' in output  # the send after STOP: 400 with the field error
        assert re.search(r"Recovery SMS #\d+ is due at .* \(in (9|10) s\)", output)
        poll("the ready line", lambda: f"smsgate is up: console http://localhost:{port}/admin/" in log_path.read_text())
        assert "SMS to +5511987654321 (1 segment(s)): Your order has shipped" in output
        output = log_path.read_text(errors="replace")
        # Beat's housekeeping logs at DEBUG; the work it hands out at INFO.
        assert "Task smsgate.sweep_due_messages[" not in output and "Sending due task" not in output
        assert "Task providers.console_receipt[" in output
        assert "No hostname was supplied" not in output
        print(f"README first steps: all three outcomes {elapsed:.0f} s after `make run` started")
    finally:
        os.killpg(shell.pid, signal.SIGTERM)  # make, honcho and what honcho started: this test's session only
        poll("make run stopped", lambda: subprocess.run(["pgrep", "-s", str(shell.pid)],
                                                         capture_output=True).returncode != 0, deadline=120)
