"""Bilingual titles: the shipped models and forms write "English 中文" in one string."""

import re

_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_LATIN = re.compile(r"[A-Za-z]")


def split_bilingual(text: str) -> tuple[str, str] | None:
    """("English", "中文") when `text` is an English part followed by a Chinese one, or "中文 /
    English" (notifications), else None (a mixed title such as "Annual leave 年假 (statutory
    法定福利)" is shown whole)."""
    chinese, slash, english = (text or "").partition(" / ")
    if slash and _CJK.match(chinese) and _LATIN.match(english):
        return english.strip(), chinese.strip()
    match = _CJK.search(text or "")
    if match is None or match.start() == 0:
        return None
    english, chinese = text[: match.start()].strip(), text[match.start() :].strip()
    if english.endswith("(") and chinese.endswith(")"):
        english, chinese = english[:-1].strip(), chinese[:-1].strip()
    english = english.rstrip("/").strip()
    if not english or _LATIN.search(chinese):
        return None
    return english, chinese


def in_language(text: str, language: str) -> str:
    """The part of a bilingual title for `language` ("zh-hans" or "en"); other text as is."""
    parts = split_bilingual(text)
    if parts is None:
        return text
    return parts[1] if language.startswith("zh") else parts[0]
