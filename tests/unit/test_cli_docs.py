"""Every command of docs/cli.md runs as written, in the page's order, on
the embedded sample, and prints what the page shows."""

import os
import subprocess
import sys

from doc_blocks import blocks as page_blocks
from doc_blocks import sessions as page_sessions
from doc_blocks import shown_in_order
from shared_data import ROOT

BIN = os.path.dirname(sys.executable)
PAGE = os.path.join(ROOT, "docs", "cli.md")


def test_every_command_of_the_page_runs_as_written(tmp_path):
    with open(PAGE, encoding="utf-8") as f:
        blocks = page_blocks(f.read())
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

    sessions = [s for _, lines in blocks for s in page_sessions(lines)]
    assert len(sessions) >= 15
    for command, shown in sessions:
        result = run(command)
        actual = result.stdout.splitlines()
        fails = any(line.startswith("tfdp: error") for line in shown)
        assert (result.returncode != 0) == fails, (command, result.stdout)
        assert shown_in_order(shown, actual), (
            command,
            result.stdout,
        )
