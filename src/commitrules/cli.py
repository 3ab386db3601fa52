"""The command line: a thin shell over the public API.

Exit status: 0 no violations, 1 violations found (or failed pack tests, or a decision
log that does not verify), 2 usage errors, a pack that does not load, any rejected input
line, or any unexpected error (one line; the traceback with ``--debug``): never 1; 141 when
the reader of the output went away (``commitrules check … | head -1``), as for a Unix tool
that SIGPIPE ended.

Text from events, packs and files is shown with terminal controls escaped
(:func:`commitrules._safe_text.visible`); CSV output neutralises spreadsheet formulas.

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
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from ._check_tables import table_inputs, write_parquet
from ._safe_text import json_visible, spreadsheet_cell, visible
from .batch import CheckResult, Rejected, check_files
from .errors import AuditLogError, CommitRulesError
from .eventtime._instants import check_instant
from .pack import Pack, bundled_packs, load_pack
from .violations import Violation
from .waivers import Waivers, load_waivers

__all__ = ["main", "run"]

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2
# What a shell shows for a process that SIGPIPE ended (128 + 13): the output's reader went away.
EXIT_BROKEN_PIPE = 141


class _Usage(click.UsageError):
    exit_code = EXIT_USAGE


class _Settings:
    """Options of the whole command line that ``main`` needs after a command fails."""

    debug = False


def _say(text: object, *, err: bool = False, lines: bool = True) -> None:
    """Echo text that may hold outside text (event fields, file contents), made visible."""
    click.echo(visible(text, lines=lines), err=err)


def _key_file(path: str | None, option: str) -> bytes | None:
    """The secret in a key file (surrounding whitespace removed), or None."""
    if not path:
        return None
    key = Path(path).read_bytes().strip()
    if not key:
        raise _Usage(f"{option} {path} is empty")
    return key


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
    problem = check_instant(moment)
    if problem is not None:
        raise _Usage(f"--until: {problem}")
    return moment


def _load(pack: str | None, profile: str | None) -> Pack:
    try:
        return load_pack(pack, profile=profile)
    except CommitRulesError as error:
        _say(f"error: cannot load pack: {error}", err=True)
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


_CHECK_OPTIONS = (
    click.option(
        "--pack", "pack_path", help="Pack directory or bundled pack id (default pack if omitted)."
    ),
    click.option("--profile", help="Jurisdiction profile of the pack (cn, hk, uk …)."),
    click.option(
        "--until",
        help="Move event time to this RFC 3339 time at the end (deadlines due by then).",
    ),
    click.option(
        "--format",
        "output_format",
        type=click.Choice(["table", "json", "jsonl", "csv"]),
        default="table",
        show_default=True,
    ),
    click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True),
    click.option("--exit-zero", is_flag=True, help="Exit 0 even when violations are found."),
    click.option(
        "--id-key-file",
        type=click.Path(exists=True, dir_okay=False),
        envvar="COMMITRULES_ID_KEY_FILE",
        help="The deployment's secret id key (16+ bytes): violation ids become HMAC-SHA256 "
        "under it, personal values included; without it personal values are left out of the "
        "ids. [env: COMMITRULES_ID_KEY_FILE]",
    ),
    click.option(
        "--allow-float-decimals",
        is_flag=True,
        help="Table inputs: accept float columns for decimal fields (floats are not exact).",
    ),
)


def _check_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options of 'check' that every command judging events shares ('check', 'spark
    check', 'spark stream'), declared once: pack, profile, until, format, lang, exit-zero,
    id-key-file, allow-float-decimals."""
    for option in reversed(_CHECK_OPTIONS):
        command = option(command)
    return command


