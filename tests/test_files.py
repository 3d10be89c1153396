"""``pytest_phase7.files``: reading and appending only to regular files, paths that can be used."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from pytest_phase7.files import (
    FileTooLargeError,
    NotRegularFileError,
    is_regular,
    kind_of,
    open_append,
    read_regular,
    reason,
    shorten_name,
    usable_path,
)


def test_a_regular_file_is_read_whole_and_within_a_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 3_000_000)  # more than one read chunk
    assert read_regular(path) == b"x" * 3_000_000
    with pytest.raises(FileTooLargeError, match="is 3000000 bytes, more than 10"):
        read_regular(path, limit=10)


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: p.mkdir(), "a folder"),
        (os.mkfifo, "a FIFO"),
        (lambda p: p.symlink_to("/dev/null"), "a device"),
    ],
)
def test_anything_but_a_regular_file_is_refused_without_blocking(
    tmp_path: Path, make: object, kind: str
) -> None:
    path = tmp_path / "x.py"
    make(path)  # type: ignore[operator]
    with pytest.raises(NotRegularFileError, match=f"is {kind}, not a regular file"):
        read_regular(path)
    with pytest.raises(NotRegularFileError, match=f"is {kind}, not a regular file"):
        os.close(open_append(path))
    assert not is_regular(path)


def test_a_socket_is_named_as_one(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "s"))
        assert kind_of(os.stat(tmp_path / "s").st_mode) == "a socket"
    assert kind_of(stat.S_IFCHR) == "a device"


def test_appending_creates_a_file_and_reads_it_back(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    fd = open_append(path, readable=True)
    try:
        os.write(fd, b"one\n")
        assert os.pread(fd, 4, 0) == b"one\n"
    finally:
        os.close(fd)
    assert is_regular(path)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("a\0b", "invalid path: embedded null byte"),
        ("loop", "Too many levels of symbolic links"),
        ("d/" * 2500 + "x", "File name too long"),
    ],
)
def test_a_path_that_cannot_be_used_is_an_os_error(tmp_path: Path, value: str, why: str) -> None:
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(OSError) as caught:
        usable_path(tmp_path / value)
    assert reason(caught.value) == why
    with pytest.raises(OSError):
        read_regular(tmp_path / value)


def test_a_path_that_does_not_exist_yet_can_be_used(tmp_path: Path) -> None:
    assert usable_path(tmp_path / "new" / "report.md") == (tmp_path / "new" / "report.md").resolve()


def test_long_names_are_cut_in_the_middle_and_counted() -> None:
    assert shorten_name("short") == "'short'"
    long = "a" * 100 + "z"
    assert shorten_name(long) == f"'{'a' * 39}…{'a' * 38}z' (101 characters)"
    assert reason(ValueError("")) == "ValueError"
