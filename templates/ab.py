"""A/B tests that pick their winner: count each variant's conversions, decide, and record the decision.

A template in automatic mode splits recipients by weight (templates.services.pick_variant) until every variant
that can be chosen (weight > 0) has `ab_min_sample` messages sent and the best one converts better than every
other at `ab_confidence` (templates.abstats); from then on every new recipient gets the winner. The decision is
taken by the periodic task (templates.tasks) or the console's "Evaluate now", under a lock on the template's row:
two workers evaluating at once record one winner.

Conversions are counted by the app that sees them, which registers its goal at startup (campaigns: recipients
who clicked their tracked link; webhooks: payments recovered after their recovery SMS), so templates imports
neither: both import templates.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from smsgate.models import Message
from smsgate.statuses import Status
from templates.abstats import Arm, compare, next_look_sample, required_confidence, wilson_interval
from templates.models import MessageTemplate, TemplateVariant

# Accepted by a carrier and not reported undelivered: not every carrier sends receipts, so "delivered" alone
# would leave some tests collecting forever.
SENT = [Status.SENT, Status.DELIVERED]
# What the template's results across every send call sent and failed (as campaigns.selectors does).
TAKEN = [Status.SENT, Status.DELIVERED, Status.UNDELIVERED]
FAILED = [Status.FAILED, Status.UNDELIVERED, Status.EXPIRED]

# (variant ids, messages written since or None) -> {variant id: conversions}
ConversionCounter = Callable[[list[int], datetime | None], dict[int, int]]


@dataclass(frozen=True)
class Goal:
    source_type: str  # the messages that can convert (Message.source_type): a campaign's, a recovery's
    conversions: ConversionCounter


_goals: dict[str, Goal] = {}


def register_goal(goal: str, *, source_type: str, conversions: ConversionCounter) -> None:
    """Let the app that sees a goal's conversions count them per variant (called from its AppConfig.ready)."""
    _goals[goal] = Goal(source_type=source_type, conversions=conversions)


@dataclass(frozen=True)
class VariantResult:
    label: str
    weight: int
    messages: int
    sent: int
    delivered: int
    conversions: int

    @property
    def rate(self) -> float:
        return 100 * self.conversions / self.sent if self.sent else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.conversions, self.sent)


@dataclass(frozen=True)
class TestState:
    """Where a template's test stands, in words for the console and a code for the API."""

    code: str  # fixed | single | no_goal | collecting | undecided | winner
    text: str
    confidence: float | None = None  # the confidence reached now (undecided) or at the decision (winner)


def results(template: MessageTemplate, variants: list[TemplateVariant] | None = None) -> list[VariantResult]:
    """Each variant's messages since the test started (only the goal's kind of message), and its conversions."""
    variants = variants if variants is not None else list(template.variants.all())
    ids = [v.pk for v in variants]
    goal = _goals.get(template.ab_goal)
    messages = Message.objects.filter(variant__in=ids)
    if goal:
        messages = messages.filter(source_type=goal.source_type)
    if template.ab_started_at:
        messages = messages.filter(created_at__gte=template.ab_started_at)
    counts = {row["variant"]: row for row in messages.values("variant").annotate(
        messages=Count("pk"), sent=Count("pk", filter=Q(status__in=SENT)),
        delivered=Count("pk", filter=Q(status=Status.DELIVERED))).order_by()}
    conversions = goal.conversions(ids, template.ab_started_at) if goal and ids else {}
    rows = []
    for variant in variants:
        row = counts.get(variant.pk, {"messages": 0, "sent": 0, "delivered": 0})
        # A conversion from a message later reported undelivered must not push a rate over 100 %.
        converted = min(conversions.get(variant.pk, 0), row["sent"])
        rows.append(VariantResult(label=variant.label, weight=variant.weight, messages=row["messages"],
                                  sent=row["sent"], delivered=row["delivered"], conversions=converted))
    return rows


def every_send(template: MessageTemplate) -> list[dict]:
    """Per variant, every message ever written with it (any source): messages, sent (taken by a carrier),
    delivered, failed, and recipients who clicked a tracked link (if an app counts clicks)."""
    variants = list(template.variants.all())
    counts = {row["variant"]: row for row in Message.objects.filter(variant__in=variants).values("variant").annotate(
        messages=Count("pk"), sent=Count("pk", filter=Q(status__in=TAKEN)),
        delivered=Count("pk", filter=Q(status=Status.DELIVERED)),
        failed=Count("pk", filter=Q(status__in=FAILED))).order_by()}
    clicks = _goals.get(MessageTemplate.AbGoal.CLICKS)
    clicked = clicks.conversions([v.pk for v in variants], None) if clicks and variants else {}
    empty = {"messages": 0, "sent": 0, "delivered": 0, "failed": 0}
    return [{**counts.get(v.pk, empty), "label": v.label, "clicked": clicked.get(v.pk, 0)} for v in variants]


