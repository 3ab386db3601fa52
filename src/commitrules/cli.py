"""The command line: a thin shell over the public API.

Exit status: 0 no violations, 1 violations found (or failed pack tests), 2 usage errors,
a pack that does not load, or any rejected input line; 141 when the reader of the output
went away (``commitrules check … | head -1``), as for a Unix tool that SIGPIPE ended.

For machines: ``--format json`` on ``check``, ``lint``, ``test``, ``diff``, ``audit`` and
``packs`` (shapes in docs/machine-output.md), SARIF 2.1.0 or GitHub annotations from
``lint``, ``--out -`` (standard output) on ``report`` and ``oscal``; ``-v`` logs to stderr.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .batch import CheckResult, Rejected, check_files
from .errors import CommitRulesError
from .pack import Pack, bundled_packs, load_pack
from .violations import Violation
from .waivers import Waivers, load_waivers

__all__ = ["main", "run"]

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2
# What a shell shows for a process that SIGPIPE ended (128 + 13): the output's reader went away.
EXIT_BROKEN_PIPE = 141


class _Usage(click.UsageError):
    exit_code = EXIT_USAGE


def _when(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        msg = f"--until {value!r} is not an RFC 3339 timestamp"
        raise _Usage(msg) from None
    if moment.tzinfo is None:
        msg = f"--until {value!r} needs an offset (e.g. +08:00): a naive time is never assumed UTC"
        raise _Usage(msg)
    return moment


def _load(pack: str | None, profile: str | None) -> Pack:
    try:
        return load_pack(pack, profile=profile)
    except CommitRulesError as error:
        click.echo(f"error: cannot load pack: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None


def _personal_options(command: Callable[..., None]) -> Callable[..., None]:
    """--personal and --pseudonym-key-file: how personal fields appear in the output."""
    command = click.option(
        "--pseudonym-key-file",
        type=click.Path(exists=True, dir_okay=False),
        help="Secret key for --personal pseudonymize.",
    )(command)
    return click.option(
        "--personal",
        type=click.Choice(["mask", "pseudonymize", "include"]),
        default="mask",
        show_default=True,
        help="How fields the pack declares personal appear in the output.",
    )(command)


def _pseudonym_key(personal: str, key_file: str | None) -> bytes | None:
    key = Path(key_file).read_bytes().strip() if key_file else None
    if personal == "pseudonymize" and not key:
        raise _Usage("--personal pseudonymize needs --pseudonym-key-file")
    return key


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """--version: this package's version and the versions its results depend on."""
    if not value or ctx.resilient_parsing:
        return
    import platform  # noqa: PLC0415 - only --version needs it
    from importlib.metadata import version  # noqa: PLC0415

    # The working-day calendars of packs that take them from the holidays package change with
    # its version: so do deadlines counted in working days.
    click.echo(f"commitrules {__version__}")
    click.echo(f"holidays {version('holidays')} (working-day calendars)")
    click.echo(f"Python {platform.python_version()}")
    ctx.exit()


def _verbosity(ctx: click.Context, _param: click.Parameter, value: int) -> int:
    """-v: INFO messages of the 'commitrules' logger on stderr; -vv: DEBUG."""
    if value and not ctx.resilient_parsing:
        from ._logging import log_to_stderr  # noqa: PLC0415

        log_to_stderr(value)
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version (and the holidays package's) and exit.",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    expose_value=False,
    callback=_verbosity,
    help="Log what happens on stderr: -v pack loads and dropped state, -vv more.",
)
def cli() -> None:
    """Check business events against a customer-commitment rule pack."""


