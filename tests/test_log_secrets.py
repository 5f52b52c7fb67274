"""Webhook secrets sent in query strings (?token=, ?secret=) appear in no log, while the paths do.

A real gunicorn as production runs it (gunicorn.conf.py: access log on) and
runserver as Procfile.dev runs it, at INFO, receive a TriboPay postback and an
SMSC delivery receipt with their secrets in the URL, accepted and refused.
"""

import os
import runpy
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
import requests
from django.conf import settings
from gunicorn import glogging
from gunicorn.config import Config

from smsgate.log_redaction import redact
from tests.chaos.harness import BOOT_TIMEOUT, ROOT, Processes, answering, free_port, wait_until
from tests.tribopay_support import SECRET, postback

pytestmark = pytest.mark.slow

SMSC_SECRET = "smsc-callback-secret-4d8e1f"
TRIBOPAY = "/api/webhooks/tribopay/"
SMSC = "/api/v1/sms/delivery/smsc"
PATIENCE = 60  # seconds a request to the server under test may take on a slow, busy machine


@pytest.fixture
def processes(tmp_path):
    processes = Processes({"REDIS_URL": settings.REDIS_URL, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                           "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "INFO", "TRIBOPAY_WEBHOOK_SECRET": SECRET,
                           "SMSC_LOGIN": "gateway", "SMSC_PASSWORD": "pw", "SMSC_WEBHOOK_SECRET": SMSC_SECRET},
                          tmp_path)
    yield processes
    processes.stop_all()


def logs(directory: Path) -> str:
    return "".join(path.read_text(errors="replace") for path in sorted(directory.glob("*.log")))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("server", ["gunicorn", "runserver"])
def test_secrets_in_webhook_urls_are_in_no_log(server, processes, tmp_path):
    port = free_port()
    process = processes.web(port) if server == "gunicorn" else processes.runserver(port)
    base = f"http://127.0.0.1:{port}"
    assert wait_until(lambda: answering(f"{base}/healthz", process, f"{server}'s log:\n{logs(tmp_path)}"),
                      timeout=BOOT_TIMEOUT, every=0.2), f"{server} did not answer:\n{logs(tmp_path)}"

    accepted = requests.post(f"{base}{TRIBOPAY}?token={SECRET}", json=postback(), timeout=PATIENCE)
    refused = requests.post(f"{base}{TRIBOPAY}?token={SECRET}-but-wrong", json=postback(), timeout=PATIENCE)
    receipt = requests.post(f"{base}{SMSC}?secret={SMSC_SECRET}", data={"id": "1", "phone": "79991234567",
                                                                       "status": "1"}, timeout=PATIENCE)
    forged = requests.post(f"{base}{SMSC}?secret={SMSC_SECRET}x", data={"id": "1"}, timeout=PATIENCE)
    assert (accepted.status_code, refused.status_code, receipt.status_code, forged.status_code) == (200, 403, 200, 403)

    # The last request is logged once its line is there; then stop the server so everything is written.
    assert wait_until(lambda: logs(tmp_path).count(SMSC) >= 2, timeout=PATIENCE), logs(tmp_path)
    processes.stop_all()
    output = logs(tmp_path)
    assert SECRET not in output and SMSC_SECRET not in output, output
    assert output.count(TRIBOPAY) >= 2 and output.count(SMSC) >= 2, output  # each request is still logged


def test_gunicorn_error_log_lines_about_a_request_have_its_secrets_redacted(tmp_path):
    """What a worker logs when handling a request fails names its URI: gunicorn.conf.py's hook redacts it."""
    config = Config()
    config.set("errorlog", str(tmp_path / "error.log"))
    logger = glogging.Logger(config)
    with mock.patch.dict(os.environ):  # the file sets defaults for the workers' settings
        hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    hooks["post_worker_init"](SimpleNamespace(log=logger))

    logger.error("Error handling request %s %s", "POST", f"{TRIBOPAY}?token={SECRET}")

    written = (tmp_path / "error.log").read_text()
    assert f"POST {TRIBOPAY}?token=[redacted]" in written and SECRET not in written


@pytest.mark.parametrize(("line", "expected"), [
    (f"POST {SMSC}?secret=abc&tenant=acme HTTP/1.1", f"POST {SMSC}?secret=[redacted]&tenant=acme HTTP/1.1"),
    ("GET /x?tenant=acme&api_key=k1&webhook_token=t2",
     "GET /x?tenant=acme&api_key=[redacted]&webhook_token=[redacted]"),
    ("GET /api/v1/sms/logs?start_date=2026-01-01 HTTP/1.1", "GET /api/v1/sms/logs?start_date=2026-01-01 HTTP/1.1"),
])
def test_secret_looking_query_parameters_are_redacted_and_the_rest_kept(line, expected):
    assert redact(line) == expected
