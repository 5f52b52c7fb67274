"""OpenAPI: the API-key authentication (imported by SmsgateConfig.ready), and the error responses of every operation."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers

from smsgate.input_safety import MAX_JSON_DEPTH


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "smsgate.api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A tenant API key (manage.py create_api_key)."}


ERROR_RESPONSES = {
    400: "Invalid input: {field: [messages]} (nested fields by index or dotted path), or {detail} for a body "
         f"that is not JSON or is nested deeper than {MAX_JSON_DEPTH} levels.",
    401: "No API key, or an unknown or revoked one.",
    403: "X-Tenant-Id names another tenant than the API key's.",
    404: "No such object for this tenant, or no such page (an id that is not a number: Django's HTML page).",
    409: "This Idempotency-Key was already used for a different request.",
    413: "The body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE.",
    415: "The body is not application/json.",
    429: "Too many requests for this API key (see Retry-After).",
}


def document_error_responses(result, generator, request, public):
    """Every error each operation can answer, in the OpenAPI (drf-spectacular postprocessing hook).

    All operations need an API key (401, 403) and are throttled (429); a body can be invalid (400), too large
    (413) or not JSON (415); query parameters can be invalid (400); an id or a page can be missing (404).
    Also: an optional query parameter sent empty is taken as left out.
    """
    result["components"]["schemas"]["Error"] = {
        "type": "object", "additionalProperties": {},
        "description": "{detail: message}, or field errors {field: [messages]}.",
    }
    for operations in result["paths"].values():
        for operation in operations.values():
            parameters = operation.get("parameters", [])
            codes = {401, 403, 429}
            if "requestBody" in operation:
                codes |= {400, 413, 415}
            if any(parameter["in"] == "query" for parameter in parameters):
                codes.add(400)
            if any(parameter["in"] == "path" or parameter["name"] == "page" for parameter in parameters):
                codes.add(404)
            if any(parameter["name"] == "Idempotency-Key" for parameter in parameters):
                codes.add(409)
            for code in sorted(codes):
                content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                if code == 404:
                    content["text/html"] = {"schema": {"type": "string"}}
                operation["responses"].setdefault(str(code), {"description": ERROR_RESPONSES[code], "content": content})
            for parameter in parameters:
                if parameter["in"] == "query" and not parameter.get("required"):
                    _empty_means_absent(parameter)
    return result


def _empty_means_absent(parameter: dict) -> None:
    """DRF reads `?name=` as no `name` at all (as HTML forms send an empty field): say the empty value is taken."""
    parameter["schema"] = {"anyOf": [parameter["schema"], {"type": "string", "maxLength": 0}]}
    parameter["description"] = (parameter.get("description", "") + " Empty: as if left out.").strip()


# A character str.strip() keeps: DRF strips texts before refusing blank ones. Spelled out because the
# \\s of JSON Schema's (ECMAScript) patterns differs from Python's (\\x1c-\\x1f, \\x85, \\ufeff).
NOT_BLANK = "[^" + "".join(f"\\u{code:04x}" for code in range(0x10000) if chr(code).isspace()) + "]"


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, also stating constraints DRF enforces but drf-spectacular leaves out of requests.

    - A text field may not be blank: DRF strips the spaces around a text first, so "   " is refused too;
      the pattern NOT_BLANK (at least one character that is not a space) says exactly that.
    - An IP address field takes IPv4 or IPv6 addresses only.
    - A list of nested objects (many=True) has its min_length/max_length (or allow_empty=False).
    """

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request":
            return schema
        if type(field) is serializers.CharField and not field.allow_blank and field.trim_whitespace:
            schema.setdefault("pattern", NOT_BLANK)
        elif isinstance(field, serializers.IPAddressField):
            schema["anyOf"] = [{"format": "ipv4"}, {"format": "ipv6"}]
        elif isinstance(field, serializers.ListSerializer):
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
            if field.min_length is not None or not field.allow_empty:
                schema["minItems"] = field.min_length or 1
        return schema
