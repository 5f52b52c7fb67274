"""Message templates with weighted A/B variants, per tenant."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from templates.rendering import TemplateError, variables

BODY_MAX_LENGTH = 1600  # the API's limit too: 10 SMS parts of UCS-2


# An A/B test's settings: bounds the admin form, the API and the database all hold (templates.ab decides).
MIN_CONFIDENCE, MAX_CONFIDENCE = 50.0, 99.9  # below 50 % a "winner" is a coin toss; 100 % is never reached
MAX_MIN_SAMPLE = 1_000_000


class MessageTemplate(models.Model):
    class AbMode(models.TextChoices):
        FIXED = "fixed", "fixed weights"
        AUTO = "auto", "pick the winner automatically"

    class AbGoal(models.TextChoices):
        CLICKS = "clicks", "link clicks (campaigns)"
        PAYMENTS = "payments", "payment after the SMS (PIX recovery)"

    tenant = models.ForeignKey("smsgate.Tenant", on_delete=models.CASCADE, related_name="message_templates")
    code = models.SlugField(max_length=64, help_text="What API callers pass as template_code.")
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    ab_mode = models.CharField("A/B mode", max_length=10, choices=AbMode.choices, default=AbMode.FIXED,
                               help_text="Automatic: once every variant has the minimum sample and one converts "
                                         "better at the confidence below, every new recipient gets it.")
    ab_goal = models.CharField("A/B goal", max_length=10, choices=AbGoal.choices, default=AbGoal.CLICKS,
                               help_text="What counts as a conversion.")
    ab_min_sample = models.PositiveIntegerField(
        "minimum sample", default=100, validators=[MinValueValidator(1), MaxValueValidator(MAX_MIN_SAMPLE)],
        help_text="Messages sent (accepted by a carrier, not reported undelivered) per variant before deciding.")
    ab_confidence = models.FloatField(
        "confidence (%)", default=95.0,
        validators=[MinValueValidator(MIN_CONFIDENCE), MaxValueValidator(MAX_CONFIDENCE)],
        help_text=f"How sure the test must be that the winner is better than every other variant "
                  f"({MIN_CONFIDENCE:g} to {MAX_CONFIDENCE:g}).")
    ab_started_at = models.DateTimeField("test started", null=True, blank=True, editable=False,
                                         help_text="Messages written since then count; empty: every message.")
    ab_looks = models.PositiveSmallIntegerField(
        "looks taken", default=0, editable=False,
        help_text="Decisions tried so far: at the minimum sample per variant, then each time it doubles.")
    ab_last_look_sample = models.PositiveIntegerField(
        default=0, editable=False, help_text="The smallest variant's sample at the last look.")
    winner = models.ForeignKey("TemplateVariant", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", editable=False)
    winner_chosen_at = models.DateTimeField(null=True, blank=True, editable=False)
    winner_confidence = models.FloatField(null=True, blank=True, editable=False,
                                          help_text="The confidence reached when the winner was chosen (%).")
    winner_rates = models.JSONField(default=dict, blank=True, editable=False,
                                    help_text="Per variant label at that moment: sent, conversions, rate.")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="unique_template_code_per_tenant"),
            models.CheckConstraint(
                condition=models.Q(ab_min_sample__gte=1, ab_min_sample__lte=MAX_MIN_SAMPLE,
                                   ab_confidence__gte=MIN_CONFIDENCE, ab_confidence__lte=MAX_CONFIDENCE),
                name="ab_settings_in_range"),
        ]

    def __str__(self) -> str:
        return self.code


class TemplateVariant(models.Model):
    """One wording of a template. Recipients are split between variants by weight."""

    template = models.ForeignKey(MessageTemplate, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=20, default="A")
    body = models.TextField(max_length=BODY_MAX_LENGTH,
                            help_text="Text with {variables}, e.g. 'Hi {name}, your code is {code}'.")
    weight = models.PositiveIntegerField(default=1, help_text="Share of recipients, relative to other variants.")

    class Meta:
        ordering = ["label"]
        constraints = [models.UniqueConstraint(fields=["template", "label"], name="unique_variant_label")]

    def __str__(self) -> str:
        return f"{self.template.code}/{self.label}"

    def clean(self):
        try:
            variables(self.body)
        except TemplateError as exc:
            raise ValidationError({"body": str(exc)}) from None
