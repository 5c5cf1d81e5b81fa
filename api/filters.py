"""Query-string checks shared by the list views, and the one range check every date-time the
API reads goes through (query filters here, body and filter serializers in api/serializers.py).

Python accepts UTC offsets up to ±23:59:59 and years 1..9999; PostgreSQL refuses an offset
past about ±15:59 (a 500 for `started_after=2026-01-01T00:00:00-23:00`), and SQLite's
adapter converts to UTC, which overflows near year 1 or 9999. Offsets in use on Earth run
from -12:00 to +14:00, in whole minutes: anything else is refused with a 400 naming the field.
"""

import datetime as dt

import django_filters
from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from workflows.exceptions import InvalidInput

PAGING = {"page", "page_size"}

# The widest offsets of zones in use (Kiribati +14:00, Baker Island -12:00), taken as ±14:00.
MAX_UTC_OFFSET = dt.timedelta(hours=14)


def refuse_unknown_filters(query_params, filterset_class) -> None:
    """400 naming each query parameter that is neither a filter of the view nor paging."""
    unknown = sorted(set(query_params) - {*filterset_class.base_filters, *PAGING})
    if unknown:
        raise InvalidInput([{"field": k, "message": "unknown filter"} for k in unknown])


def datetime_problem(value: dt.datetime) -> str | None:
    """Why the database cannot hold `value`, or None when it can. A naive value is read in
    the server's time zone (as Django and DRF do)."""
    offset = value.utcoffset()
    if offset is not None:
        if abs(offset) > MAX_UTC_OFFSET:
            return "the UTC offset must be between -14:00 and +14:00"
        if offset % dt.timedelta(minutes=1):
            return "the UTC offset must be whole minutes (+hh:mm)"
    try:
        aware = value if offset is not None else timezone.make_aware(value)
        aware.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return "is outside the years 1 to 9999 once converted to UTC"
    return None


def written_datetime_problem(value: object) -> str | None:
    """`datetime_problem` of a value as a client wrote it (text or a datetime); None also for
    text that is no date-time, which the field itself then calls invalid."""
    parsed = value
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:  # well-formed but impossible (month 13)
            parsed = None
    return datetime_problem(parsed) if isinstance(parsed, dt.datetime) else None


class BoundedIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """django-filter's ISO 8601 form field, refusing what `datetime_problem` refuses."""

    def to_python(self, value):
        # Check the value as written, before django-filter moves it to the current zone
        # (which itself overflows at the edges of the calendar).
        problem = written_datetime_problem(value)
        if problem:
            raise forms.ValidationError(problem, code="out_of_range")
        return super().to_python(value)


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """The date-time filter every list view uses (see `datetime_problem`)."""

    field_class = BoundedIsoDateTimeField