@cli.command()
@click.argument("events", nargs=-1, required=True)
@click.option(
    "--pack", "pack_path", help="Pack directory or bundled pack id (default pack if omitted)."
)
@click.option("--profile", help="Jurisdiction profile of the pack (cn, hk, uk …).")
@click.option(
    "--until", help="Move event time to this RFC 3339 time at the end (deadlines due by then)."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "jsonl", "csv"]),
    default="table",
    show_default=True,
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the rejected lines here as they were, to fix and send again (why: on stderr).",
)
@click.option(
    "--rejects-reasons",
    type=click.Path(dir_okay=False, writable=True),
    help="Write why each line was rejected here, as JSON Lines (source, line, reason, text), "
    "in the order of --rejects.",
)
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when violations are found.")
@click.option(
    "--waivers",
    "waivers_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Approved waivers (YAML).",
)
@click.option(
    "--audit",
    "audit_path",
    type=click.Path(dir_okay=False),
    help="Append a verifiable decision log here.",
)
@_personal_options
@click.option(
    "--backend",
    type=click.Choice(["native", "durable"]),
    default="native",
    show_default=True,
    help="Execution backend (durable needs the 'durable' extra).",
)
def check(
    events: tuple[str, ...],
    pack_path: str | None,
    profile: str | None,
    until: str | None,
    output_format: str,
    rejects: str | None,
    rejects_reasons: str | None,
    lang: str,
    exit_zero: bool,
    waivers_path: str | None,
    audit_path: str | None,
    personal: str,
    pseudonym_key_file: str | None,
    backend: str,
) -> None:
    """Evaluate JSON Lines EVENTS (files, '-' for stdin, .gz read as gzip) in order."""
    from .audit import DecisionLog  # noqa: PLC0415
    from .engine import Engine  # noqa: PLC0415

    moment = _when(until)
    pack = _load(pack_path, profile)
    key = _pseudonym_key(personal, pseudonym_key_file)
    waivers = _waivers(waivers_path, pack)
    try:
        engine = Engine(
            pack,
            backend=backend,
            evidence=personal,  # type: ignore[arg-type]
            pseudonym_key=key,
            waivers=waivers,
        )
    except CommitRulesError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    _check_outputs(events, rejects, rejects_reasons)
    err = Console(stderr=True)
    with contextlib.ExitStack() as opened:
        try:
            log = DecisionLog(audit_path) if audit_path else None
            if log is not None:
                opened.callback(log.close)
                log.attach(engine)
            reject_file = opened.enter_context(Path(rejects).open("wb")) if rejects else None
            reasons_file = (
                # backslashreplace: a lone surrogate (an escape in the line) stays JSON.
                opened.enter_context(
                    Path(rejects_reasons).open("w", encoding="utf-8", errors="backslashreplace")
                )
                if rejects_reasons
                else None
            )

            def on_reject(item: Rejected) -> None:
                # A lone surrogate (an escape in the line) is shown escaped, whatever stderr is.
                shown = str(item).encode("utf-8", "backslashreplace").decode("utf-8")
                click.echo(f"rejected {shown}", err=True)
                if reject_file is not None:
                    reject_file.write(item.raw + b"\n")
                if reasons_file is not None:
                    record = {
                        "source": item.source,
                        "line": item.line,
                        "reason": item.reason,
                        # For reading: the exact bytes are what --rejects keeps.
                        "text": item.raw.decode("utf-8", "replace"),
                    }
                    reasons_file.write(json.dumps(record, ensure_ascii=False) + "\n")

            result = _run_check(list(events), engine, moment, on_reject, err)
        except OSError as error:
            click.echo(f"error: {_os_reason(error)}", err=True)
            raise SystemExit(EXIT_USAGE) from None
    _print_violations(result.violations, output_format, lang)
    stats = result.stats
    click.echo(
        f"{stats.processed} processed, {stats.duplicates} duplicate, {stats.rejected} rejected; "
        f"{len(result.violations)} violations "
        f"(pack {pack.id} {pack.version}, profile {pack.profile})",
        err=True,
    )
    if result.rejected:
        raise SystemExit(EXIT_USAGE)
    if any(v.is_breach for v in result.violations) and not exit_zero:
        raise SystemExit(EXIT_VIOLATIONS)


def _check_outputs(events: Sequence[str], rejects: str | None, reasons: str | None) -> None:
    """Refuse output files that would overwrite an input or each other (before any is opened)."""
    named = [("--rejects", rejects), ("--rejects-reasons", reasons)]
    inputs = {Path(p).resolve(): p for p in events if p != "-"}
    seen: dict[Path, str] = {}
    for option, value in named:
        if value is None:
            continue
        where = Path(value).resolve()
        if where in inputs:
            click.echo(
                f"error: {option} {value} is an input file; it would be overwritten", err=True
            )
            raise SystemExit(EXIT_USAGE)
        if where in seen:
            click.echo(f"error: {option} and {seen[where]} name the same file {value}", err=True)
            raise SystemExit(EXIT_USAGE)
        seen[where] = option


