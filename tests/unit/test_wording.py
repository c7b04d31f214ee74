"""The repository speaks to its users, not about its own history: none of
the diary words below in any tracked text."""

import re

from shared_data import ROOT, tracked_files

DIARY = re.compile(
    r"\btoday\b|\btoday's\b|\byesterday\b|\bthe day before\b|"
    r"\bon a faster day\b|\(this one\)",
    re.I,
)


def _tracked_text_files():
    return [
        n
        for n in tracked_files()
        if n.endswith((".py", ".md", ".sh", ".yml", ".toml", "Makefile"))
    ]


def test_no_diary_language():
    found = []
    for name in _tracked_text_files():
        with open("%s/%s" % (ROOT, name), encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if DIARY.search(line):
                    found.append("%s:%d: %s" % (name, number, line.strip()))
    assert not found, "\n".join(found)
