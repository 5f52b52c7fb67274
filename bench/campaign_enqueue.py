"""How long a 100k-recipient campaign takes to enqueue, and whether memory stays flat.

Prints: CSV import time, enqueue time (target < 10 s for 100k), messages/s,
Python heap peak during enqueue (tracemalloc) for N and for N/10 recipients
(flat memory means the two peaks are about equal), and peak RSS.

    .venv/bin/python bench/campaign_enqueue.py [recipients]
"""

import resource
import sys
import time
import tracemalloc

from _setup import fresh_database


def run(recipients: int) -> dict:
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
    tracemalloc.start()
    started = time.perf_counter()
    written = campaign_enqueue(campaign.pk)
    enqueued = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert written == recipients == Message.objects.filter(source_id=str(campaign.pk)).count()
    return {"import_s": imported, "enqueue_s": enqueued, "peak_mib": peak / 2**20}


def main() -> None:
    recipients = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    fresh_database()
    small = run(recipients // 10)
    large = run(recipients)
    print(f"recipients                 {recipients}")
    print(f"csv import                 {large['import_s']:.2f} s")
    print(f"enqueue (messages written) {large['enqueue_s']:.2f} s  (target < 10 s)")
    print(f"enqueue rate               {recipients / large['enqueue_s']:.0f} messages/s")
    print(f"heap peak while enqueueing {large['peak_mib']:.1f} MiB for {recipients}, "
          f"{small['peak_mib']:.1f} MiB for {recipients // 10} (flat if about equal)")
    print(f"peak RSS of this process   {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