def _spark_options(command: Callable[..., None]) -> Callable[..., None]:
    """--partitions and --master: how 'spark check' and 'spark stream' run."""
    command = click.option(
        "--master",
        help="Spark master for a local run (default local[2]); under spark-submit the cluster's.",
    )(command)
    return click.option(
        "--partitions",
        type=click.IntRange(min=1),
        default=8,
        show_default=True,
        help="Buckets per keyed stage (the results do not depend on it).",
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
@click.option(
    "--debug",
    is_flag=True,
    help="On an unexpected error, print the full traceback (otherwise one line, exit 2).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Check business events against a customer-commitment rule pack."""
    ctx.ensure_object(_Settings).debug = debug


@cli.command()
@click.argument("events", nargs=-1, required=True)
@_check_options
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the violations to this file instead of standard output; the suffix chooses "
    "the format: .parquet, .jsonl or .csv.",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the rejected lines here as they were, to fix and send again (why: on stderr). "
    "With table inputs: the rejected rows (source, row, reason); the suffix chooses the "
    "format: .parquet, .jsonl or .csv.",
)
@click.option(
    "--rejects-reasons",
    type=click.Path(dir_okay=False, writable=True),
    help="Write why each line was rejected here, as JSON Lines (source, line, reason, text), "
    "in the order of --rejects.",
)
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
    help="Append a verifiable decision log here (and keep its head in FILE.head).",
)
@click.option(
    "--audit-key-file",
    type=click.Path(exists=True, dir_okay=False),
    envvar="COMMITRULES_AUDIT_KEY_FILE",
    help="Secret key (16+ bytes) that keys the decision log's chain with HMAC-SHA256; "
    "without it the chain is unkeyed SHA-256. [env: COMMITRULES_AUDIT_KEY_FILE]",
)
@click.option(
    "--csv-raw",
    is_flag=True,
    help="With --format csv: write values as they are, without a ' before a leading "
    "= + - @ tab or CR and without escaping control characters.",
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
    out_path: str | None,
    rejects: str | None,
    rejects_reasons: str | None,
    lang: str,
    exit_zero: bool,
    waivers_path: str | None,
    audit_path: str | None,
    audit_key_file: str | None,
    id_key_file: str | None,
    csv_raw: bool,
    allow_float_decimals: bool,
    personal: str,
    pseudonym_key_file: str | None,
    backend: str,
) -> None:
    """Evaluate EVENTS in order: JSON Lines files, or Parquet and Arrow tables.

    JSON Lines: files, '-' for stdin, .gz read as gzip. Tables (the 'columnar' extra):
    .parquet, .pq, .arrow, .feather and .ipc files, folders of them and glob patterns.
    """
    from .audit import DecisionLog  # noqa: PLC0415
    from .engine import Engine  # noqa: PLC0415

    tables = table_inputs(events, out_path, rejects, rejects_reasons)
    moment = _when(until)
    pack = _load(pack_path, profile)
    key = _pseudonym_key(personal, pseudonym_key_file)
    waivers = _waivers(waivers_path, pack)
    id_key = _key_file(id_key_file, "--id-key-file")
    try:
        engine = Engine(
            pack,
            backend=backend,
            evidence=personal,  # type: ignore[arg-type]
            pseudonym_key=key,
            waivers=waivers,
            id_key=id_key,
        )
    except CommitRulesError as error:
        _say(f"error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    _check_outputs(
        [*(tables.files if tables else events), *([waivers_path] if waivers_path else [])],
        ("--out", out_path),
        ("--rejects", rejects),
        ("--rejects-reasons", rejects_reasons),
        ("--audit", audit_path),
        pack=pack,
    )
    audit_key = _key_file(audit_key_file, "--audit-key-file")
    err = Console(stderr=True)
    with contextlib.ExitStack() as opened:
        try:
            log = DecisionLog(audit_path, key=audit_key) if audit_path else None
            if log is not None:
                opened.callback(log.close)
                log.attach(engine)
            reject_file = (
                opened.enter_context(Path(rejects).open("wb")) if rejects and not tables else None
            )
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
                _say(f"rejected {shown}", err=True, lines=False)
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

            if tables:
                result: Any = tables.run(
                    engine, moment, on_reject, err, allow_float_decimals=allow_float_decimals
                )
                if rejects:
                    tables.write_rejects(rejects, result.rejected, raw=csv_raw)
            else:
                result = _run_check(list(events), engine, moment, on_reject, err)
            if out_path:
                _write_violations(out_path, result.violations, lang, pack, raw=csv_raw)
        except AuditLogError as error:
            _say(f"error: --audit: {error}", err=True)
            raise SystemExit(EXIT_USAGE) from None
        except OSError as error:
            _say(f"error: {_os_reason(error)}", err=True)
            raise SystemExit(EXIT_USAGE) from None
    if not out_path:
        _print_violations(result.violations, output_format, lang, raw=csv_raw)
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


def _same_file(one: Path, other: Path) -> bool:
    if one == other:
        return True
    try:
        return os.path.samefile(one, other)  # a hard link is the same file too
    except OSError:
        return False


def _check_outputs(
    inputs: Sequence[str], *named: tuple[str, str | None], pack: Pack | None = None
) -> None:
    """Refuse output files that would overwrite an input, the pack or each other.

    Checked before any output is opened; ``inputs`` are the files read (``-`` is stdin).
    """
    read = [Path(p).resolve() for p in inputs if p != "-"]
    seen: list[tuple[Path, str]] = []
    for option, value in named:
        if value is None or value == "-":
            continue
        where = Path(value).resolve()
        if any(_same_file(where, source) for source in read):
            _say(f"error: {option} {value} is an input file; it would be overwritten", err=True)
            raise SystemExit(EXIT_USAGE)
        if pack is not None and where.is_relative_to(pack.path.resolve()):
            _say(f"error: {option} {value} is inside the pack {pack.path}", err=True)
            raise SystemExit(EXIT_USAGE)
        for other, name in seen:
            if _same_file(where, other):
                _say(f"error: {option} and {name} name the same file {value}", err=True)
                raise SystemExit(EXIT_USAGE)
        seen.append((where, option))


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


