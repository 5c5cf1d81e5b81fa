"""Template helpers of the pages."""

import json

from django import template
from django.utils import timezone
from django.utils.translation import get_language

from hr.models import RoleAssignment
from web.labels import ELEMENT_FIELDS, ELEMENT_TYPES, EVENT_KINDS
from web.text import in_language

register = template.Library()


@register.filter
def bi(text: str) -> str:
    """The active language's part of a bilingual "English 中文" title."""
    return in_language(str(text or ""), get_language() or "zh-hans")


@register.filter
def is_overdue(task) -> bool:
    return bool(task.is_open and task.due_at and task.due_at < timezone.now())


@register.filter
def role_label(role: str) -> str:
    """A role code ("clinic_hr") as its bilingual label, in the active language."""
    labels = dict(RoleAssignment.Role.choices)
    return bi(labels.get(role, role))


@register.filter
def event_label(kind: str) -> str:
    return EVENT_KINDS.get(kind, kind)


@register.filter
def element_type_label(spec_type: str) -> str:
    """A BPMN element type of the deploy diff ("UserTask") in the active language."""
    return ELEMENT_TYPES.get(spec_type, spec_type)


@register.filter
def element_field_label(field: str) -> str:
    """What changed in an element of the deploy diff ("outgoing") in the active language."""
    return ELEMENT_FIELDS.get(field, field)


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)
