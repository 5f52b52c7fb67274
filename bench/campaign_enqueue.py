"""How long a 100k-recipient campaign takes to enqueue, and whether memory stays flat.

Prints: CSV import time, enqueue time (target < 10 s for 100k), messages/s,
Python heap peak during enqueue (tracemalloc) for N and for N/10 recipients
(flat memory means the two peaks are about equal), and peak RSS.

tracemalloc hooks every allocation and about doubles the time of Python code,
so the enqueue time is measured on a campaign of its own, untraced; the heap
peaks come from two traced campaigns (their time is printed too).

    .venv/bin/python bench/campaign_enqueue.py [recipients]
"""

import os
import resource
import sys
import time
import tracemalloc

from _setup import fresh_database

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def run(recipients: int, *, traced: bool) -> dict:
    from campaigns.audience import import_csv
    from campaigns.models import Campaign
    from campaigns.services import campaign_enqueue, campaign_schedule, start_due_campaigns
    from smsgate.models import Message, Tenant

    tenant, _ = Tenant.objects.get_or_create(slug=f"bench{recipients}", defaults={"name": "bench",
                                                                                  "default_region": "BR"})
    campaign = Campaign.objects.create(tenant=tenant, name=f"bench {recipients}", target_url="https://x.example/p",
                                       body="Oi {name}, {PRENOM_ENFANT} te espera! Veja {URL}")
    rows = "\n".join(f"+55119{n:08d},Nome{n},Filho{n}" for n in range(recipients))
    started = time.perf_counter()
    result = import_csv(campaign, "phone,name,PRENOM_ENFANT\n" + rows)
    imported = time.perf_counter() - started
    assert result.added == recipients, result.errors[:3]
    del rows

    campaign_schedule(campaign)
    start_due_campaigns()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    written = campaign_enqueue(campaign.pk)
    enqueued = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    tracemalloc.stop()
    assert written == recipients == Message.objects.filter(source_id=str(campaign.pk)).count()
    return {"import_s": imported, "enqueue_s": enqueued, "peak_mib": peak / 2**20}


def main() -> None:
    recipients = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    os.environ.update(REDIS_URL=REDIS_URL, CELERY_BROKER_URL=REDIS_URL)
    fresh_database()
    run(10, traced=False)  # warm-up: first-use imports and connections are not the enqueue's memory
    small = run(recipients // 10, traced=True)
    large = run(recipients, traced=True)
    timed = run(recipients, traced=False)
    print(f"recipients                 {recipients}")
    print(f"csv import                 {timed['import_s']:.2f} s")
    print(f"enqueue (messages written) {timed['enqueue_s']:.2f} s  (target < 10 s)")
    print(f"enqueue rate               {recipients / timed['enqueue_s']:.0f} messages/s")
    print(f"enqueue under tracemalloc  {large['enqueue_s']:.2f} s  (how earlier runs measured it)")
    print(f"heap peak while enqueueing {large['peak_mib']:.1f} MiB for {recipients}, "
          f"{small['peak_mib']:.1f} MiB for {recipients // 10} (flat if about equal)")
    print(f"peak RSS of this process   {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
