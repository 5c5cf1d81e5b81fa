"""The working calendar's demo rows: the public holidays on fixed dates.

The statutory holidays (全国年节及纪念日放假办法, as amended in 2024) on fixed dates are New
Year's Day (1 January), Labour Day (1 and 2 May) and National Day (1 to 3 October); the
demo enters them for this year and the next. The lunar holidays (Spring Festival, Qingming,
Dragon Boat, Mid-Autumn) and the weekend days worked in exchange (调休上班) change every
year: group HR enters them from the State Council's annual notice (Django admin, Working
calendar).
"""

import datetime as dt

from django.utils import timezone

from hr.models import CalendarDay

FIXED_HOLIDAYS = [
    (1, 1, "元旦 New Year's Day"),
    (5, 1, "劳动节 Labour Day"),
    (5, 2, "劳动节 Labour Day"),
    (10, 1, "国庆节 National Day"),
    (10, 2, "国庆节 National Day"),
    (10, 3, "国庆节 National Day"),
]


def seed() -> None:
    """Enter the fixed-date public holidays of this year and the next (rows already there,
    for instance an exchanged day group HR entered, are left as they are)."""
    year = timezone.localdate().year
    for calendar_year in (year, year + 1):
        for month, day, name in FIXED_HOLIDAYS:
            CalendarDay.objects.get_or_create(
                calendar_date=dt.date(calendar_year, month, day),
                defaults={"kind": CalendarDay.Kind.HOLIDAY, "name": name},
            )