def _run_check(
    paths: list[str],
    engine: Any,
    until: dt.datetime | None,
    on_reject: Any,
    err: Console,
) -> CheckResult:
    sizes = [Path(p).stat().st_size for p in paths if p != "-" and not p.endswith(".gz")]
    show = err.is_terminal and sum(sizes) > 2_000_000 and len(sizes) == len(paths)
    if not show:
        return check_files(paths, until=until, engine=engine, on_reject=on_reject)
    with Progress(
        TextColumn("checking"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("check", total=sum(sizes))
        return check_files(
            paths,
            until=until,
            engine=engine,
            on_reject=on_reject,
            on_line=lambda line: progress.advance(task, len(line.raw) + 1),
        )


def _print_violations(violations: Sequence[Violation], output_format: str, lang: str) -> None:
    if output_format == "jsonl":
        for violation in violations:
            click.echo(json.dumps(violation.to_dict(), ensure_ascii=False))
        return
    if output_format == "json":
        click.echo(json.dumps([v.to_dict() for v in violations], ensure_ascii=False, indent=2))
        return
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            [
                "id",
                "kind",
                "at",
                "rule_id",
                "clause_id",
                "severity",
                "role",
                "route",
                "subject",
                "due_at",
                "event_ids",
                "message",
            ]
        )
        for v in violations:
            writer.writerow(
                [
                    v.id,
                    v.kind,
                    v.at.isoformat(),
                    v.rule_id,
                    v.clause_id,
                    v.severity,
                    v.role,
                    " ".join(v.route),
                    json.dumps(v.to_dict()["subject"], ensure_ascii=False),
                    v.due_at.isoformat() if v.due_at else "",
                    " ".join(v.event_ids),
                    v.message.in_language(lang),
                ]
            )
        click.echo(buffer.getvalue(), nl=False)
        return
    if not violations:
        click.echo("No violations.")
        return
    table = Table(show_lines=False, header_style="bold")
    for column in ("at", "clause", "rule", "severity", "route", "message"):
        table.add_column(column, overflow="fold")
    for v in violations:
        kind = "" if v.kind == "violation" else f"[{v.kind}] "
        table.add_row(
            v.at.strftime("%Y-%m-%d %H:%M"),
            v.clause_id,
            v.rule_id,
            v.severity,
            " → ".join(v.route),
            escape(kind + v.message.in_language(lang)),
        )
    Console(width=200 if not sys.stdout.isatty() else None).print(table)


@cli.command()
@click.argument("event_type", required=False)
@click.option("--pack", "pack_path", help="Pack directory or bundled pack id.")
def schema(event_type: str | None, pack_path: str | None) -> None:
    """Print the JSON Schema of the events a pack accepts (or of one EVENT_TYPE)."""
    pack = _load(pack_path, None)
    if event_type is not None and event_type not in pack.catalog:
        known = ", ".join(pack.catalog.names)
        click.echo(f"error: unknown event type {event_type!r}; known: {known}", err=True)
        raise SystemExit(EXIT_USAGE)
    click.echo(json.dumps(pack.catalog.json_schema(event_type), ensure_ascii=False, indent=2))


def _format_option(*choices: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--format: the first choice (text for people) is the default; json is for machines."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format (json: docs/machine-output.md).",
    )


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@cli.command()
@_format_option("table", "json")
def packs(output_format: str) -> None:
    """List the known packs (shipped, and installed as packages) with their versions,
    profiles and clause and rule counts."""
    ids = bundled_packs()
    if output_format == "json":
        listed = []
        for pack_id, directory in ids.items():
            pack = _load(pack_id, None)
            listed.append(
                {
                    "id": pack_id,
                    "pack_id": pack.id,
                    "version": pack.version,
                    "profiles": list(pack.profiles),
                    "clauses": len(pack.clauses),
                    "rules": len(pack.rules),
                    "name": {"zh": pack.name.zh, "en": pack.name.en},
                    "path": str(directory),
                }
            )
        _print_json(listed)
        return
    table = Table(header_style="bold")
    # The id is what --pack takes: shown whole, however narrow the terminal.
    table.add_column("id", no_wrap=True, min_width=max((len(i) for i in ids), default=2))
    for column in ("version", "profiles", "clauses", "rules", "name"):
        table.add_column(column)
    for pack_id in ids:
        pack = _load(pack_id, None)
        table.add_row(
            pack_id,
            pack.version,
            ", ".join(pack.profiles),
            str(len(pack.clauses)),
            str(len(pack.rules)),
            pack.name.en,
        )
    Console().print(table)


@cli.command("test")
@click.argument("packs", nargs=-1)
@click.option("--coverage", "show_coverage", is_flag=True, help="Print clause and rule coverage.")
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    default=None,
    help="Fail if the share of rules with a violating and a compliant case is lower.",
)
@_format_option("text", "json")
def test_command(
    packs: tuple[str, ...], show_coverage: bool, min_coverage: float | None, output_format: str
) -> None:
    """Run the test cases of PACKS (directories or bundled ids; the default pack if none)."""
    from .testing import coverage, run_pack_tests  # noqa: PLC0415 - only this command needs it

    failed = False
    console = Console()
    suites: list[Any] = []
    coverages: dict[str, Any] = {}
    for pack_ref in packs or (None,):
        try:
            suite = run_pack_tests(pack_ref)
        except CommitRulesError as error:
            click.echo(f"error: {error}", err=True)
            raise SystemExit(EXIT_USAGE) from None
        if output_format == "json":
            suites.append(suite)
            failed = failed or not suite.passed
            if show_coverage or min_coverage is not None:
                report = coverages[suite.pack.id] = coverage(suite)
                failed = failed or _below(report, min_coverage)
            continue
        for problem in suite.errors:
            click.echo(f"error: {problem}", err=True)
        for result in suite.results:
            mark = "[green]ok[/]" if result.passed else "[red]FAIL[/]"
            console.print(f"{mark}  {escape(result.where)}  {escape(result.name)}")
        for result in suite.results:
            if not result.passed:
                click.echo(result.report())
        passed = sum(r.passed for r in suite.results)
        total = len(suite.results)
        click.echo(f"{suite.pack.id}: {passed}/{total} cases passed")
        failed = failed or not suite.passed
        if show_coverage or min_coverage is not None:
            report = coverage(suite)
            _print_coverage(console, report)
            failed = _below(report, min_coverage) or failed
    if output_format == "json":
        from ._formats import pack_tests_json  # noqa: PLC0415

        _print_json(pack_tests_json(suites, coverages))
    if failed:
        raise SystemExit(EXIT_VIOLATIONS)


