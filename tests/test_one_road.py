"""Every message is created by the submit step: no other production module creates Message rows."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The submit step, and the module it writes batches through.
ALLOWED = {"smsgate/sending/submit.py", "smsgate/sending/bulk_insert.py"}
SKIPPED_DIRS = {".venv", "tests", "bench", "migrations", "node_modules", "var", ".git"}
CREATING_METHODS = {"create", "bulk_create", "get_or_create", "update_or_create"}


def message_creations(source: str) -> list[int]:
    """Line numbers where `source` creates a Message: Message(...), Message.objects.create/bulk_create/...,
    or SQL that inserts into or copies to the message table."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            if _is_message(func):
                lines.append(node.lineno)
            elif (isinstance(func, ast.Attribute) and func.attr in CREATING_METHODS
                  and isinstance(func.value, ast.Attribute) and func.value.attr == "objects"
                  and _is_message(func.value.value)):
                lines.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = " ".join(node.value.lower().split())
            if "insert into smsgate_message " in text + " " or "copy smsgate_message" in text:
                lines.append(node.lineno)
    return lines


def _is_message(node) -> bool:
    return (isinstance(node, ast.Name) and node.id == "Message") or (
        isinstance(node, ast.Attribute) and node.attr == "Message")


def production_modules():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if not SKIPPED_DIRS.intersection(relative.parts[:-1]):
            yield relative.as_posix(), path.read_text(encoding="utf-8")


def test_only_the_submit_step_creates_messages():
    offenders = {name: lines for name, source in production_modules()
                 if name not in ALLOWED and (lines := message_creations(source))}
    assert offenders == {}, f"Messages must be created through smsgate.sending.submit.submit: {offenders}"


def test_the_submit_step_is_where_messages_are_created():
    """The scan finds what it looks for: the allowed modules do create messages."""
    sources = dict(production_modules())
    assert all(message_creations(sources[name]) for name in ALLOWED)


@pytest.mark.parametrize("code", [
    "Message(to='+1', body='x').save()",
    "models.Message(to='+1')",
    "Message.objects.create(to='+1')",
    "Message.objects.bulk_create(rows)",
    "Message.objects.get_or_create(to='+1')",
    "cursor.execute('INSERT INTO smsgate_message (body) VALUES (%s)', ['x'])",
    "cursor.copy('COPY smsgate_message (body) FROM STDIN')",
])
def test_the_scan_catches_each_way_of_creating_a_message(code):
    assert message_creations(code) == [1]


@pytest.mark.parametrize("code", [
    "Message.objects.filter(pk=1).update(status='sent')",
    "MessageEvent.objects.create(message=m)",
    "InboundMessage.objects.create(body='x')",
])
def test_the_scan_leaves_other_writes_alone(code):
    assert message_creations(code) == []