def _write_violations(
    path: str, violations: Sequence[Violation], lang: str, pack: Pack, *, raw: bool
) -> None:
    """``--out``: the violations to a file whose suffix chose the format."""
    suffix = Path(path).suffix.lower()
    if suffix == ".parquet":
        write_parquet(path, violations, pack)
        return
    with Path(path).open("w", encoding="utf-8", errors="backslashreplace", newline="") as out:
        _print_violations(violations, suffix.lstrip("."), lang, raw=raw, out=out)


def _print_violations(
    violations: Sequence[Violation],
    output_format: str,
    lang: str,
    *,
    raw: bool = False,
    out: IO[str] | None = None,
) -> None:
    # JSON: C1 controls and reordering characters as \u escapes (the values read the same).
    if output_format == "jsonl":
        for violation in violations:
            line = json_visible(json.dumps(violation.to_dict(), ensure_ascii=False))
            click.echo(line, file=out)
        return
    if output_format == "json":
        text = json.dumps([v.to_dict() for v in violations], ensure_ascii=False, indent=2)
        click.echo(json_visible(text), file=out)
        return
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        cell: Callable[[str], str] = (lambda value: value) if raw else spreadsheet_cell
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
                "provisional",
                "refers_to",
            ]
        )
        for v in violations:
            values = [
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
                "true" if v.provisional else "false",
                v.refers_to or "",
            ]
            writer.writerow([cell(value) for value in values])
        click.echo(buffer.getvalue(), nl=False, file=out)
        return
    if not violations:
        click.echo("No violations.")
        return
    table = Table(show_lines=False, header_style="bold")
    for column in ("at", "clause", "rule", "severity", "route", "message"):
        table.add_column(column, overflow="fold")
    for v in violations:
        kind = "" if v.kind == "violation" else f"[{v.kind}] "
        if v.provisional:
            kind += "[provisional] "
        cells = (v.clause_id, v.rule_id, v.severity, " → ".join(v.route))
        table.add_row(
            v.at.strftime("%Y-%m-%d %H:%M"),
            *(escape(visible(c, lines=False)) for c in cells),
            escape(visible(kind + v.message.in_language(lang), lines=False)),
        )
    Console(width=200 if not sys.stdout.isatty() else None).print(table)


@cli.command("plan")
@click.option("--pack", "pack_path", help="Pack directory or bundled pack id.")
@click.option("--profile", help="Jurisdiction profile of the pack.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="json: the plan as Plan.to_dict gives it.",
)
def plan_command(pack_path: str | None, profile: str | None, output_format: str) -> None:
    """Print the pack's stage plan: the keyed stages a distributed runner executes."""
    from .plan import plan_for  # noqa: PLC0415

    plan = plan_for(_load(pack_path, profile))
    click.echo(plan.to_json() if output_format == "json" else plan.table())


