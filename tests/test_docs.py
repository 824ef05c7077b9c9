"""Every code block of README.md and docs/*.md runs as written, in order, from an empty folder.

For each markdown file, one test runs the file's blocks in document order as one program,
the way a reader who pastes them would: in a fresh temporary directory as the current
directory (no file of the repository is reachable by a relative path), in a child process
started with ``sys.executable``, with only the series the package ships
(``gruforecast.datasets``) as data.

- ```python blocks run in one namespace, so a block uses the names earlier blocks of the
  same file defined. Each block is compiled with the markdown file as its file name and its
  own line numbers, so a traceback points at the markdown line that failed.
- ```bash, ```sh and ```shell blocks: every command runs with ``bash -c`` in the same
  folder, in order, and must exit with status 0 (a command spans lines ending in ``\\`` and
  lines inside an open quote, and a here-document to its end). In ```console blocks only
  the lines that start with ``$ `` are commands; the rest is sample output. ``python3`` and ``python`` are the interpreter
  running the tests, and ``gruforecast`` is the console script installed with it.
- Not run: the commands matched by ``SKIPPED`` below, and nothing else. A command that is an
  ``&&`` list is split, and only its matching parts are left out. They are the ones that
  change the environment or that CI runs itself: installs (``pip install``, ``python3 -m
  pip ...``), ``git clone``, virtual environments (``python3 -m venv``, ``. .venv/bin/activate``)
  and the test suite (``pytest``). So of the README's two top-level commands, the install
  steps and ``python3 -m pytest`` are left out (``.ci/run`` runs that line), while
  ``python3 -m gruforecast demo`` runs.
- ```text (and the other languages in ``NOT_RUN``) marks a block that is not a program: a
  sample of output, equations, a file tree. A fence with no language, or one this file does
  not know, fails the test: each block has to say what it is.

A failure names the file (the test id), the block (its number among the file's fenced
blocks, its line and its first line) and shows the traceback or the command's output.
Files whose blocks train models are marked ``slow``; they still run in a plain
``python3 -m pytest``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import sysconfig
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

PYTHON = {"python"}
SHELL = {"bash", "sh", "shell"}
CONSOLE = {"console"}
NOT_RUN = {"text", "json", "yaml", "toml"}

#: commands (or parts of an ``&&`` list) that the test does not run, and nothing else
SKIPPED = re.compile(
    r"""^(?:
        (?:python3?\s+-m\s+)?pip3?\s      # installs: pip ..., python3 -m pip ...
      | git\s+clone\s                     # clones
      | python3?\s+-m\s+venv\s            # virtual environments
      | (?:\.|source)\s+\S*activate\b
      | (?:python3?\s+-m\s+)?pytest\b     # the tests themselves (CI runs the README's line)
    )""",
    re.VERBOSE,
)

#: files that take a few seconds; every other file trains models and is marked slow
FAST = {"docs/README.md", "docs/layout.md"}

TIMEOUT = 1800  # seconds per markdown file; a default fit takes up to half a minute on 2 cores

# an opening fence: its indent, its backticks or tildes, its language (and anything after)
FENCE = re.compile(r"^( *)(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")


@dataclass
class Step:
    """One thing to run: a python block, or one shell command of a shell block."""

    kind: str  # "python", "shell" or "skip"
    block: int  # the block's number among the file's fenced blocks, from 1
    block_line: int  # the markdown line of the block's first code line
    first: str  # the block's first line, to name it
    line: int  # the markdown line where the command starts (python: block_line)
    source: str


def fenced_blocks(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line of the first code line, language, lines) of each fenced block, in order."""
    blocks: list[tuple[int, str, list[str]]] = []
    opened: tuple[str, str, int, str] | None = None  # indent, fence, line, language
    lines: list[str] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if opened is None:
            match = FENCE.match(text)
            if match:
                indent, fence, language = match.groups()
                opened, lines = (indent, fence, number, language.lower()), []
        elif text.strip() == opened[1]:
            blocks.append((opened[2] + 1, opened[3], lines))
            opened = None
        else:  # a block indented in a list loses its indent, as in the rendered page
            indent = len(text) - len(text.lstrip(" "))
            lines.append(text[min(indent, len(opened[0])):])
    if opened is not None:
        raise ValueError(f"{path.name}:{opened[2]}: a fenced block is never closed")
    return blocks


