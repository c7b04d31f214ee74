"""Every command of docs/cli.md runs as written, in the page's order, on
the embedded sample, and prints what the page shows."""

import os
import re
import subprocess
import sys
import textwrap

from shared_data import ROOT

BIN = os.path.dirname(sys.executable)
PAGE = os.path.join(ROOT, "docs", "cli.md")


def _blocks(text):
    # (language, lines) of each fenced block, indented ones included
    return [
        (match.group(2), textwrap.dedent(match.group(3)).splitlines())
        for match in re.finditer(
            r"^( *)```(\w*)\n(.*?)^\1```", text, re.S | re.M
        )
    ]


def _sessions(lines):
    # [(command, shown output lines)] of a console block
    sessions = []
    for line in lines:
        if line.startswith("$ "):
            sessions.append((line[2:], []))
        elif sessions:
            sessions[-1][1].append(line)
    return sessions


def _chunks(shown):
    # the shown lines between "..." (left-out output), each in one piece
    chunks = [[]]
    for line in shown:
        if line.strip() == "...":
            chunks.append([])
        elif line.strip() or chunks[-1]:
            chunks[-1].append(line)
    for chunk in chunks:
        while chunk and not chunk[-1].strip():
            chunk.pop()
    return [c for c in chunks if c]


def _appear_in_order(chunks, actual):
    start = 0
    for chunk in chunks:
        for i in range(start, len(actual) - len(chunk) + 1):
            if actual[i : i + len(chunk)] == chunk:
                start = i + len(chunk)
                break
        else:
            return False
    return True


def test_every_command_of_the_page_runs_as_written(tmp_path):
    with open(PAGE, encoding="utf-8") as f:
        blocks = _blocks(f.read())
    os.symlink(os.path.join(ROOT, "data"), tmp_path / "data")
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ["PATH"]))

    def run(command):
        return subprocess.run(
            command,
            shell=True,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )

    # the page's scripts first: they make the files its examples name
    scripts = [lines for lang, lines in blocks if lang == "python"]
    assert scripts
    for number, lines in enumerate(scripts):
        path = tmp_path / ("script%d.py" % number)
        path.write_text("\n".join(lines) + "\n")
        result = run("python %s" % path.name)
        assert result.returncode == 0, result.stdout[-3000:]

    sessions = [s for _, lines in blocks for s in _sessions(lines)]
    assert len(sessions) >= 15
    for command, shown in sessions:
        result = run(command)
        actual = result.stdout.splitlines()
        fails = any(line.startswith("tfdp: error") for line in shown)
        assert (result.returncode != 0) == fails, (command, result.stdout)
        assert _appear_in_order(_chunks(shown), actual), (
            command,
            result.stdout,
        )