def _below(report: Any, min_coverage: float | None) -> bool:
    """Whether rule coverage is below --min-coverage (said on stderr)."""
    if min_coverage is None or report.rule_percent >= min_coverage:
        return False
    click.echo(
        f"rule coverage {report.rule_percent:.1f}% is below {min_coverage:.1f}%",
        err=True,
    )
    return True


def _print_coverage(console: Console, report: Any) -> None:
    table = Table(title="rule coverage", header_style="bold")
    # Rule and clause ids shown whole (they are what the other commands take).
    widest = max((len(rule.rule_id) for rule in report.rules), default=4)
    table.add_column("rule", no_wrap=True, min_width=widest)
    for column in ("clause", "violating", "compliant", "fired"):
        table.add_column(column)
    for rule in report.rules:
        table.add_row(
            rule.rule_id,
            rule.clause_id,
            str(len(rule.violating_cases)) if rule.violating_cases else "[red]0[/]",
            str(len(rule.compliant_cases)) if rule.compliant_cases else "[red]0[/]",
            str(rule.fired),
        )
    console.print(table)
    for clause_id, reason in report.clauses_not_automatable:
        console.print(f"not automatable: {escape(clause_id)}: {escape(reason)}")
    for clause_id in report.clauses_uncovered:
        console.print(f"[red]no rule and no reason:[/] {escape(clause_id)}")
    console.print(
        f"clauses: {report.clause_percent:.1f}% accounted for; rules: "
        f"{report.rule_percent:.1f}% with a violating and a compliant case; "
        f"never fired: {len(report.never_fired)}"
    )