def _split_and_lists(command: str) -> list[str]:
    """Split a command at ``&&`` outside quotes (the parts of an ``&&`` list)."""
    parts, start, quote, i = [], 0, None, 0
    while i < len(command):
        char = command[i]
        if char == "\\" and quote != "'":
            i += 2
            continue
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif command.startswith("&&", i):
            parts.append(command[start:i].strip())
            start = i + 2
            i += 1
        i += 1
    parts.append(command[start:].strip())
    return parts


def _complete(command: str) -> bool:
    """Whether a command is complete: no open quote, no trailing backslash."""
    if command.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(command, comments=True)
    except ValueError:  # "No closing quotation", "No escaped character"
        return False
    return True


# a here-document's start: cat > f <<'END' (or <<END, <<"END", <<-END)
HEREDOC = re.compile(r"""<<-?\s*(['"]?)([A-Za-z_][A-Za-z_0-9]*)\1""")


def shell_commands(lines: list[str], first_line: int, console: bool) -> list[tuple[int, str]]:
    """(markdown line, command) of each command of a shell or console block; a command
    with a here-document runs to the line that ends it."""
    commands: list[tuple[int, str]] = []
    pending: tuple[int, list[str]] | None = None
    until: str | None = None  # the word that ends an open here-document
    for offset, text in enumerate(lines):
        if pending is None:
            if console:
                if not text.startswith("$ "):
                    continue  # sample output
                text = text[2:]
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            pending = (first_line + offset, [])
            match = HEREDOC.search(text)
            until = match.group(2) if match else None
        pending[1].append(text)
        command = "\n".join(pending[1])
        if until is not None:
            if len(pending[1]) > 1 and text.strip() == until:
                commands.append((pending[0], command))
                pending = until = None
        elif _complete(command):
            commands.append((pending[0], command))
            pending = None
    if pending is not None:
        raise ValueError(
            f"line {pending[0]}: a command never ends (open quote, trailing \\ or here-document)"
        )
    return commands


def steps_of(path: Path) -> list[Step]:
    """What running a markdown file's code blocks means, in order."""
    steps: list[Step] = []
    for block, (line, language, lines) in enumerate(fenced_blocks(path), 1):
        first = next((text.strip() for text in lines if text.strip()), "")
        first = first if len(first) <= 60 else first[:57] + "..."
        where = f"{path.name}:{line - 1}"
        if language in PYTHON:
            # padded with newlines so that the compiled code has the markdown's line numbers
            source = "\n" * (line - 1) + "\n".join(lines)
            steps.append(Step("python", block, line, first, line, source))
        elif language in SHELL | CONSOLE:
            for number, command in shell_commands(lines, line, language in CONSOLE):
                parts = [command] if HEREDOC.search(command) else _split_and_lists(command)
                for part in parts:
                    kind = "skip" if SKIPPED.match(part) else "shell"
                    steps.append(Step(kind, block, line, first, number, part))
        elif language not in NOT_RUN:
            raise ValueError(
                f"{where}: block {block} has fence language {language or '(none)'!r}; use python, "
                f"a shell ({', '.join(sorted(SHELL | CONSOLE))}) or, for what is not a program, "
                f"one of {sorted(NOT_RUN)}"
            )
    return steps