@cli.command()
@click.argument("event_type", required=False)
@click.option("--pack", "pack_path", help="Pack directory or bundled pack id.")
@click.option("--profile", help="Jurisdiction profile of the pack.")
def schema(event_type: str | None, pack_path: str | None, profile: str | None) -> None:
    """Print the JSON Schema of the events a pack accepts (or of one EVENT_TYPE)."""
    pack = _load(pack_path, profile)
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
            _say(f"error: {error}", err=True)
            raise SystemExit(EXIT_USAGE) from None
        if output_format == "json":
            suites.append(suite)
            failed = failed or not suite.passed
            if show_coverage or min_coverage is not None:
                report = coverages[suite.pack.id] = coverage(suite)
                failed = failed or _below(report, min_coverage)
            continue
        for problem in suite.errors:
            _say(f"error: {problem}", err=True)
        for result in suite.results:
            mark = "[green]ok[/]" if result.passed else "[red]FAIL[/]"
            where, name = visible(result.where, lines=False), visible(result.name, lines=False)
            console.print(f"{mark}  {escape(where)}  {escape(name)}")
        for result in suite.results:
            if not result.passed:
                _say(result.report())
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
        console.print(f"not automatable: {escape(clause_id)}: {escape(visible(reason))}")
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
        _say(f"error: cannot load waivers: {error}", err=True)
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
@click.option(
    "--lang",
    type=click.Choice(["en", "zh-Hans", "zh-Hant", "zh"]),
    default="en",
    show_default=True,
    help="zh-Hans: Simplified Chinese; zh-Hant: Traditional; zh: the script of the pack's "
    "time zone (zh-Hant for Hong Kong, Macau and Taipei, zh-Hans elsewhere).",
)
@click.option("--period", help="A period of the pack's time zone: 2026Q3, 2026H2, 2026, 2026-07.")
@click.option(
    "--until", help="Move event time here at the end, so deadlines and periods are judged."
)
@click.option("--pack", "pack_path", help="Pack directory or bundled pack id.")
@click.option("--profile", help="Jurisdiction profile.")
@click.option("--waivers", "waivers_path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--section-csv",
    "section_csv",
    multiple=True,
    metavar="ID=FILE",
    help="Also write the pack's case_statistics section ID as CSV to FILE (repeatable; "
    "spreadsheet formulas neutralised), e.g. complaint-statistics=complaints.csv.",
)
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
    section_csv: tuple[str, ...],
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
    csv_outputs = _section_csv_outputs(section_csv, pack)
    _check_outputs(
        [*events, *([waivers_path] if waivers_path else [])],
        ("--out", out_path),
        *(("--section-csv", path) for _, path in csv_outputs),
        pack=pack,
    )
    outcomes: list[Any] = []
    engine = Engine(pack, waivers=_waivers(waivers_path, pack), outcomes=outcomes.append)
    stream = _read_events(events)
    found: list[Violation] = []
    for event in stream:
        try:
            found.extend(engine.process(event))
        except CommitRulesError as error:
            _say(f"rejected {event.get('id')}: {error}", err=True, lines=False)
    if moment is not None:
        found.extend(engine.advance_to(moment))
    try:
        report = build_report(
            pack,
            stream,
            found,
            period=period,
            lang=lang,
            until=moment,
            outcomes=outcomes,
            inputs=[*events, *([waivers_path] if waivers_path else [])],
        )
    except (ValueError, ImportError, OSError) as error:
        _say(f"error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    text = report.to_markdown() if markdown else report.to_html()
    _write_out(out_path, text)
    click.echo(f"{out_path}: report of {len(stream)} events, {len(found)} findings", err=True)
    for section, path in csv_outputs:
        Path(path).write_text(report.to_csv(section), encoding="utf-8", newline="")
        click.echo(f"{path}: section {section} as CSV", err=True)


def _section_csv_outputs(options: Sequence[str], pack: Pack) -> list[tuple[str, str]]:
    """``--section-csv ID=FILE`` options as (section id, file), each id a case_statistics
    section of the pack; a usage error otherwise (before anything is read or written)."""
    known = [s.id for s in pack.report_sections if s.kind == "case_statistics"]
    out: list[tuple[str, str]] = []
    for option in options:
        section, sep, path = option.partition("=")
        if not sep or not section or not path or path == "-":
            _say(f"error: --section-csv {option}: give ID=FILE (a file, not '-')", err=True)
            raise SystemExit(EXIT_USAGE)
        if section not in known:
            _say(
                f"error: --section-csv {option}: the pack {pack.id} has no case_statistics "
                f"section {section!r} (it has: {', '.join(known) or 'none'})",
                err=True,
            )
            raise SystemExit(EXIT_USAGE)
        out.append((section, path))
    return out


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
    _check_outputs(
        [*events, *([waivers_path] if waivers_path else [])], ("--out", out_path), pack=pack
    )
    engine = Engine(pack, waivers=_waivers(waivers_path, pack))
    stream = _read_events(events)
    found: list[Violation] = []
    first: dt.datetime | None = None
    for event in stream:
        try:
            found.extend(engine.process(event))
        except CommitRulesError as error:
            _say(f"rejected {event.get('id')}: {error}", err=True, lines=False)
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
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False),
    envvar="COMMITRULES_AUDIT_KEY_FILE",
    help="The key the log was written with (check --audit-key-file). "
    "[env: COMMITRULES_AUDIT_KEY_FILE]",
)
@_format_option("text", "json")
def audit_command(log_path: str, key_file: str | None, output_format: str) -> None:
    """Verify a decision log written by 'check --audit' and its head (LOG_PATH.head).

    Exit 0 intact, 1 broken (an edited, inserted, removed or reordered record, a cut tail,
    a missing, edited or stale head), 2 unverifiable (not a decision log; keyed, and no
    key or another key given).
    """
    from .audit import verify_log  # noqa: PLC0415

    try:
        result = verify_log(log_path, key=_key_file(key_file, "--key-file"))
    except AuditLogError as error:
        _say(f"error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if output_format == "json":
        from ._formats import audit_json  # noqa: PLC0415

        _print_json(audit_json(log_path, result))
        if result.verdict == "unverifiable":
            raise SystemExit(EXIT_USAGE)
        if not result.ok:
            raise SystemExit(EXIT_VIOLATIONS)
        return
    shown = visible(log_path, lines=False)
    if result.ok:
        kind = {
            "hmac-sha256": f"keyed: HMAC-SHA256, key id {result.key_id}",
            "sha256": "unkeyed: SHA-256",
        }.get(result.chain, "commitrules 0.1 format: unkeyed, no head")
        head = "" if result.head is None else f", head matches ({result.head} records)"
        last = result.last_hash
        _say(f"{shown}: {result.records} records, chain intact ({kind}){head}, last hash {last}")
        for note in result.notes:
            _say(f"  {note}")
        return
    where = f" at line {result.line}" if result.line else ""
    if result.verdict == "unverifiable":
        _say(f"{shown}: cannot verify{where}: {result.reason}", err=True)
        raise SystemExit(EXIT_USAGE)
    _say(f"{shown}: BROKEN{where}: {result.reason}", err=True)
    if result.line:
        _say(f"  {result.records} records verified before it", err=True)
    raise SystemExit(EXIT_VIOLATIONS)


@cli.command("lint")
@click.argument("pack_path", required=False)
@click.option("--profile", help="Lint with this profile applied.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Check the calendars' horizon as of this day (YYYY-MM-DD): would deadlines counted "
    "from it reach past the last official year?",
)
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
    pack_path: str | None,
    profile: str | None,
    strict: bool,
    as_of: dt.datetime | None,
    output_format: str,
) -> None:
    """Report what loading PACK would reject, and what is legal but likely wrong."""
    from . import _formats  # noqa: PLC0415
    from .lint import lint  # noqa: PLC0415

    report = lint(pack_path, profile=profile, as_of=as_of.date() if as_of else None)
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
            _say(f"error: {problem}")
        for warning in report.warnings:
            _say(f"warning: {warning}")
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
                _say(f"rejected {line.source}:{line.number}: {line.error}", err=True, lines=False)
                continue
            events.append(line.record)
    return events