def _waivers(path: str | None, pack: Pack) -> Waivers | None:
    """The waivers file checked against the pack, or None; a problem is a usage error."""
    if not path:
        return None
    try:
        return load_waivers(path, pack)
    except CommitRulesError as error:
        click.echo(f"error: cannot load waivers: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None


@cli.command("report")
@click.argument("events", nargs=-1, required=True)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    required=True,
    help="report.html (HTML) or report.md (Markdown), by suffix; '-' for standard output "
    "(HTML, or Markdown with --markdown).",
)
@click.option("--markdown", is_flag=True, help="With --out -: write Markdown, not HTML.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--period", help="A period of the pack's time zone: 2026Q3, 2026H2, 2026, 2026-07.")
@click.option(
    "--until", help="Move event time here at the end, so deadlines and periods are judged."
)
@click.option("--pack", "pack_path", help="Pack directory or bundled pack id.")
@click.option("--profile", help="Jurisdiction profile.")
@click.option("--waivers", "waivers_path", type=click.Path(exists=True, dir_okay=False))
def report_command(
    events: tuple[str, ...],
    out_path: str,
    lang: str,
    period: str | None,
    until: str | None,
    pack_path: str | None,
    profile: str | None,
    waivers_path: str | None,
    markdown: bool,
) -> None:
    """Write the commitment report (section 7: how the commitments were kept) for EVENTS."""
    if out_path != "-":
        markdown = Path(out_path).suffix.lower() in (".md", ".markdown")
    if out_path != "-" and not markdown and Path(out_path).suffix.lower() not in (".html", ".htm"):
        click.echo(
            f"error: --out {out_path}: the suffix chooses the format: .html or .md", err=True
        )
        raise SystemExit(EXIT_USAGE)
    from .engine import Engine  # noqa: PLC0415
    from .report import build_report  # noqa: PLC0415

    moment = _when(until)
    pack = _load(pack_path, profile)
    engine = Engine(pack, waivers=_waivers(waivers_path, pack))
    stream = _read_events(events)
    found: list[Violation] = []
    for event in stream:
        try:
            found.extend(engine.process(event))
        except CommitRulesError as error:
            click.echo(f"rejected {event.get('id')}: {error}", err=True)
    if moment is not None:
        found.extend(engine.advance_to(moment))
    try:
        report = build_report(pack, stream, found, period=period, lang=lang, until=moment)
    except (ValueError, ImportError) as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    text = report.to_markdown() if markdown else report.to_html()
    _write_out(out_path, text)
    click.echo(f"{out_path}: report of {len(stream)} events, {len(found)} findings", err=True)


def _write_out(out_path: str, text: str) -> None:
    """Write an --out file; '-' is standard output."""
    if out_path == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    Path(out_path).write_text(text, encoding="utf-8")


@cli.command("oscal")
@click.argument("events", nargs=-1, required=True)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    required=True,
    help="The JSON file to write; '-' for standard output.",
)
@click.option("--pack", "pack_path", help="Pack directory or bundled pack id.")
@click.option("--profile", help="Jurisdiction profile.")
@click.option("--until", help="Move event time here at the end (the assessment's end).")
@click.option("--waivers", "waivers_path", type=click.Path(exists=True, dir_okay=False))
def oscal_command(
    events: tuple[str, ...],
    out_path: str,
    pack_path: str | None,
    profile: str | None,
    until: str | None,
    waivers_path: str | None,
) -> None:
    """Write the results of EVENTS as an OSCAL assessment-results document (JSON)."""
    from .engine import Engine  # noqa: PLC0415
    from .oscal import assessment_results  # noqa: PLC0415

    moment = _when(until)
    pack = _load(pack_path, profile)
    engine = Engine(pack, waivers=_waivers(waivers_path, pack))
    stream = _read_events(events)
    found: list[Violation] = []
    first: dt.datetime | None = None
    for event in stream:
        try:
            found.extend(engine.process(event))
        except CommitRulesError as error:
            click.echo(f"rejected {event.get('id')}: {error}", err=True)
            continue
        if first is None:
            first = dt.datetime.fromisoformat(str(event["at"]))
    if moment is not None:
        found.extend(engine.advance_to(moment))
    end = moment or engine.watermark
    if first is None or end is None:
        click.echo("error: no event was processed", err=True)
        raise SystemExit(EXIT_USAGE)
    document = assessment_results(pack, found, start=first, end=end)
    _write_out(out_path, json.dumps(document, ensure_ascii=False, indent=2))
    breaches = sum(v.is_breach for v in found)
    click.echo(
        f"{out_path}: {len(found)} findings ({breaches} breaches), OSCAL assessment results",
        err=True,
    )


