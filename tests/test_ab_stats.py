"""The statistics of an A/B test: the z-test, Bonferroni with more than two variants, ties, nothing converting."""

import random

import pytest

from templates.abstats import (
    Arm,
    compare,
    next_look_sample,
    required_confidence,
    two_proportion_p_value,
    wilson_interval,
)


def test_the_two_proportion_test_matches_the_textbook_value():
    # 20/100 against 10/100: pooled 0.15, z = 0.10 / sqrt(0.15 x 0.85 x 0.02) = 1.980, two-sided p = 0.0477.
    assert two_proportion_p_value(Arm("B", 100, 20), Arm("A", 100, 10)) == pytest.approx(0.0477, abs=1e-4)
    comparison = compare([Arm("A", 100, 10), Arm("B", 100, 20)])
    assert comparison.best.label == "B" and comparison.confidence == pytest.approx(95.23, abs=0.01)


def test_more_than_two_variants_are_corrected_for_the_extra_comparisons():
    """The best must beat each other one: the weakest comparison's p-value, times the k-1 comparisons."""
    two = compare([Arm("A", 100, 10), Arm("B", 100, 20)])
    three = compare([Arm("A", 100, 10), Arm("B", 100, 20), Arm("C", 100, 10)])
    assert three.best.label == "B"
    assert three.confidence == pytest.approx(100 - 2 * (100 - two.confidence), abs=1e-9)


@pytest.mark.parametrize("arms", [
    [Arm("A", 100, 15), Arm("B", 100, 15)],  # a tie
    [Arm("A", 100, 0), Arm("B", 100, 0)],  # nothing converts
    [Arm("A", 100, 100), Arm("B", 100, 100)],  # everything converts
    [Arm("A", 100, 30), Arm("B", 100, 30), Arm("C", 100, 5)],  # a tie at the top, whatever is below
    [Arm("A", 0, 0), Arm("B", 0, 0)],  # no sample
    [Arm("A", 500, 400)],  # a single variant
])
def test_no_winner_without_a_difference(arms):
    comparison = compare(arms)
    assert comparison.best is None and comparison.confidence == 0.0


def test_the_answer_does_not_depend_on_the_order_of_the_variants():
    arms = [Arm("A", 120, 12), Arm("B", 110, 25), Arm("C", 130, 14)]
    assert compare(arms) == compare(list(reversed(arms)))


def test_a_huge_sample_with_a_tiny_difference_is_significant_and_stays_a_number():
    comparison = compare([Arm("A", 10_000_000, 1_000_000), Arm("B", 10_000_000, 1_010_000)])
    assert comparison.best.label == "B" and 99.9 < comparison.confidence <= 100


def test_the_wilson_interval_is_honest_at_zero_and_small_samples():
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0, abs=1e-9) and high == pytest.approx(27.75, abs=0.01)
    low, high = wilson_interval(10, 10)
    assert high == pytest.approx(100) and low == pytest.approx(72.25, abs=0.01)
    assert wilson_interval(0, 0) == (0.0, 0.0)


def false_winners(runs: int, looks_by_doubling: bool, seed: int = 16) -> float:
    """Share of runs in which two variants converting alike (5 %) get a "winner" at 95 %, evaluated after every
    batch of 20 sends each up to 2,000: as the periodic task does, with or without the look schedule."""
    rng = random.Random(seed)
    winners = 0
    for _ in range(runs):
        sent = conversions_a = conversions_b = looks = last = 0
        while sent < 2000:
            sent += 20
            conversions_a += sum(rng.random() < 0.05 for _ in range(20))
            conversions_b += sum(rng.random() < 0.05 for _ in range(20))
            if sent < 100:  # the minimum sample
                continue
            needed = 95.0
            if looks_by_doubling:
                if sent < next_look_sample(100, last):
                    continue
                needed, looks, last = required_confidence(95.0, looks), looks + 1, sent
            if compare([Arm("A", sent, conversions_a), Arm("B", sent, conversions_b)]).confidence >= needed:
                winners += 1
                break
    return winners / runs


def test_looking_at_doubling_samples_keeps_the_stated_confidence_where_looking_every_time_does_not():
    assert false_winners(300, looks_by_doubling=False) > 0.15  # checked every 5 minutes: far more than 5 %
    assert false_winners(300, looks_by_doubling=True) <= 0.07  # 5 % and the simulation's noise


def test_each_look_spends_half_of_what_is_left():
    assert [round(required_confidence(95.0, look), 4) for look in range(4)] == [97.5, 98.75, 99.375, 99.6875]
    assert [next_look_sample(100, last) for last in (0, 100, 250)] == [100, 200, 500]