@cli.command("explain")
@click.argument("events", nargs=-1, required=True)
@click.option("--event", "event_id", help="Only this event's decisions.")
@click.option("--pack", "pack_path", help="Pack directory or bundled pack id.")
@click.option("--profile", help="Jurisdiction profile.")
@click.option(
    "--until",
    help="Move event time here at the end: deadlines due and periods closed by then, each a line.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON array of the lines (fields as in Explanation.to_dict).",
)
@_personal_options
def explain_command(
    events: tuple[str, ...],
    event_id: str | None,
    pack_path: str | None,
    profile: str | None,
    until: str | None,
    output_format: str,
    personal: str,
    pseudonym_key_file: str | None,
) -> None:
    """For each event, every rule that applied, whether it held, and the values it compared;
    what each deadline did (opened, fulfilled, extended, cancelled) and what moving event
    time did (a deadline missed or escalated, a period closed)."""
    from .explain import explain  # noqa: PLC0415

    moment = _when(until)
    pack = _load(pack_path, profile)
    key = _pseudonym_key(personal, pseudonym_key_file)
    try:
        stream = _read_events(events)
        if event_id is not None and not any(event.get("id") == event_id for event in stream):
            _say(f"error: no event with id {event_id!r} in {', '.join(events)}", err=True)
            raise SystemExit(EXIT_USAGE)
        lines = explain(
            pack,
            stream,
            event_id=event_id,
            until=moment,
            evidence=personal,  # type: ignore[arg-type]
            pseudonym_key=key,
        )
    except OSError as error:
        click.echo(f"error: {_os_reason(error)}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if output_format == "json":
        click.echo(json.dumps([line.to_dict() for line in lines], ensure_ascii=False, indent=2))
    else:
        for line in lines:
            _say(line, lines=False)
    if event_id is not None and not lines:
        _say(f"no rule applies to event {event_id!r}", err=True)


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
            _say(
                f"+ {violation.at.isoformat()} {violation.rule_id} {violation.message.en}",
                lines=False,
            )
        for violation in change.removed:
            _say(
                f"- {violation.at.isoformat()} {violation.rule_id} {violation.message.en}",
                lines=False,
            )
    click.echo(
        f"{len(change.added)} added, {len(change.removed)} removed, {change.unchanged} unchanged",
        err=True,
    )
    if change.added or change.removed:
        raise SystemExit(EXIT_VIOLATIONS)


@cli.command("migrate")
@click.argument("state", type=click.Path(exists=True, dir_okay=False))
@click.option("--pack", "pack_path", required=True, help="The new pack (directory or bundled id).")
@click.option("--profile", help="Profile of the new pack.")
@click.option("--name", default="default", show_default=True, help="Checkpoint name in a store.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@click.option("--apply", "apply_", is_flag=True, help="Write the migrated state.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True),
    help="With --apply and a snapshot file: where to write the migrated snapshot "
    "(a checkpoint store is updated in place).",
)
def migrate_command(
    state: str,
    pack_path: str,
    profile: str | None,
    name: str,
    output_format: str,
    apply_: bool,
    out_path: str | None,
) -> None:
    """Say what restoring STATE (a snapshot JSON file or a checkpoint store) into a new pack
    does, rule by rule and obligation by obligation; with --apply, do it.

    Exit status: 0 nothing dropped, 1 some state would be dropped (still written with
    --apply), 2 an error.
    """
    from .engine import Engine  # noqa: PLC0415
    from .migration import MigrationReport, dumps  # noqa: PLC0415

    pack = _load(pack_path, profile)
    path = Path(state)
    is_store = path.read_bytes()[:16] == b"SQLite format 3\x00"
    position = 0
    store: Any = None
    try:
        if is_store:
            from .store import CheckpointStore  # noqa: PLC0415

            store = CheckpointStore(path)
            loaded = store.load(name=name)
            if loaded is None:
                raise _Usage(f"{state}: no checkpoint named {name!r}")
            snapshot, position = loaded
        else:
            try:
                snapshot = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as error:
                raise _Usage(
                    f"{state}: not a snapshot (JSON) or a checkpoint store: {error}"
                ) from None
        if apply_ and not is_store and out_path is None:
            raise _Usage("--apply with a snapshot file needs --out FILE")
        if out_path is not None and Path(out_path).resolve() == path.resolve():
            raise _Usage("--out must not be the input snapshot (write it next to it)")
        try:
            engine = Engine.restore(pack, snapshot)
        except CommitRulesError as error:
            click.echo(f"error: {error}", err=True)
            raise SystemExit(EXIT_USAGE) from None
        report = engine.migration
        assert isinstance(report, MigrationReport)
        if output_format == "json":
            click.echo(dumps(report))
        else:
            _print_migration(report)
        if apply_:
            if store is not None:
                store.save(engine, position, name=name)
                click.echo(f"checkpoint {name!r} of {state} migrated", err=True)
            else:
                assert out_path is not None
                Path(out_path).write_text(json.dumps(engine.snapshot()), encoding="utf-8")
                click.echo(f"migrated snapshot written to {out_path}", err=True)
    finally:
        if store is not None:
            store.close()
    if report.drops:
        raise SystemExit(EXIT_VIOLATIONS)


