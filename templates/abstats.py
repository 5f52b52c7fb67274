"""The statistics of an A/B test, with no Django: which variant converts best, and how sure we can be.

The test is a pooled two-proportion z-test of the best variant against each other one. With more than two
variants the best is compared with each of the k-1 others and the p-values are Bonferroni-corrected (each
multiplied by k-1), so the confidence stated holds for the claim "better than every other variant" at once.
The test is two-sided although the best is then declared better: picking the best after looking at the data
is what a one-sided test would not account for, and two-sided costs little sample.

Looking again and again at growing data and stopping at the first significant look inflates false winners
(two equal variants checked every few minutes "win" at 95 % far more often than 5 % of the time). So a test
looks only when the smallest variant's sample reaches the minimum sample, then each time it is twice the
sample of the last look; look k (from 0) must reach a confidence of 100 (1 - alpha / 2^(k+1)),
alpha = 1 - confidence / 100. The alphas add up to at most alpha over every look (alpha spending), so the
stated confidence holds for the test as a whole.
"""

import math
from dataclasses import dataclass
from statistics import NormalDist

STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class Arm:
    """One variant's sample: messages sent, and how many of them converted."""

    label: str
    sent: int
    conversions: int

    @property
    def rate(self) -> float:
        return self.conversions / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class Comparison:
    best: Arm | None  # None when no variant converts better than another (a tie, no conversions)
    confidence: float  # in %: 100 x (1 - the Bonferroni-corrected p-value of the weakest comparison)


def two_proportion_p_value(a: Arm, b: Arm) -> float:
    """Two-sided p-value of "a and b convert at the same rate", pooled z-test.

        p = (k_a + k_b) / (n_a + n_b)
        z = (k_a/n_a - k_b/n_b) / sqrt(p (1 - p) (1/n_a + 1/n_b))
        p-value = 2 (1 - Phi(|z|))

    No variance (both never or both always convert) or no sample is no evidence: 1.
    """
    if not a.sent or not b.sent:
        return 1.0
    pooled = (a.conversions + b.conversions) / (a.sent + b.sent)
    variance = pooled * (1 - pooled) * (1 / a.sent + 1 / b.sent)
    if variance <= 0:
        return 1.0
    z = (a.rate - b.rate) / math.sqrt(variance)
    return 2 * (1 - STANDARD_NORMAL.cdf(abs(z)))


def compare(arms: list[Arm]) -> Comparison:
    """The best arm (highest rate, ties broken by label so the answer never depends on order) and the confidence
    that it beats every other one. Fewer than two arms: nothing to compare."""
    if len(arms) < 2:
        return Comparison(best=None, confidence=0.0)
    best = sorted(arms, key=lambda arm: (-arm.rate, arm.label))[0]
    others = [arm for arm in arms if arm is not best]
    if any(arm.rate >= best.rate for arm in others):
        return Comparison(best=None, confidence=0.0)  # a tie at the top: nothing to choose
    worst_p = max(two_proportion_p_value(best, other) for other in others)
    corrected = min(1.0, worst_p * len(others))
    return Comparison(best=best, confidence=100 * (1 - corrected))


def next_look_sample(min_sample: int, last_look_sample: int) -> int:
    """The smallest variant's sample at which the next look is taken: the minimum, then twice the last look's."""
    return max(min_sample, 2 * last_look_sample)


def required_confidence(confidence: float, look: int) -> float:
    """The confidence (%) look `look` (from 0) must reach so that every look together keeps `confidence`."""
    return 100 * (1 - (1 - confidence / 100) / 2 ** (look + 1))


def wilson_interval(conversions: int, sent: int, confidence: float = 95.0) -> tuple[float, float]:
    """The Wilson score interval of a rate, in %: honest at small samples and at 0 % or 100 %."""
    if not sent:
        return 0.0, 0.0
    z = STANDARD_NORMAL.inv_cdf(0.5 + confidence / 200)
    rate = conversions / sent
    centre = (rate + z * z / (2 * sent)) / (1 + z * z / sent)
    half = z * math.sqrt(rate * (1 - rate) / sent + z * z / (4 * sent * sent)) / (1 + z * z / sent)
    return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)
