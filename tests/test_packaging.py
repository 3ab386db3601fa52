"""Packaging: dependency bounds that are tested, the extras and groups, and the metadata."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
EXTRAS = PROJECT["optional-dependencies"]
#: The Python versions the suite runs on (docs/support.md says how).
SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")


def requirements(texts: list[str]) -> dict[str, Requirement]:
    parsed = [Requirement(text) for text in texts]
    return {req.name.lower(): req for req in parsed}


def group(name: str) -> list[str]:
    """A PEP 735 dependency group with its includes expanded."""
    out: list[str] = []
    for item in PYPROJECT["dependency-groups"][name]:
        if isinstance(item, dict):
            out.extend(group(item["include-group"]))
        else:
            out.append(item)
    return out


def lower_bound(req: Requirement) -> str | None:
    bounds = [spec.version for spec in req.specifier if spec.operator in (">=", "==")]
    return bounds[0] if bounds else None


# -- dependencies ----------------------------------------------------------------------------


def test_holidays_is_bounded_to_the_versions_that_work() -> None:
    holidays = requirements(PROJECT["dependencies"])["holidays"]
    # 0.60-0.61 crash in load_pack, 0.62-0.84 end the CN calendar in 2025; below 1.0 as asked.
    assert str(holidays.specifier) == "<1.0,>=0.85"


def test_every_runtime_dependency_has_a_lower_bound() -> None:
    for req in requirements(PROJECT["dependencies"]).values():
        assert lower_bound(req) is not None, req


def test_the_lowest_versions_run_pins_every_lower_bound() -> None:
    pinned: dict[str, str] = {}
    for text in (ROOT / ".ci" / "lowest-constraints.txt").read_text().splitlines():
        line = text.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pinned[name.lower()] = version
    wanted = requirements(PROJECT["dependencies"] + EXTRAS["testing"] + EXTRAS["report"])
    wanted["pandas"] = requirements(EXTRAS["notebooks"])["pandas"]
    # The suite's addopts run it under pytest-xdist, which the lowest run installs too.
    wanted["pytest-xdist"] = requirements(EXTRAS["test"])["pytest-xdist"]
    for name, req in wanted.items():
        bound = lower_bound(req)
        assert name in pinned, f"{name} ({req}) is not pinned for the lowest-versions run"
        assert bound is not None
        assert Version(pinned[name]) == Version(bound), f"{name}: {req} but pinned {pinned[name]}"
    # Everything else pinned there is a transitive dependency, said why in a comment.
    assert set(pinned) - set(wanted) == {"pyparsing"}


def test_ci_runs_the_readme_command_then_the_lowest_versions() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    command = (
        "python3 -m venv .venv && .venv/bin/pip install '.[test]' && .venv/bin/python -m pytest"
    )
    assert command in readme
    assert command.replace("install '", "install --quiet '") in script
    assert script.index("install --quiet '.[test]'") < script.index("-c .ci/lowest-constraints.txt")


# -- extras and dependency groups ------------------------------------------------------------


def test_the_development_tools_are_pinned() -> None:
    for source in (requirements(EXTRAS["test"]), requirements(group("lint"))):
        for tool in ("ruff", "mypy"):
            [spec] = list(source[tool].specifier)
            assert spec.operator == "==", source[tool]


def test_the_test_extra_and_the_dev_group_list_the_same_requirements() -> None:
    # The README's 'pip install .[test]' (any pip) and 'pip install --group dev' (pip >= 25.1)
    # give the same tools at the same versions.
    as_text = lambda reqs: {str(req) for req in reqs.values()}  # noqa: E731
    assert as_text(requirements(EXTRAS["test"])) == as_text(requirements(group("dev")))


def test_the_test_extra_holds_every_user_facing_extra() -> None:
    test = {str(req) for req in requirements(EXTRAS["test"]).values()}
    for extra in ("testing", "durable", "docs", "notebooks", "report", "columnar", "spark"):
        for req in requirements(EXTRAS[extra]).values():
            assert str(req) in test, f"{req} of [{extra}] is not in [test]"


def test_the_testing_extra_brings_the_plugin_and_the_strategies_needs() -> None:
    assert set(requirements(EXTRAS["testing"])) == {"pytest", "hypothesis"}


def test_durable_rules_is_not_asked_for_where_it_cannot_import() -> None:
    durable = requirements(EXTRAS["durable"])["durable-rules"]
    assert durable.marker is not None
    assert durable.marker.evaluate({"python_version": "3.12"})
    assert not durable.marker.evaluate({"python_version": "3.13"})


# -- metadata ----------------------------------------------------------------------------------


def test_classifiers_name_every_supported_python_and_the_pytest_framework() -> None:
    classifiers = set(PROJECT["classifiers"])
    versions = {
        c.rsplit(" :: ", 1)[1]
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    assert versions == set(SUPPORTED_PYTHONS)
    assert PROJECT["requires-python"] == f">={SUPPORTED_PYTHONS[0]}"
    assert "Framework :: Pytest" in classifiers
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    assert any(c.startswith("Intended Audience :: ") for c in classifiers)
    assert any(c.startswith("Topic :: ") for c in classifiers)
    support = (ROOT / "docs" / "support.md").read_text(encoding="utf-8")
    for version in SUPPORTED_PYTHONS:
        assert f"| {version} |" in support


def test_the_installed_metadata_carries_the_license_and_the_links() -> None:
    meta = metadata("commitrules")
    assert meta["License-Expression"] == "MIT"
    assert "LICENSE" in (meta.get_all("License-File") or [])
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    urls = dict(url.split(", ", 1) for url in meta.get_all("Project-URL") or [])
    assert {"Source", "Changelog", "Issues", "Security"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    assert meta.get_all("Keywords") or meta["Keywords"]
    assert {"testing", "durable", "report", "notebooks", "docs", "test"} <= set(
        meta.get_all("Provides-Extra") or []
    )


def test_security_policy_covers_every_hostile_input_and_how_to_report() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    for words in ("packs", "events", "snapshots", "decision logs", "Reporting a vulnerability"):
        assert words in text


def test_the_sdist_takes_the_license_and_the_policy() -> None:
    include = PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    assert {"LICENSE", "SECURITY.md", "CHANGELOG.md"} <= set(include)


def test_the_changelog_has_unreleased_on_top_then_dated_releases() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings[0] == "[Unreleased]"
    releases = headings[1:]
    assert releases, "no release is cut"
    for heading in releases:
        assert re.fullmatch(r"\[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}", heading), heading
    dates = [heading.rsplit(" - ", 1)[1] for heading in releases]
    assert dates == sorted(dates, reverse=True)
    # The version the package says it is has been released (or is the next one, unreleased).
    assert any(heading.startswith(f"[{PROJECT['version']}]") for heading in releases)
