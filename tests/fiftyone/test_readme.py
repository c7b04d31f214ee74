"""The README's quick start runs as written and prints what it shows."""

import os
import re
import subprocess
import sys

from doc_blocks import blocks as page_blocks
from doc_blocks import sessions as page_sessions
from doc_blocks import shown_in_order
from shared_data import ROOT

BIN = os.path.dirname(sys.executable)


def _check_output(command, expected, actual):
    while expected and not expected[-1].strip():
        expected = expected[:-1]
    if expected and expected[-1].strip() == "...":  # the rest is left out
        expected = expected[:-1]
        actual = actual[: len(expected)]
    assert actual == expected, command


def test_quick_start_runs_as_written(tmp_path):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        blocks = page_blocks(f.read())
    os.symlink(os.path.join(ROOT, "data"), tmp_path / "data")
    env = dict(
        os.environ,
        PATH="%s:%s" % (BIN, os.environ["PATH"]),
        FIFTYONE_SHOW_PROGRESS_BARS="false",
    )

    def run(command):
        result = subprocess.run(
            command,
            shell=True,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout.splitlines()

    # Python: the script, then the output shown under it (in the tests'
    # own database rather than the demo's)
    script = next(
        lines
        for lang, lines in blocks
        if lang == "python" and "apply_tfdp" in "\n".join(lines)
    )
    (tmp_path / "quickstart.py").write_text("\n".join(script) + "\n")
    shown = next(
        lines
        for lang, lines in blocks
        if lines and lines[0].endswith("python quickstart.py")
    )
    [(_, expected)] = page_sessions(shown)
    _check_output("quickstart.py", expected, run("python quickstart.py"))

    # the command line, which compares its output with the Python export
    console = next(
        lines
        for lang, lines in blocks
        if lines and lines[0].startswith("$ tfdp prune data/coco2017-sample")
    )
    sessions = page_sessions(console)
    assert len(sessions) >= 3
    for command, expected in sessions:
        _check_output(command, expected, run(command))


def _python_page_script(text):
    # docs/python.md's examples that run (not the signatures), in the
    # page's order, with each shown value printed: `print(x)  # shown` and
    # an expression followed by a `# shown` line
    script, shown = [], []
    for lang, lines in page_blocks(text):
        code = "\n".join(lines)
        runs = code.startswith("import") or re.search(r"\bdataset\b", code)
        # signatures name their arguments, such as `samples`
        if lang != "python" or not runs or re.search(r"\bsamples\b", code):
            continue
        for number, line in enumerate(lines):
            after = lines[number + 1] if number + 1 < len(lines) else ""
            expression = r"[\w.]+[(\[].*[)\]]"
            match = re.fullmatch(r"(%s)  # (.*)" % expression, line)
            if match:
                line, value = match.groups()
                if not line.startswith("print("):
                    line = "print(%s)" % line
                shown.append(value)
            elif after.startswith("# ") and re.fullmatch(expression, line):
                line = "print(%s)" % line
                shown.append(after[2:])
            script.append(line)
    return "\n".join(script) + "\n", shown


def test_the_python_page_runs_as_written(tmp_path):
    with open(os.path.join(ROOT, "docs", "python.md"), encoding="utf-8") as f:
        script, shown = _python_page_script(f.read())
    assert "get_operator" in script and len(shown) >= 4
    os.symlink(os.path.join(ROOT, "data"), tmp_path / "data")
    (tmp_path / "page.py").write_text(script)
    result = subprocess.run(
        [sys.executable, "page.py"],
        cwd=tmp_path,
        env=dict(os.environ, FIFTYONE_SHOW_PROGRESS_BARS="false"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = iter(result.stdout.splitlines())
    for value in shown:
        assert any(line == value for line in lines), (value, result.stdout)


def test_the_database_wrapper_silences_the_notice_about_its_mongod(tmp_path):
    # the README runs scripts in the project's database with
    # scripts/database.py, whose mongod 6.0 FiftyOne would warn about on
    # every start; a value the user set is kept
    show = "import os; print(os.environ.get('FIFTYONE_DATABASE_VALIDATION'))"
    for given, expected in ((None, "false"), ("true", "true")):
        env = dict(os.environ)
        env.pop("FIFTYONE_DATABASE_VALIDATION", None)
        if given is not None:
            env["FIFTYONE_DATABASE_VALIDATION"] = given
        result = subprocess.run(
            [
                sys.executable,
                os.path.join(ROOT, "scripts", "database.py"),
                str(tmp_path / "db"),
                "--",
                sys.executable,
                "-c",
                show,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip() == expected


def test_make_demo_prints_what_the_readme_shows(tmp_path, monkeypatch, capsys):
    import demo
    import fiftyone as fo

    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    shown = next(
        lines
        for lang, lines in page_blocks(text)
        if lines and lines[0].startswith("== FiftyOne: load")
    )
    monkeypatch.chdir(ROOT)  # where make runs it
    monkeypatch.setattr(demo, "OUT", str(tmp_path / "demo"))
    monkeypatch.setattr(sys, "argv", ["demo.py"])
    monkeypatch.setattr(fo.config, "show_progress_bars", False)
    assert demo.main() == 0
    printed = capsys.readouterr().out.splitlines()

    def timeless(lines):
        return [re.sub(r"\(\d+\.\ds\)$", "(N s)", line) for line in lines]

    assert shown_in_order(timeless(shown), timeless(printed)), "\n".join(
        printed
    )