def _print_migration(report: Any) -> None:
    click.echo(
        f"from {report.from_pack.get('id')} {report.from_pack.get('version')} "
        f"to {report.to_pack.get('id')} {report.to_pack.get('version')}"
        f" ({report.to_pack.get('profile')}), watermark "
        f"{report.watermark.isoformat() if report.watermark else '-'}"
    )
    table = Table(show_lines=False, header_style="bold")
    for column in ("rule", "action", "obligation", "old due", "new due", "why"):
        table.add_column(column, overflow="fold")
    shown = [rule for rule in report.rules if rule.action != "kept" or rule.items]
    for rule in shown:
        table.add_row(rule.rule_id, rule.action, "", "", "", escape(rule.reason))
        tz = report.watermark.tzinfo if report.watermark else dt.UTC
        for item in rule.items:
            key = ", ".join(f"{k}={v}" for k, v in item.key.items())
            old = _due_text(item.old_due_us, tz)
            new = _due_text(item.new_due_us, tz)
            table.add_row("", item.action, escape(key), old, new, escape(item.reason))
    if shown:
        Console(width=200 if not sys.stdout.isatty() else None).print(table)
    else:
        click.echo("every rule unchanged: the state is restored as it is")
    for violation in report.released:
        click.echo(
            f"released by the upgrade: {violation.kind} {violation.rule_id} "
            f"{violation.id} {violation.message.en}"
        )
    click.echo(report.summary() or "nothing to carry", err=True)


def _due_text(us: int | None, tz: Any) -> str:
    from .eventtime import from_us  # noqa: PLC0415

    return from_us(us, tz).strftime("%Y-%m-%d %H:%M") if us is not None else ""


@cli.group("calendar")
def calendar_group() -> None:
    """Working-day calendars: show a pack's years, check a file, seed a new year."""


