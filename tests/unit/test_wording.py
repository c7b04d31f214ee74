"""The repository speaks to its users, not about its own history: none of
the diary words below in any tracked text."""

import re
import subprocess

from shared_data import ROOT

DIARY = re.compile(
    r"\btoday\b|\btoday's\b|\byesterday\b|\bthe day before\b|"
    r"\bon a faster day\b|\(this one\)",
    re.I,
)


def _tracked_text_files():
    names = (
        subprocess.run(
            ["git", "ls-files", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    return [
        n
        for n in names
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