def state(template: MessageTemplate, rows: list[VariantResult]) -> TestState:
    """The test's state from its results (`results`): what the console and the API show."""
    if template.ab_mode != MessageTemplate.AbMode.AUTO:
        return TestState("fixed", "fixed weights: no automatic winner")
    playing = [row for row in rows if row.weight > 0]
    winner = _live_winner(template, playing)
    if winner:
        chosen = timezone.localtime(template.winner_chosen_at)
        return TestState("winner", f"winner {winner} chosen {chosen:%Y-%m-%d %H:%M} at "
                                   f"{template.winner_confidence:.1f} % confidence", template.winner_confidence)
    note = _lost_winner_note(template)
    if len(playing) < 2:
        return TestState("single", note + "a single variant can be sent: nothing to test")
    if template.ab_goal not in _goals:
        return TestState("no_goal", note + f"nothing counts {template.get_ab_goal_display()} here")
    behind = min(playing, key=lambda row: (row.sent, row.label))
    if behind.sent < template.ab_min_sample:
        return TestState("collecting", note + f"collecting: {behind.sent}/{template.ab_min_sample} sent for "
                                              f"{behind.label}")
    comparison = compare([Arm(row.label, row.sent, row.conversions) for row in playing])
    look_at = next_look_sample(template.ab_min_sample, template.ab_last_look_sample)
    needed = required_confidence(template.ab_confidence, template.ab_looks)
    plan = (f"this look needs {needed:.2f} %" if behind.sent >= look_at else
            f"next look at {look_at} sent per variant, needing {needed:.2f} %")
    return TestState("undecided", note + f"no significant difference yet: {comparison.confidence:.1f} % now; "
                                         f"{plan}", comparison.confidence)


def _live_winner(template: MessageTemplate, playing: list[VariantResult]) -> str:
    """The winner's label if it is still sent to everyone (not deleted, weight above 0); else ""."""
    if not template.winner_id:
        return ""
    label = template.winner.label
    return label if any(row.label == label for row in playing) else ""


def _lost_winner_note(template: MessageTemplate) -> str:
    if template.winner_id:
        return f"winner {template.winner.label} has weight 0, weights apply; "
    if template.winner_chosen_at:
        return "the winner was deleted, testing the others again; "
    return ""


@dataclass(frozen=True)
class Evaluation:
    state: TestState
    chosen: bool  # this evaluation recorded the winner


def evaluate(template_id: int) -> Evaluation:
    """Decide a template's test now if it can be decided; idempotent, and one winner however many evaluate."""
    with transaction.atomic():
        template = MessageTemplate.objects.select_for_update().get(pk=template_id)
        rows = results(template)
        current = state(template, rows)
        if current.code != "undecided":
            return Evaluation(current, chosen=False)
        playing = [row for row in rows if row.weight > 0]
        smallest = min(row.sent for row in playing)
        if smallest < next_look_sample(template.ab_min_sample, template.ab_last_look_sample):
            return Evaluation(current, chosen=False)  # no look due: looking at every evaluation would inflate
        needed = required_confidence(template.ab_confidence, template.ab_looks)
        template.ab_looks, template.ab_last_look_sample = template.ab_looks + 1, smallest
        if current.confidence < needed:
            template.save(update_fields=["ab_looks", "ab_last_look_sample"])
            return Evaluation(state(template, rows), chosen=False)
        best = compare([Arm(row.label, row.sent, row.conversions) for row in playing]).best
        template.winner = template.variants.get(label=best.label)
        template.winner_chosen_at = timezone.now()
        template.winner_confidence = round(current.confidence, 2)
        template.winner_rates = {row.label: {"sent": row.sent, "conversions": row.conversions,
                                             "rate": round(row.rate, 2)} for row in playing}
        template.save(update_fields=["winner", "winner_chosen_at", "winner_confidence", "winner_rates", "ab_looks",
                                      "ab_last_look_sample"])
        return Evaluation(state(template, rows), chosen=True)


def evaluate_all() -> int:
    """Evaluate every active automatic test without a winner (the periodic task); how many winners were chosen."""
    pending = MessageTemplate.objects.filter(ab_mode=MessageTemplate.AbMode.AUTO, is_active=True,
                                             winner__isnull=True).values_list("pk", flat=True)
    return sum(evaluate(pk).chosen for pk in list(pending))


def reset(template_id: int) -> None:
    """Start a new test: the winner is forgotten, weights apply again, and only messages from now on count."""
    MessageTemplate.objects.filter(pk=template_id).update(
        winner=None, winner_chosen_at=None, winner_confidence=None, winner_rates={}, ab_started_at=timezone.now(),
        ab_looks=0, ab_last_look_sample=0)