@cli.command("audit")
@click.argument("log_path", type=click.Path(exists=True, dir_okay=False))
@_format_option("text", "json")
def audit_command(log_path: str, output_format: str) -> None:
    """Verify a decision log written by 'check --audit': nothing removed, reordered or edited."""
    from .audit import verify_log  # noqa: PLC0415

    result = verify_log(log_path)
    if output_format == "json":
        from ._formats import audit_json  # noqa: PLC0415

        _print_json(audit_json(log_path, result))
        if not result.ok:
            raise SystemExit(EXIT_VIOLATIONS)
        return
    if result.ok:
        click.echo(
            f"{log_path}: {result.records} records, chain intact (last hash {result.last_hash})"
        )
        return
    click.echo(f"{log_path}: BROKEN at line {result.line}: {result.reason}", err=True)
    raise SystemExit(EXIT_VIOLATIONS)


@cli.command("lint")
@click.argument("pack_path", required=False)
@click.option("--profile", help="Lint with this profile applied.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "sarif", "github"]),
    default="text",
    show_default=True,
    help="json: docs/machine-output.md; sarif: SARIF 2.1.0 for code scanning; github: "
    "GitHub Actions annotations.",
)
def lint_command(
    pack_path: str | None, profile: str | None, strict: bool, output_format: str
) -> None:
    """Report what loading PACK would reject, and what is legal but likely wrong."""
    from . import _formats  # noqa: PLC0415
    from .lint import lint  # noqa: PLC0415

    report = lint(pack_path, profile=profile)
    pack_dir = _pack_directory(pack_path)
    if output_format == "json":
        _print_json(_formats.lint_json(pack_path, report))
    elif output_format == "sarif":
        _print_json(_formats.lint_sarif(pack_dir, report, version=__version__))
    elif output_format == "github":
        for line in _formats.github_annotations(pack_dir, report):
            click.echo(line)
    else:
        for problem in report.errors:
            click.echo(f"error: {problem}")
        for warning in report.warnings:
            click.echo(f"warning: {warning}")
    errors, warnings = len(report.errors), len(report.warnings)
    click.echo(
        f"{errors} error{'' if errors == 1 else 's'}, "
        f"{warnings} warning{'' if warnings == 1 else 's'}",
        err=True,
    )
    if report.errors:
        raise SystemExit(EXIT_USAGE)
    if strict and report.warnings:
        raise SystemExit(EXIT_VIOLATIONS)


def _pack_directory(pack_path: str | None) -> Path | None:
    """The folder of the pack that PACK names (a directory or a known id), for file paths."""
    if pack_path is not None and Path(pack_path).is_dir():
        return Path(pack_path)
    from .pack import DEFAULT_PACK  # noqa: PLC0415

    return bundled_packs().get(pack_path or DEFAULT_PACK)


def _read_events(paths: Sequence[str]) -> list[dict[str, Any]]:
    from ._io import read_lines  # noqa: PLC0415

    events: list[dict[str, Any]] = []
    for path in paths:
        for line in read_lines(path):
            if line.error is not None:
                click.echo(f"rejected {line.source}:{line.number}: {line.error}", err=True)
                continue
            events.append(line.record)
    return events


