"""What smart encoding adds to counting segments, per body, measured side by side in one run.

Submit counts every body's segments (a campaign: 100k bodies at once); with smart
encoding on it calls `smart_encode` instead. Prints, for bodies already GSM-7 (the
common case), bodies with curly quotes (replaced) and bodies with an emoji (checked,
left as written): the time of each over N bodies and the ratio to plain counting.

    .venv/bin/python bench/smart_encoding.py [bodies]
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from providers.segments import count_segments, smart_encode  # noqa: E402

KINDS = {
    "gsm7": "Hi {n}, your order #{n} is ready for pick-up at our shop until 6 pm. Reply STOP to opt out.",
    "curly": "Hi {n}, your order’s ready – pick it up at “Ana’s” until 6 pm… Reply STOP to opt out.",
    "emoji": "Hi {n}, your order’s ready 🎉 pick it up at “Ana’s” until 6 pm. Reply STOP to opt out.",
}


def timed(function, bodies: list[str]) -> float:
    started = time.perf_counter()
    for body in bodies:
        function(body)
    return time.perf_counter() - started


def main(count: int) -> None:
    for kind, text in KINDS.items():
        bodies = [text.format(n=n) for n in range(count)]
        counting = min(timed(count_segments, bodies) for _ in range(3))
        smart = min(timed(smart_encode, bodies) for _ in range(3))
        print(f"{kind:6} {count} bodies: count_segments {counting:.3f} s, smart_encode {smart:.3f} s, "
              f"ratio {smart / counting:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
