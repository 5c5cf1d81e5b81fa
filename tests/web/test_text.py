"""Bilingual titles: the part of the active language, or the whole text when mixed."""

import pytest

from web.text import in_language, split_bilingual


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Start onboarding 发起入职", ("Start onboarding", "发起入职")),
        ("Clinic HR (门店人力资源部)", ("Clinic HR", "门店人力资源部")),
        (
            "Quantity (days / CNY / 1) 数量（天/元/1）",
            ("Quantity (days / CNY / 1)", "数量（天/元/1）"),
        ),
        ("新待办：请假 / New task: leave", ("New task: leave", "新待办：请假")),
        ("Annual leave 年假 (statutory 法定福利)", None),
        ("张丽 Zhang Li", None),
        ("annual", None),
        ("", None),
    ],
)
def test_split_bilingual(text, parts):
    assert split_bilingual(text) == parts


def test_in_language_picks_the_part_or_keeps_the_whole():
    assert in_language("Sign off 签字确认", "zh-hans") == "签字确认"
    assert in_language("Sign off 签字确认", "en") == "Sign off"
    assert in_language("张丽 Zhang Li", "en") == "张丽 Zhang Li"