@calendar_group.command("show")
@click.option("--pack", "pack_path", help="Pack directory or bundled pack id.")
@click.option("--profile", help="Jurisdiction profile (default: the pack's).")
@click.option("--year", "years", type=int, multiple=True, help="Also list this year's days.")
def calendar_show(pack_path: str | None, profile: str | None, years: tuple[int, ...]) -> None:
    """Show the profile's calendar year by year: status, source, days off, make-up days."""
    from .eventtime import WorkingDayCalendar  # noqa: PLC0415
    from .eventtime._calendars import day_names, years_in_use  # noqa: PLC0415

    pack = _load(pack_path, profile)
    spec = pack.calendar_spec
    if spec is None:
        click.echo(
            f"{pack.id} ({pack.profile}): no working-day calendar (no rule counts working days)"
        )
        return
    calendar = WorkingDayCalendar(spec)
    official = calendar.last_year
    click.echo(
        f"{pack.id} profile {pack.profile}: calendar {spec.jurisdiction}"
        + (f", official through {official}" if official else ", no official year")
        + (", strict" if spec.strict else "")
    )
    table = Table(show_lines=False, header_style="bold")
    for column in ("year", "status", "source", "days off", "make-up days", "working days"):
        table.add_column(column, overflow="fold")
    for year in years_in_use(calendar, years):
        if year.source is not None:
            source = year.source.describe() + (f"\n{year.source.link}" if year.source.link else "")
        else:
            assert year.derived is not None
            source = year.derived.describe() + (
                f"\n{year.derived.note}" if year.derived.note else ""
            )
        weekdays_off = sum(1 for day in year.days_off if day.weekday() not in (5, 6))
        working = calendar.working_days_between(
            dt.date(year.year - 1, 12, 31), dt.date(year.year, 12, 31)
        )
        table.add_row(
            str(year.year),
            year.status,
            escape(source),
            f"{len(year.days_off)} ({weekdays_off} on weekdays)",
            str(len(year.working_days)),
            str(working),
        )
    Console(width=160 if not sys.stdout.isatty() else None).print(table)
    for number in years:
        year = calendar.year(number)
        names = day_names(year)
        click.echo(f"\n{number} ({year.status}):")
        for day in sorted(year.days_off):
            click.echo(f"  off      {day.isoformat()} {day:%a}  {names.get(day, '')}")
        for day in sorted(year.working_days):
            click.echo(f"  working  {day.isoformat()} {day:%a}  {names.get(day, '')}")


@calendar_group.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def calendar_check(files: tuple[str, ...]) -> None:
    """Check calendar files (calendars/<JURISDICTION>.yaml): every problem with file:line."""
    from .pack._read import read_calendar  # noqa: PLC0415

    failed = False
    for name in files:
        try:
            data = read_calendar(Path(name))
        except CommitRulesError as error:
            click.echo(f"error: {error}", err=True)
            failed = True
            continue
        summary = ", ".join(f"{year.year} {year.status}" for year in data.years) or "no years"
        click.echo(f"{name}: {data.jurisdiction}: {summary}")
    if failed:
        raise SystemExit(EXIT_USAGE)


@calendar_group.command("seed")
@click.argument("jurisdiction")
@click.argument("year", type=int)
def calendar_seed(jurisdiction: str, year: int) -> None:
    """Draft YEAR of JURISDICTION (CN, HK, GB-ENG …) from a calendar package, to correct.

    The draft is provisional: check every day against the official notice, then mark it
    official with the notice as its source and add it under 'years:' in the pack's
    calendars/<JURISDICTION>.yaml.
    """
    from .eventtime._calendar_files import seed_year  # noqa: PLC0415

    country, _, subdivision = jurisdiction.partition("-")
    try:
        text = seed_year(country, year, subdivision=subdivision or None)
    except (NotImplementedError, KeyError, ValueError, AttributeError) as error:
        raise _Usage(f"cannot seed {jurisdiction} {year}: {error}") from None
    click.echo(text, nl=False)


@cli.group("spark")
def spark_group() -> None:
    """Run a pack on Apache Spark with its stage plan (the 'spark' extra; Java 17+)."""


