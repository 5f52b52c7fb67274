"""Message templates with weighted A/B variants, per tenant."""

from django.core.exceptions import ValidationError
from django.db import models

from templates.rendering import TemplateError, variables

BODY_MAX_LENGTH = 1600  # the API's limit too: 10 SMS parts of UCS-2


class MessageTemplate(models.Model):
    tenant = models.ForeignKey("smsgate.Tenant", on_delete=models.CASCADE, related_name="message_templates")
    code = models.SlugField(max_length=64, help_text="What API callers pass as template_code.")
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="unique_template_code_per_tenant")]

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
