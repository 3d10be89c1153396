"""The bad-input corpus: every folder under ``tests/corpus/`` is one case, run two ways.

Each case folder holds the project files of the case and an ``expect.toml`` (see
``tests/README.md``). The case is copied into a fresh rootdir and checked with

* ``pytest --phase7`` (in-process): the documented exit status, exactly one message naming what
  is wrong (``file:line`` wherever the problem has a line), no traceback;
* ``phase7 validate``: its documented exit code and the same one message;

and in both runs no file of the case may be created, changed or removed.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import sys
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_phase7.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CORPUS = Path(__file__).parent / "corpus"
README = Path(__file__).parent / "README.md"
CASES = sorted(path for path in CORPUS.iterdir() if (path / "expect.toml").is_file())

#: The inner run: phase7, without coverage measurement (in-process) and without a cache folder.
INNER = ("--phase7", "--no-cov", "-p", "no:cacheprovider")

#: Every kind of bad input the issue names, and the case(s) that cover it.
REQUIRED = {
    "empty file": ["empty-file", "whitespace-only"],
    "binary garbage": ["binary-garbage"],
    "UTF-16 and a BOM": ["utf16-le-bom", "utf16-be-bom-toml", "utf8-bom", "utf8-bom-toml"],
    "CRLF line endings (valid)": ["crlf-markdown", "crlf-toml"],
    "missing columns": ["table-missing-number-column", "table-missing-cell"],
    "extra columns": ["table-extra-cell", "table-extra-owner-column"],
    "reordered columns": ["table-reordered-columns"],
    "duplicated columns": ["table-duplicated-column", "table-duplicated-column-synonym"],
    "duplicate item numbers": ["item-id-duplicated", "item-id-in-two-batches"],
    "reversed ranges": ["range-reversed", "toml-range-reversed"],
    "overlapping ranges": ["range-overlapping"],
    "absurd ranges": ["range-absurd", "range-absurd-sum", "toml-range-absurd"],
    "non-numeric ids": ["item-id-not-a-number", "toml-batch-number-string"],
    "unknown statuses": ["unknown-status", "toml-unknown-status"],
    "negated statuses": ["status-negated", "toml-status-negated"],
    "separator rows that do not match the header": ["table-separator-short"],
    "unclosed code fences and HTML comments": ["code-fence-unclosed", "html-comment-unclosed"],
    "tables and headings inside a > quote": ["table-in-blockquote", "batch-heading-in-blockquote"],
    "unknown batch kinds": ["batch-unknown-kind", "toml-unknown-kind"],
    "threshold 150": ["coverage-min-150", "cli-coverage-min-150"],
    "threshold -5": ["ruff-max-negative", "phase7-toml-threshold"],
    "threshold abc": ["docstrings-min-abc", "ini-coverage-min-abc"],
    "TOML syntax errors": ["toml-syntax-error", "toml-duplicate-key", "pyproject-syntax-error"],
    "manifest path missing": ["manifest-not-found", "manifest-cli-not-found"],
    "manifest path is a directory": ["manifest-is-directory"],
    "targets with ../": ["target-dotdot", "target-dotdot-inside", "toml-target-dotdot"],
    "absolute targets": ["target-absolute", "target-windows-absolute", "area-folder-absolute"],
    "symlinks out of the rootdir": [
        "target-symlink-file-outside",
        "target-symlink-folder-outside",
        "area-file-symlink-outside",
    ],
    "a module area mapped twice": ["module-area-mapped-twice"],
    "bad [tool.phase7.targets] entries": [
        "targets-unknown-item",
        "targets-path-missing",
        "targets-dotdot",
        "targets-absolute",
        "targets-symlink-outside",
        "targets-phase7-toml",
    ],
}


@dataclass(frozen=True)
class Expect:
    """A case's ``expect.toml``."""

    category: str
    about: str
    pytest_exit: int
    pytest_message: str
    validate_exit: int
    validate_message: str
    args: tuple[str, ...] = ()
    validate_args: tuple[str, ...] = ()
    symlinks: dict[str, str] = field(default_factory=dict)
    max_memory_mb: float | None = None


def read_expect(case: Path) -> Expect:
    data = tomllib.loads((case / "expect.toml").read_text(encoding="utf-8"))
    known = {"category", "about", "args", "validate_args", "symlinks", "max_memory_mb"}
    assert set(data) <= known | {"pytest", "validate"}, f"{case.name}: unknown keys"
    return Expect(
        category=data["category"],
        about=data["about"],
        pytest_exit=data["pytest"]["exit"],
        pytest_message=data["pytest"]["message"],
        validate_exit=data["validate"]["exit"],
        validate_message=data["validate"]["message"],
        args=tuple(data.get("args", ())),
        validate_args=tuple(data.get("validate_args", ())),
        symlinks=dict(data.get("symlinks", {})),
        max_memory_mb=data.get("max_memory_mb"),
    )


