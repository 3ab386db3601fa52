"""Packs shipped as packages: the ``commitrules.packs`` entry-point group.

A bank publishes its pack as a Python distribution whose entry point names the pack id and
the package that holds ``pack.yaml``; ``load_pack("its-id")``, ``extends: its-id`` and
``commitrules packs`` then find it. The distributions here are real ones (a ``.dist-info``
folder with ``entry_points.txt`` on ``sys.path``, exactly what pip installs), not mocks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import commitrules
from commitrules import PackError, bundled_packs, load_pack
from commitrules.cli import main
from tests.conftest import MINI


def install(site: Path, distribution: str, entry_points: dict[str, str]) -> None:
    """Write what pip leaves in site-packages for a distribution with these pack entry points."""
    info = site / f"{distribution}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n", encoding="utf-8"
    )
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[commitrules.packs]\n{lines}", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site-packages folder holding the package ``acme_pack`` (the mini pack) on sys.path."""
    folder = tmp_path / "site"
    shutil.copytree(MINI, folder / "acme_pack")
    (folder / "acme_pack" / "__init__.py").write_text(
        "raise RuntimeError('finding the pack must not run the package')\n", encoding="utf-8"
    )
    install(folder, "acme_pack", {"mini-acme": "acme_pack"})
    monkeypatch.syspath_prepend(str(folder))
    return folder


def test_an_installed_pack_is_listed_and_loads_by_its_id(site: Path) -> None:
    packs = bundled_packs()
    assert packs["mini-acme"] == site / "acme_pack"
    assert commitrules.DEFAULT_PACK in packs  # the shipped pack is still there
    pack = load_pack("mini-acme")
    assert pack.id == "mini"
    assert "acme_pack" not in sys.modules  # found by its spec, never imported


def test_a_pack_can_extend_an_installed_pack_by_id(site: Path, tmp_path: Path) -> None:
    child = tmp_path / "packs" / "child"
    child.mkdir(parents=True)
    (child / "pack.yaml").write_text(
        "id: child\nversion: 0.1.0\nname: {zh: 子, en: Child}\nextends: mini-acme\n",
        encoding="utf-8",
    )
    pack = load_pack(child)
    assert pack.id == "child"
    assert [rule.id for rule in pack.rules] == [rule.id for rule in load_pack("mini-acme").rules]


def test_an_attribute_entry_point_names_the_directory(tmp_path: Path, site: Path) -> None:
    module = site / "acme_paths.py"
    module.write_text(f"PACK_DIR = {str(site / 'acme_pack')!r}\n", encoding="utf-8")
    install(site, "acme_paths", {"mini-by-path": "acme_paths:PACK_DIR"})
    assert bundled_packs()["mini-by-path"] == site / "acme_pack"


def test_a_shipped_id_wins_and_broken_entry_points_are_skipped_with_a_warning(
    site: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (site / "empty_pkg").mkdir()
    (site / "empty_pkg" / "__init__.py").write_text("", encoding="utf-8")
    install(
        site,
        "bad_packs",
        {
            commitrules.DEFAULT_PACK: "acme_pack",
            "no-pack-yaml": "empty_pkg",
            "missing": "no_such_module_anywhere",
            "Not_An_Id": "acme_pack",
        },
    )
    with caplog.at_level(logging.WARNING, logger="commitrules"):
        packs = bundled_packs()
    assert packs[commitrules.DEFAULT_PACK].name == commitrules.DEFAULT_PACK
    assert not {"no-pack-yaml", "missing", "Not_An_Id"} & set(packs)
    assert packs["mini-acme"] == site / "acme_pack"
    text = caplog.text
    for name in (commitrules.DEFAULT_PACK, "no-pack-yaml", "missing", "Not_An_Id"):
        assert repr(name) in text, name


def test_an_unknown_id_lists_the_installed_packs_too(site: Path) -> None:
    with pytest.raises(PackError, match="mini-acme"):
        load_pack("mini-acmee")


def test_the_command_line_lists_and_uses_an_installed_pack(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["packs"]) == 0
    out = capsys.readouterr().out
    assert "mini-acme" in out  # the id that --pack takes
    assert commitrules.DEFAULT_PACK in out
    assert main(["test", "mini-acme"]) == 0
    assert "cases passed" in capsys.readouterr().out


def wheel(folder: Path, pack: Path) -> Path:
    """A wheel of the distribution ``acme-bank-pack`` (package ``acme_bank_pack``: the pack)."""
    name = "acme_bank_pack-1.0.0"
    files: dict[str, bytes] = {"acme_bank_pack/__init__.py": b""}
    for path in sorted(pack.rglob("*")):
        if path.is_file():
            files[f"acme_bank_pack/{path.relative_to(pack).as_posix()}"] = path.read_bytes()
    files[f"{name}.dist-info/METADATA"] = (
        b"Metadata-Version: 2.1\nName: acme-bank-pack\nVersion: 1.0.0\n"
    )
    files[f"{name}.dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{name}.dist-info/entry_points.txt"] = (
        b"[commitrules.packs]\nacme-bank = acme_bank_pack\n"
    )
    record = [f"{path},sha256={_digest(data)},{len(data)}" for path, data in files.items()] + [
        f"{name}.dist-info/RECORD,,"
    ]
    files[f"{name}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    target = folder / f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return target


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def test_a_pack_installed_by_pip_as_a_wheel_is_found_by_a_new_process(tmp_path: Path) -> None:
    target = tmp_path / "site-packages"
    install_wheel = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(wheel(tmp_path, MINI)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install_wheel.returncode == 0, install_wheel.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run(
        [sys.executable, "-m", "commitrules", "test", "acme-bank"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "cases passed" in run.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "commitrules", "packs", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "acme-bank" in [entry["id"] for entry in json.loads(listed.stdout)]