@cli.command("explain")
@click.argument("events", nargs=-1, required=True)
@click.option("--event", "event_id", help="Only this event's decisions.")
@click.option("--pack", "pack_path", help="Pack directory or bundled pack id.")
@click.option("--profile", help="Jurisdiction profile.")
@_personal_options
def explain_command(
    events: tuple[str, ...],
    event_id: str | None,
    pack_path: str | None,
    profile: str | None,
    personal: str,
    pseudonym_key_file: str | None,
) -> None:
    """For each event, every rule that applied, whether it held, and the values it compared."""
    from .explain import explain  # noqa: PLC0415

    pack = _load(pack_path, profile)
    key = _pseudonym_key(personal, pseudonym_key_file)
    try:
        stream = _read_events(events)
        if event_id is not None and not any(event.get("id") == event_id for event in stream):
            click.echo(f"error: no event with id {event_id!r} in {', '.join(events)}", err=True)
            raise SystemExit(EXIT_USAGE)
        lines = explain(
            pack,
            stream,
            event_id=event_id,
            evidence=personal,  # type: ignore[arg-type]
            pseudonym_key=key,
        )
    except OSError as error:
        click.echo(f"error: {_os_reason(error)}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    for line in lines:
        click.echo(str(line))
    if event_id is not None and not lines:
        click.echo(f"no rule applies to event {event_id!r}", err=True)


@cli.command("diff")
@click.argument("old_pack")
@click.argument("new_pack")
@click.argument("events", nargs=-1, required=True)
@click.option("--until", help="Move event time here at the end.")
@click.option("--old-profile", help="Profile of the old pack.")
@click.option("--new-profile", help="Profile of the new pack.")
@_format_option("text", "json")
def diff_command(
    old_pack: str,
    new_pack: str,
    events: tuple[str, ...],
    until: str | None,
    old_profile: str | None,
    new_profile: str | None,
    output_format: str,
) -> None:
    """The violations a pack change adds (+) and removes (-) on the same EVENTS."""
    from .compare import compare_packs  # noqa: PLC0415

    moment = _when(until)
    old = _load(old_pack, old_profile)
    new = _load(new_pack, new_profile)
    try:
        change = compare_packs(old, new, _read_events(events), until=moment)
    except OSError as error:
        click.echo(f"error: {_os_reason(error)}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if output_format == "json":
        from ._formats import diff_json  # noqa: PLC0415

        _print_json(diff_json(change.added, change.removed, change))
    else:
        for violation in change.added:
            click.echo(f"+ {violation.at.isoformat()} {violation.rule_id} {violation.message.en}")
        for violation in change.removed:
            click.echo(f"- {violation.at.isoformat()} {violation.rule_id} {violation.message.en}")
    click.echo(
        f"{len(change.added)} added, {len(change.removed)} removed, {change.unchanged} unchanged",
        err=True,
    )
    if change.added or change.removed:
        raise SystemExit(EXIT_VIOLATIONS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from ._logging import stop_logging_to_stderr  # noqa: PLC0415

    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        # Not cli.main(): it turns a broken pipe into exit status 1 ("violations found") and
        # replaces sys.stdout for the rest of the process.
        with cli.make_context("commitrules", args) as context:
            cli.invoke(context)
    except click.exceptions.Exit as exit_:  # --help, --version
        return exit_.exit_code
    except SystemExit as exit_:
        return int(exit_.code or 0)
    except BrokenPipeError:
        # The reader went away (`commitrules check … | head -1`): stop quietly, as Unix tools do.
        return EXIT_BROKEN_PIPE
    except (click.exceptions.Abort, EOFError, KeyboardInterrupt):
        click.echo("aborted", err=True)
        return EXIT_USAGE
    except click.ClickException as error:
        error.show()
        return EXIT_USAGE
    except OSError as error:
        # A file that cannot be read or written, from any command: say which and why.
        click.echo(f"error: {_os_reason(error)}", err=True)
        return EXIT_USAGE
    finally:
        stop_logging_to_stderr()
    return EXIT_OK


def _os_reason(error: OSError) -> str:
    if error.filename is not None and error.strerror:
        return f"cannot open {error.filename}: {error.strerror}"
    return str(error)


def run() -> None:
    """The console-script entry point."""
    status = main()
    if status == EXIT_BROKEN_PIPE:
        # Python flushes stdout at exit, which would fail again and print "Exception ignored":
        # point the descriptor at the null device first (the recipe of Python's signal docs).
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
    raise SystemExit(status)
