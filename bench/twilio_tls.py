"""TLS connection reuse through the Twilio backend: new connections per message, before and now.

A loopback fake Twilio (tests/fakes/twilio.py) serves HTTPS in its own
process, with a certificate made at start (tests/fakes/tls.py); the real
`twilio` SDK verifies it through REQUESTS_CA_BUNDLE. Each message is sent as
the dispatcher sends it: the route is asked of `route_for` for every
message, then `route.provider.send`.

Two ways are measured side by side, in alternating rounds, after a warm-up:
- "new backend per route" (before issue 15): the registry's instances are
  dropped before every route_for, so each message builds a Twilio Client and
  requests.Session, hence a new TCP connection and TLS handshake;
- "reused backend" (now): route_for returns the instance built for the same
  (backend, account, configuration), whose session keeps its connection alive.

Prints, per way: messages, TCP connections the fake accepted after warm-up,
connections per message, msg/s and CPU per message of the sending process
(route_for's query included); then the ratios. Target: 0 new connections per
message once warm (at most the SDK's pool size in all).

    .venv/bin/python bench/twilio_tls.py [messages per round] [rounds]
"""

import multiprocessing
import os
import sys
import tempfile
import time

os.environ.setdefault("BENCH_DATABASE", "smsgate_bench_twilio_tls")  # not the other benches' database

from _setup import fresh_database  # noqa: E402  (puts the project on sys.path)

from tests.fakes import twilio as fake_twilio  # noqa: E402
from tests.fakes.tls import self_signed  # noqa: E402

WARM_UP = 10


def serve(pipe, cert: str, key: str) -> None:
    """The fake, in its own process: answers "count" with (connections accepted, messages received)."""
    with fake_twilio.FakeTwilio(tls=(cert, key)) as fake:
        pipe.send((fake.url, fake.account_sid, fake.auth_token))
        while pipe.recv() == "count":
            pipe.send((fake.connections, len(fake.sent)))


def main(messages: int, rounds: int) -> None:
    cert, key = self_signed(tempfile.mkdtemp(prefix="twilio-tls-"))
    os.environ["REQUESTS_CA_BUNDLE"] = cert  # the SDK's requests.Session verifies the fake against it
    fresh_database()
    from django.conf import settings
    from django.db import connections

    from providers.registry import instances, route_for
    from smsgate.models import Message, Tenant

    tenant, _ = Tenant.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    connections.close_all()  # the fake's process must not inherit the database connection
    pipe, child_end = multiprocessing.Pipe()
    fake = multiprocessing.get_context("fork").Process(target=serve, args=(child_end, cert, key), daemon=True)
    fake.start()
    url, account_sid, auth_token = pipe.recv()
    settings.TWILIO_API_BASE_URL, settings.TWILIO_ACCOUNT_SID = url, account_sid
    settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER = auth_token, fake_twilio.FROM_NUMBER
    message = Message(to="+14155550123", body="TLS bench", segments=1)

    def count() -> tuple[int, int]:
        pipe.send("count")
        return pipe.recv()

    def send(n: int, fresh: bool) -> None:
        for _ in range(n):
            if fresh:
                instances.clear()
            route_for("twilio", tenant).provider.send(message)

    totals = {True: [0, 0, 0.0, 0.0], False: [0, 0, 0.0, 0.0]}  # messages, connections, seconds, CPU seconds
    for fresh in (True, False):
        send(WARM_UP, fresh)
    for _ in range(rounds):
        for fresh in (True, False):
            send(1, fresh)  # this way's connection (or none) is set up before counting
            (opened, _), started, cpu = count(), time.perf_counter(), time.process_time()
            send(messages, fresh)
            elapsed, used = time.perf_counter() - started, time.process_time() - cpu
            total = totals[fresh]
            total[0] += messages
            total[1] += count()[0] - opened
            total[2] += elapsed
            total[3] += used
    received = count()[1]
    pipe.send("stop")
    fake.join(timeout=10)

    print(f"TLS loopback fake Twilio (own process), real SDK, route_for per message; {rounds} alternating "
          f"rounds of {messages} messages each way, after {WARM_UP} warm-up messages")
    for fresh, label in ((True, "new backend per route (before)"), (False, "reused backend (now)")):
        sent, opened, seconds, cpu = totals[fresh]
        print(f"  {label:31} messages {sent:5}  new connections {opened:5} ({opened / sent:.2f}/message)  "
              f"{sent / seconds:6.1f} msg/s  CPU {cpu / sent * 1000:.2f} ms/message")
    (before, before_cpu), (now, now_cpu) = ((t[0] / t[2], t[3] / t[0]) for t in (totals[True], totals[False]))
    print(f"  reused vs new per route: {now / before:.2f}x msg/s, {now_cpu / before_cpu:.2f}x CPU per message")
    expected = 2 * WARM_UP + rounds * 2 * (messages + 1)
    print(f"  the fake received {received} of {expected} messages sent")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500, int(sys.argv[2]) if len(sys.argv) > 2 else 2)