@spark_group.command("check")
@click.argument("events", nargs=-1, required=True)
@_check_options
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the violations to this file; the suffix chooses the format: .parquet, .jsonl "
    "or .csv.",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the refused rows (source, row, reason) here; the suffix chooses the format: "
    ".parquet, .jsonl or .csv.",
)
@_spark_options
def spark_check(
    events: tuple[str, ...],
    pack_path: str | None,
    profile: str | None,
    until: str | None,
    output_format: str,
    lang: str,
    exit_zero: bool,
    id_key_file: str | None,
    allow_float_decimals: bool,
    out_path: str | None,
    rejects: str | None,
    partitions: int,
    master: str | None,
) -> None:
    """Evaluate Parquet EVENTS (files or folders, in path order) on Spark: exactly the
    single engine's violations. Runs locally, or on a cluster under spark-submit
    (python -m commitrules.spark is this command)."""
    try:
        from .columnar import write_rejects  # noqa: PLC0415 - optional extras
        from .spark import _command  # noqa: PLC0415
    except ImportError as error:
        _say(f"error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    for option, target in (("--out", out_path), ("--rejects", rejects)):
        if target is not None and Path(target).suffix.lower() not in {".parquet", ".jsonl", ".csv"}:
            _say(
                f"error: {option} {target}: the suffix chooses the format: "
                ".parquet, .jsonl or .csv",
                err=True,
            )
            raise SystemExit(EXIT_USAGE)
    moment = _when(until)
    pack = _load(pack_path, profile)
    id_key = _key_file(id_key_file, "--id-key-file")
    _check_outputs(list(events), ("--out", out_path), ("--rejects", rejects), pack=pack)
    try:
        result = _command.run_check(
            events,
            pack,
            master=master,
            partitions=partitions,
            until=moment,
            allow_float_decimals=allow_float_decimals,
            id_key=id_key,
        )
    except CommitRulesError as error:
        _say(f"error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if out_path:
        _write_violations(out_path, result.violations, lang, pack, raw=False)
    else:
        _print_violations(result.violations, output_format, lang)
    if rejects:
        write_rejects(rejects, result.rejected)
    _spark_summary(result, pack, f"Spark, {partitions} partitions per keyed stage", exit_zero)


def _spark_summary(result: Any, pack: Pack, how: str, exit_zero: bool) -> None:
    """The refused rows and the counts on stderr; the exit status of 'check'."""
    for item in result.rejected:
        _say(f"rejected {item}", err=True, lines=False)
    stats = result.stats
    click.echo(
        f"{stats.processed} processed, {stats.duplicates} duplicate, {stats.rejected} rejected; "
        f"{len(result.violations)} violations "
        f"(pack {pack.id} {pack.version}, profile {pack.profile}; {how})",
        err=True,
    )
    if result.rejected:
        raise SystemExit(EXIT_USAGE)
    if any(v.is_breach for v in result.violations) and not exit_zero:
        raise SystemExit(EXIT_VIOLATIONS)


@spark_group.command("stream")
@click.argument("source")
@_check_options
@click.option(
    "--out",
    "out_path",
    type=click.Path(file_okay=False, writable=True),
    help="Folder for the violations (violations.parquet, written when the stream is drained); "
    "without it they are printed.",
)
@click.option(
    "--rejects",
    type=click.Path(file_okay=False, writable=True),
    help="Folder for the refused rows (source, row, reason): batch-N.parquet at the end of "
    "each micro-batch.",
)
@click.option(
    "--checkpoint",
    required=True,
    type=click.Path(file_okay=False, writable=True),
    help="The streaming query's checkpoint folder (a new one for each run).",
)
@click.option(
    "--files-per-trigger",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Files per micro-batch (Spark's maxFilesPerTrigger).",
)
@click.option(
    "--state",
    type=click.Choice(["keyed", "live"]),
    default="keyed",
    show_default=True,
    help="Keyed stages' state between micro-batches: a table of per-key parts (keyed) or one "
    "live engine per bucket (live, faster); the results are the same.",
)
@_spark_options
def spark_stream(
    source: str,
    pack_path: str | None,
    profile: str | None,
    until: str | None,
    output_format: str,
    lang: str,
    exit_zero: bool,
    id_key_file: str | None,
    allow_float_decimals: bool,
    out_path: str | None,
    rejects: str | None,
    checkpoint: str,
    files_per_trigger: int,
    state: str,
    partitions: int,
    master: str | None,
) -> None:
    """Stream the Parquet files of the folder SOURCE through Spark Structured Streaming, a
    few files per micro-batch (in the order Spark picks them up, each micro-batch's files in
    path order), until it is drained: exactly the single engine's violations."""
    try:
        from .spark import _command  # noqa: PLC0415 - the optional extra
    except ImportError as error:
        _say(f"error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    moment = _when(until)
    pack = _load(pack_path, profile)
    id_key = _key_file(id_key_file, "--id-key-file")
    try:
        result = _command.run_stream(
            source,
            pack,
            master=master,
            partitions=partitions,
            until=moment,
            allow_float_decimals=allow_float_decimals,
            id_key=id_key,
            out=out_path,
            rejects=rejects,
            checkpoint=checkpoint,
            files_per_trigger=files_per_trigger,
            state="live" if state == "live" else "keyed",
        )
    except CommitRulesError as error:
        _say(f"error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if not out_path:
        _print_violations(result.violations, output_format, lang)
    how = (
        f"Spark streaming, {result.micro_batches} micro-batches, "
        f"{partitions} partitions per keyed stage"
    )
    _spark_summary(result, pack, how, exit_zero)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (never 1 for an unexpected error)."""
    from ._logging import stop_logging_to_stderr  # noqa: PLC0415

    settings = _Settings()
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        # Not cli.main(): it turns a broken pipe into exit status 1 ("violations found") and
        # replaces sys.stdout for the rest of the process.
        with cli.make_context("commitrules", args, obj=settings) as context:
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
        _say(f"error: {_os_reason(error)}", err=True)
        return EXIT_USAGE
    except Exception as error:  # noqa: BLE001 - the last resort: one line and exit 2, never 1
        if settings.debug:
            traceback.print_exc()
        _say(f"error: {_unexpected(error)}", err=True, lines=False)
        return EXIT_USAGE
    finally:
        stop_logging_to_stderr()
    return EXIT_OK


def _unexpected(error: BaseException) -> str:
    """One line about an error nothing else caught (the traceback is for --debug)."""
    text = " ".join(str(error).split())
    if len(text) > 300:
        text = text[:300] + " …"
    detail = f": {text}" if text else ""
    return (
        f"unexpected {type(error).__name__}{detail} (a bug, or an input commitrules does not "
        "handle yet; 'commitrules --debug …' prints the traceback)"
    )


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