# Runs in the child, in the fresh folder: each step in order, stopping at the first failure.
DRIVER = r"""
import json, subprocess, sys, time, traceback
path, shown, steps = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3], encoding="utf-8"))
namespace = {"__name__": "__main__"}
for step in steps:
    name = f"block {step['block']} ({shown}:{step['block_line']}: {step['first']})"
    if step["kind"] != "python":
        name += f", command on line {step['line']}"
    if step["kind"] == "skip":
        print(f"--- {name}: not run (SKIPPED): {step['source']}", flush=True)
        continue
    print(f"--- {name}" + ("" if step["kind"] == "python" else ": " + step["source"]), flush=True)
    start = time.perf_counter()
    if step["kind"] == "python":
        try:
            exec(compile(step["source"], path, "exec"), namespace)
        except BaseException:
            traceback.print_exc()
            sys.stdout.flush()
            sys.stderr.flush()
            print(f"FAILED {name}", flush=True)
            sys.exit(1)
    else:
        sys.stdout.flush()
        sys.stderr.flush()
        status = subprocess.run(["bash", "-c", step["source"]], stdin=subprocess.DEVNULL).returncode
        if status:
            print(f"FAILED {name}: exit status {status}: {step['source']}", flush=True)
            sys.exit(1)
    print(f"--- ran in {time.perf_counter() - start:.1f} s", flush=True)
print("ALL BLOCKS RAN", flush=True)
"""