def snapshot(root: Path) -> dict[str, str]:
    """Every file, folder and symlink under ``root``: its content hash or link target."""
    entries: dict[str, str] = {}
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if name != "__pycache__"]
        for name in dirnames + filenames:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                entries[rel] = "-> " + os.readlink(path)
            elif path.is_dir():
                entries[rel] = "dir"
            else:
                entries[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return entries


def materialize(case: Path, expect: Expect, root: Path, outside: Path) -> None:
    shutil.copytree(case, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("expect.toml"))
    for rel, target in expect.symlinks.items():
        link = root / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target.replace("{outside}", str(outside)))


def validate(root: Path, expect: Expect) -> tuple[int, list[str], int]:
    """Run ``phase7 validate`` in-process: exit code, output lines, peak traced memory.

    Memory is traced (which is slow) only for the cases that set ``max_memory_mb``.
    """
    out = io.StringIO()
    argv = ["validate", *expect.validate_args, "--rootdir", str(root)]
    if expect.max_memory_mb is None:
        return main(argv, out=out), out.getvalue().splitlines(), 0
    tracemalloc.start()
    try:
        code = main(argv, out=out)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return code, out.getvalue().splitlines(), peak


def matching(pattern: str, lines: list[str]) -> list[str]:
    return [line for line in lines if re.search(pattern, line)]


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside every rootdir, for symlinks that try to escape."""
    folder = tmp_path_factory.mktemp("outside-the-rootdir")
    (folder / "secret.py").write_text("SECRET = 1\n")
    return folder


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case_gives_one_message_and_changes_nothing(
    pytester: pytest.Pytester, outside: Path, case: Path
) -> None:
    expect = read_expect(case)
    root = pytester.path
    materialize(case, expect, root, outside)
    before = snapshot(root)

    result = pytester.runpytest_inprocess(*INNER, *expect.args)
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    assert result.ret == expect.pytest_exit, output
    if expect.pytest_exit == pytest.ExitCode.USAGE_ERROR:
        errors = [i for i, line in enumerate(result.errlines) if line.startswith("ERROR:")]
        assert len(errors) == 1, output
        message = result.errlines[errors[0]]
        if message.startswith("ERROR: usage:"):
            # argparse's own error (a flag's type or choices): the usage, then "PROG: error: ...".
            message = result.errlines[errors[0] + 1]
            assert ": error: argument " in message, output
        assert re.search(expect.pytest_message, message), message
    else:
        assert len(matching(expect.pytest_message, result.outlines)) == 1, output

    code, lines, peak = validate(root, expect)
    assert code == expect.validate_exit, lines
    assert len(matching(expect.validate_message, lines)) == 1, lines
    # One message: at most one error line (the summary line counts it).
    assert len([line for line in lines if ": error: " in line]) <= 1, lines
    if expect.max_memory_mb is not None:
        assert peak < expect.max_memory_mb * 2**20, f"validate peaked at {peak / 2**20:.1f} MiB"

    assert snapshot(root) == before


def test_corpus_covers_every_kind_of_bad_input_the_issue_names() -> None:
    names = {case.name for case in CASES}
    assert len(names) >= 40
    missing = {kind: cases for kind, cases in REQUIRED.items() if not set(cases) <= names}
    assert not missing


def test_every_case_is_byte_exact_in_git() -> None:
    # CRLF, BOM and binary cases must reach the tests as committed.
    assert "* -text" in (CORPUS / ".gitattributes").read_text().splitlines()
    assert b"\r\n" in (CORPUS / "crlf-markdown" / "PHASE7_EXECUTION_PLAN.md").read_bytes()
    assert (CORPUS / "utf8-bom" / "PHASE7_EXECUTION_PLAN.md").read_bytes()[:3] == b"\xef\xbb\xbf"


def corpus_counts() -> Counter[str]:
    return Counter(read_expect(case).category for case in CASES)


def readme_table(title: str) -> list[list[str]]:
    """The rows of the README table under the heading ``title``, as lists of cells."""
    lines = README.read_text(encoding="utf-8").splitlines()
    rows: list[list[str]] = []
    for line in lines[lines.index(title) + 1 :]:
        if line.startswith("#"):
            break
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[-1].isdigit():
            rows.append(cells)
    return rows


def test_readme_lists_every_corpus_category_with_its_count() -> None:
    counts = corpus_counts()
    table = {row[0]: int(row[-1]) for row in readme_table("## Bad-input corpus")}
    assert table == {**counts, "total": sum(counts.values())}


def test_readme_counts_the_other_hardening_tests(pytester: pytest.Pytester) -> None:
    rows = readme_table("## Fuzzing, faults, parity and security")
    files = [str(Path(__file__).parent / row[1]) for row in rows]
    result = pytester.runpytest_inprocess("--collect-only", "-q", "-p", "no:cacheprovider", *files)
    collected = Counter(Path(line.split("::")[0]).name for line in result.outlines if "::" in line)
    assert {row[1]: int(row[-1]) for row in rows} == dict(collected)