def run_markdown(path: Path, folder: Path, tools: Path, timeout: float = TIMEOUT):
    """Run a markdown file's blocks in ``folder``; (ok, output). ``tools`` holds the shims."""
    steps = steps_of(path)
    steps_file = tools / "steps.json"
    steps_file.write_text(json.dumps([asdict(step) for step in steps]), encoding="utf-8")
    # `python3` and `python` in a shell block are this interpreter; `gruforecast` is the
    # console script installed next to it (the scripts folder of this environment)
    for name in ("python3", "python"):
        shim = tools / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        shim.chmod(0o755)
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PATH"] = os.pathsep.join([str(tools), sysconfig.get_path("scripts"), env.get("PATH", "")])
    env.setdefault("OMP_NUM_THREADS", "2")  # torch (and the fused kernel) on at most 2 threads
    try:
        result = subprocess.run(
            [sys.executable, "-c", DRIVER, str(path), _shown(path), str(steps_file)],
            cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired as error:
        output = error.stdout.decode() if isinstance(error.stdout, bytes) else error.stdout or ""
        return False, f"{output}\nTIMED OUT after {timeout} s"
    return result.returncode == 0 and "ALL BLOCKS RAN" in result.stdout, result.stdout


def _shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def _tail(output: str, lines: int = 80) -> str:
    return "\n".join(output.rstrip().splitlines()[-lines:])


def _param(path: Path):
    name = path.relative_to(ROOT).as_posix()
    return pytest.param(path, id=name, marks=() if name in FAST else pytest.mark.slow)


@pytest.mark.parametrize("path", [_param(path) for path in MARKDOWN])
def test_code_blocks_run_from_an_empty_folder(path, tmp_path, tmp_path_factory):
    ok, output = run_markdown(path, tmp_path, tmp_path_factory.mktemp("tools"))
    if not ok:
        pytest.fail(f"{_shown(path)}: a code block failed\n{_tail(output)}", pytrace=False)


# --- the collector and the runner themselves -------------------------------------------------


def test_every_markdown_file_is_collected():
    names = {path.relative_to(ROOT).as_posix() for path in MARKDOWN}
    assert {"README.md", "docs/README.md", "docs/fitting.md", "docs/cli.md"} <= names


def test_skipped_commands_are_only_installs_clones_venvs_and_pytest():
    for command in ("python3 -m pip install -e .", "pip install torch", "python3 -m pytest",
                    "pytest -m 'not slow'", "git clone https://x/y", "python3 -m venv .venv",
                    ". .venv/bin/activate", "source .venv/bin/activate"):
        assert SKIPPED.match(command), command
    for command in ("gruforecast demo", "python3 -m gruforecast demo", "python3 -c 'print(1)'",
                    "head passengers.csv", "ls", "cat x", "pipeline.sh", "python3 pytest_notes.py"):
        assert not SKIPPED.match(command), command


def test_the_readme_install_lines_still_run_their_gruforecast_part():
    steps = [step for step in steps_of(ROOT / "README.md") if step.kind != "python"]
    skipped = [step.source for step in steps if step.kind == "skip"]
    assert skipped and all(SKIPPED.match(command) for command in skipped)
    assert "python3 -m gruforecast demo" in [step.source for step in steps if step.kind == "shell"]
    # nothing but installs and the test command is left out of the README
    assert all(re.search(r"\bpip\b|\bpytest\b", command) for command in skipped)


def test_shell_commands_span_continuations_and_open_quotes_and_split_at_and_lists(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```bash\n"
        "# a comment\n"
        "python3 -c \"\n"
        "print('a && b')   # inside the quotes\n"
        "\"\n"
        "gruforecast fit data.csv \\\n"
        "    --out model.gruf   # a comment\n"
        "pip install x && ls -a\n"
        "cat > a.py <<'PY'\n"
        "print('a && b')\n"
        "PY\n"
        "```\n"
        "```console\n"
        "$ gruforecast info model.gruf\n"
        "window 24\n"
        "```\n"
        "```text\n"
        "not a program\n"
        "```\n"
    )
    steps = [(step.kind, step.block, step.block_line, step.line, step.source)
             for step in steps_of(page)]
    assert steps == [
        ("shell", 1, 2, 3, "python3 -c \"\nprint('a && b')   # inside the quotes\n\""),
        ("shell", 1, 2, 6, "gruforecast fit data.csv \\\n    --out model.gruf   # a comment"),
        ("skip", 1, 2, 8, "pip install x"),
        ("shell", 1, 2, 8, "ls -a"),
        ("shell", 1, 2, 9, "cat > a.py <<'PY'\nprint('a && b')\nPY"),
        ("shell", 2, 14, 14, "gruforecast info model.gruf"),
    ]


def test_indented_and_tilde_fences_are_collected(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "1. A step:\n\n"
        "   ```python\n"
        "   x = 1\n"
        "   if x:\n"
        "       print(x)\n"
        "   ```\n\n"
        "~~~bash\n"
        "ls\n"
        "~~~\n"
    )
    steps = [(step.kind, step.line, step.source.lstrip("\n")) for step in steps_of(page)]
    assert steps == [("python", 4, "x = 1\nif x:\n    print(x)"), ("shell", 10, "ls")]


@pytest.mark.parametrize("fence", ["```\nx = 1\n```\n", "```pycon\n>>> 1\n```\n",
                                   "```python\nx = 1\n", "```bash\necho 'open\n```\n"])
def test_a_block_without_a_known_language_or_end_is_an_error(fence, tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Some text.\n\n" + fence)
    with pytest.raises(ValueError):
        steps_of(page)


def test_a_broken_python_block_fails_naming_its_block_line_and_traceback(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n"
        "```python\n"
        "value = 41\n"
        "```\n\n"
        "```text\n"
        "output\n"
        "```\n\n"
        "```python\n"
        "print(value + 1)   # uses the first block's name\n"
        "print(undefined_name)\n"
        "```\n"
    )
    folder = tmp_path / "fresh"
    folder.mkdir()
    tools = tmp_path / "tools"
    tools.mkdir()
    ok, output = run_markdown(page, folder, tools, timeout=120)
    assert not ok
    assert "42" in output  # the later block saw the earlier one's name
    assert f"FAILED block 3 ({page}:12: print(value + 1)   # uses" in output
    assert f'File "{page}", line 13' in output and "NameError" in output
    assert "print(undefined_name)" in output  # the traceback quotes the markdown line


def test_a_failing_shell_command_fails_and_runs_in_the_fresh_folder(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```python\n"
        "open('made.txt', 'w').write('hello')\n"
        "```\n"
        "```bash\n"
        "pip install nothing-at-all\n"
        "cat made.txt\n"
        "python3 -c \"import sys; print(sys.executable)\"\n"
        "ls not-made.txt\n"
        "echo never\n"
        "```\n"
    )
    folder = tmp_path / "fresh"
    folder.mkdir()
    tools = tmp_path / "tools"
    tools.mkdir()
    ok, output = run_markdown(page, folder, tools, timeout=120)
    assert not ok
    assert "not run (SKIPPED): pip install nothing-at-all" in output
    assert "hello" in output and sys.executable in output
    assert (f"FAILED block 2 ({page}:5: pip install nothing-at-all), command on line 8: "
            "exit status 2: ls not-made.txt") in output
    assert "never" not in output.replace("echo never", "")
    assert sorted(p.name for p in folder.iterdir()) == ["made.txt"]
