"""The command line: `metriclint check`, `fix`, `rule`, `rules` (ruff's conventions)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import List, Optional, Tuple

import click

from . import __version__
from .report import ALIASES, DEFAULT_FORMAT, FORMATS
from .report.style import COLOR_CHOICES

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _split(values: Tuple[str, ...]) -> Tuple[str, ...]:
    out: List[str] = []
    for value in values:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return tuple(out)


def _common_options(func):
    options = [
        click.argument("paths", nargs=-1, type=click.Path()),
        click.option("--select", multiple=True, help="Rule codes or prefixes to enable (comma-separated), e.g. KM1,KM207."),
        click.option("--extend-select", multiple=True, help="Rule codes or prefixes to enable on top of `select`."),
        click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable."),
        click.option("--target-keras", type=click.Choice(["2", "3"]), help="Keras flavour to check against (default: inferred, else 3)."),
        click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Use this config file instead of searching for one."),
        click.option("--output-format", type=click.Choice(list(FORMATS) + list(ALIASES)), envvar="METRICLINT_OUTPUT_FORMAT",
                     show_envvar=True,
                     help="full (default: the line and a caret under the span, the explanation, the fix), concise (one "
                          "line per finding), json (ruff's fields), json-lines, sarif, github (Actions annotations), "
                          "gitlab (code quality report), junit (XML, one test case per finding)."),
        click.option("-o", "--output-file", type=click.Path(dir_okay=False, writable=True), envvar="METRICLINT_OUTPUT_FILE",
                     show_envvar=True, help="Write the report to this file instead of stdout."),
        click.option("--color", type=click.Choice(list(COLOR_CHOICES)), default=None,
                     help="Colour in the text formats: auto (default: only in a terminal; FORCE_COLOR forces, "
                          "NO_COLOR and CI turn it off), always, never."),
        click.option("-q", "--quiet", is_flag=True, default=None, help="Print the findings, but nothing else (no summary, notes or progress)."),
        click.option("-s", "--silent", is_flag=True, default=None,
                     help="Print nothing but errors (the exit code still says whether anything was found)."),
        click.option("--statistics", is_flag=True, help="Show counts per rule instead of each diagnostic."),
        click.option("--show-fixes", is_flag=True,
                     help="List the fixes per file: with `check`, what `fix` would change; with `fix`, what it changed."),
        click.option("-e", "--exit-zero", is_flag=True, help="Exit 0 even when diagnostics remain."),
        click.option("--unsafe-fixes", is_flag=True, help="Include fixes that may change behaviour."),
        click.option("--exit-non-zero-on-fix", is_flag=True, help="With fixing: exit 1 when anything was fixed, even if nothing remains."),
        click.option("--stdin-filename", help="With `-` as path: the file name stdin stands for (config, messages)."),
        click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: all cores)."),
        click.option("--no-cache", is_flag=True, help="Do not read or write the result cache (.metriclint_cache)."),
        click.option("--exclude", multiple=True, help="Glob patterns to exclude (replaces the configured list)."),
        click.option("--extend-exclude", multiple=True, help="Glob patterns to exclude on top of the configured ones."),
        click.option("--force-exclude", is_flag=True,
                     help="Apply `exclude`/`extend-exclude` to files named on the command line too (for pre-commit)."),
        click.option("--show-settings", is_flag=True, help="Print the settings used for the first path and exit."),
        click.option("--diff", is_flag=True, help="Show the fixes as a unified diff and write nothing (implies fixing)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _log_options(func):
    """`-q`, `-s` and `--color` go before the command too (`metriclint -q check`), as in ruff."""
    for option in reversed([
        click.option("--color", type=click.Choice(list(COLOR_CHOICES)), default=None, help="Colour: auto, always, never."),
        click.option("-q", "--quiet", is_flag=True, default=None, help="Print the findings, but nothing else."),
        click.option("-s", "--silent", is_flag=True, default=None, help="Print nothing but errors."),
    ]):
        func = option(func)
    return func


@dataclass
class _RunOptions:
    paths: Tuple[str, ...]
    select: Tuple[str, ...]
    extend_select: Tuple[str, ...]
    ignore: Tuple[str, ...]
    target_keras: Optional[str]
    config_path: Optional[str]
    output_format: Optional[str]
    output_file: Optional[str]
    color: Optional[str]
    quiet: Optional[bool]
    silent: Optional[bool]
    statistics: bool
    exit_zero: bool
    unsafe_fixes: bool
    stdin_filename: Optional[str]
    jobs: Optional[int]
    no_cache: bool
    exclude: Tuple[str, ...]
    extend_exclude: Tuple[str, ...]
    force_exclude: bool
    show_settings: bool
    show_fixes: bool
    diff: bool
    exit_non_zero_on_fix: bool
    add_noqa: bool = False
    fix: bool = False  # `check --fix`

    def inherit(self, group: dict) -> "_RunOptions":
        """Take `-q`, `-s` and `--color` given before the command when the command has none."""
        self.quiet = bool(self.quiet or group.get("quiet"))
        self.silent = bool(self.silent or group.get("silent"))
        self.color = self.color or group.get("color")
        return self

    @property
    def format(self) -> str:
        return self.output_format or DEFAULT_FORMAT


def _error(message: str) -> None:
    click.echo(f"metriclint: error: {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="metriclint")
@_log_options
@click.pass_context
def main(ctx: click.Context, quiet: Optional[bool], silent: Optional[bool], color: Optional[str]) -> None:
    """Find and fix misuse of Keras metrics, statically. Nothing it reads is imported or run."""
    ctx.obj = {"quiet": quiet, "silent": silent, "color": color}


@main.command()
@_common_options
@click.option("--fix/--no-fix", default=False, help="Apply the fixes, as `metriclint fix` does.")
@click.option("--add-noqa", is_flag=True,
              help="Add `# noqa: CODES` to every line with a finding, so that the next check is clean.")
@click.pass_context
def check(ctx: click.Context, **kwargs) -> None:
    """Report metric bugs in PATHS (default: the current directory); `--fix` applies the fixes."""
    opts = _RunOptions(**kwargs).inherit(ctx.obj or {})
    sys.exit(_run(opts, fix=opts.fix or opts.diff, diff=opts.diff))


@main.command()
@_common_options
@click.pass_context
def fix(ctx: click.Context, **kwargs) -> None:
    """Apply fixes in PATHS (safe ones; add --unsafe-fixes for the rest)."""
    opts = _RunOptions(**kwargs).inherit(ctx.obj or {})
    sys.exit(_run(opts, fix=True, diff=opts.diff))


def _run(opts: _RunOptions, fix: bool, diff: bool) -> int:
    try:
        return _run_checked(opts, fix, diff)
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_ERROR
    except BrokenPipeError:  # `metriclint check | head`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail too
        return EXIT_FINDINGS
    except Exception as exc:  # a bug in metriclint itself: say so briefly, exit 2 (as ruff does on a panic)
        import traceback

        _error(f"internal error: {type(exc).__name__}: {exc}. Please report it at "
               "https://github.com/metriclint/metriclint/issues")
        if os.environ.get("METRICLINT_DEBUG"):
            traceback.print_exc()
        return EXIT_ERROR


def _run_checked(opts: _RunOptions, fix: bool, diff: bool) -> int:
    from .report import Report
    from .report.style import use_color
    from .report.text import plural
    from .rules import known_codes
    from .runner import Job, forget_project_index, io_error, process_stdin, run_jobs
    from .settings import ConfigError, Overrides, SettingsResolver, validate_selectors
    from .diagnostics import FileResult
    from .files import discover
    from .source import SourceError, encode_text

    codes = known_codes()
    paths = list(opts.paths)
    # As in ruff: `--stdin-filename` without paths means "read stdin".
    use_stdin = paths == ["-"] or (not paths and opts.stdin_filename is not None)
    stdin_output: Optional[bytes] = None
    try:
        overrides = Overrides(
            select=tuple(validate_selectors(_split(opts.select), codes, "--select")) if opts.select else None,
            extend_select=tuple(validate_selectors(_split(opts.extend_select), codes, "--extend-select")),
            ignore=tuple(validate_selectors(_split(opts.ignore), codes, "--ignore", ignoring=True)),
            target_keras=opts.target_keras,
            exclude=_split(opts.exclude) if opts.exclude else None,
            extend_exclude=_split(opts.extend_exclude),
        )
        resolver = SettingsResolver(overrides, codes, opts.config_path)
        forget_project_index()  # what another run read of the project may have changed since
        if "-" in paths and not use_stdin:
            raise ConfigError("`-` (stdin) cannot be mixed with other paths")
        if opts.add_noqa and use_stdin:
            raise ConfigError("`--add-noqa` writes files; it cannot be used with stdin")
        if opts.add_noqa and opts.unsafe_fixes:
            raise ConfigError("`--add-noqa` fixes nothing; it cannot be used with `--unsafe-fixes`")
        if opts.add_noqa and fix:
            raise ConfigError("`--add-noqa` cannot be combined with `--fix` or `--diff`: fix first, then add `noqa`")
        paths = paths or ["."]
        stdin_name = opts.stdin_filename or "-"
        # Settings for stdin come from the directory of the name it stands for (cwd for plain `-`).
        stdin_settings_path = stdin_name if opts.stdin_filename else os.path.join(os.getcwd(), "stdin.py")
        if opts.show_settings:
            first = stdin_settings_path if use_stdin else paths[0]
            settings = resolver.for_directory(first) if os.path.isdir(first) else resolver.for_file(first)
            _print_settings(settings)
            return EXIT_CLEAN
        status = EXIT_CLEAN
        results: List[FileResult] = []
        if use_stdin:
            stdin_settings = resolver.for_file(stdin_settings_path)
            job = Job(stdin_name, stdin_settings, fix=fix,
                      unsafe=opts.unsafe_fixes, write=False,
                      summary_cache=None if opts.no_cache else _summary_cache(stdin_settings.root))
            if not (opts.quiet or opts.silent):
                _note_legacy([job.settings])
            raw = sys.stdin.buffer.read()
            result, source = process_stdin(job, raw)
            results.append(result)
            if fix and not diff:
                # The fixed code owns stdout; input metriclint cannot read goes back unchanged.
                stdin_output = raw
                if source is not None and result.new_text is not None:
                    try:
                        stdin_output = encode_text(source, result.new_text)
                    except SourceError as exc:
                        result.write_error = str(exc)
                        result.fixed = {}
        else:
            found = discover(paths, resolver, force_exclude=opts.force_exclude)
            for missing in found.missing:
                _error(f"{missing}: {_missing_reason(missing)}")
                status = EXIT_ERROR
            for path, reason in found.problems:
                results.append(FileResult(path=path, diagnostics=[io_error(path, reason)]))
            if not found.files and not found.problems and not found.missing and not (opts.quiet or opts.silent):
                if not (opts.force_exclude and opts.paths):  # pre-commit with only excluded files: nothing to say
                    click.echo("metriclint: warning: no Python files found under the given paths", err=True)
            cache_root = resolver.for_directory(
                paths[0] if os.path.isdir(paths[0]) else os.path.dirname(os.path.abspath(paths[0]))).root
            summary_cache = None if opts.no_cache else _summary_cache(cache_root)
            jobs = [
                Job(path, resolver.for_file(path), fix=fix, unsafe=opts.unsafe_fixes, write=not diff, add_noqa=opts.add_noqa,
                    cached=not opts.no_cache, summary_cache=summary_cache)
                for path in found.files
            ]
            if not (opts.quiet or opts.silent):
                _note_legacy(job.settings for job in jobs)
            cache = None
            if not opts.no_cache and jobs:
                from .cache import ResultCache

                cache = ResultCache(cache_root)
            with _progress(len(jobs), bool(opts.quiet or opts.silent)) as advance:
                results.extend(run_jobs(jobs, opts.jobs, cache=cache, progress=advance))
            results.sort(key=lambda r: _path_key(r.path))  # as ruff: by path, whatever the walk order
    except ConfigError as exc:
        _error(str(exc))
        return EXIT_ERROR

    if stdin_output is not None:
        sys.stdout.flush()
        sys.stdout.buffer.write(stdin_output)
        sys.stdout.buffer.flush()

    talk = not (opts.quiet or opts.silent)  # notes, warnings, summaries: not with -q/-s
    for result in results:
        if result.internal_error:
            status = EXIT_ERROR
        if result.write_error:
            _error(f"{result.path}: not written: {result.write_error}")
            status = max(status, EXIT_FINDINGS)
        for message in result.rejected:
            _error(f"{result.path}: {message}")
        if talk:
            for note in result.notes:
                click.echo(f"metriclint: {result.path}: {note}", err=True)

    if diff:
        changed = _print_diff(results)
        fixes = sum(r.fixed_count for r in results)
        if talk:
            if changed:
                click.echo(f"Would fix {fixes} error{'s' if fixes != 1 else ''} in {changed} file{'s' if changed != 1 else ''}.", err=True)
            else:
                click.echo("No errors would be fixed.", err=True)
        # As ruff: with --diff the exit code says whether anything would change.
        if changed and not opts.exit_zero:
            status = max(status, EXIT_FINDINGS)
        return status
    remaining = sum(len(r.diagnostics) for r in results)
    if opts.add_noqa and talk:
        added = sum(r.noqa_added for r in results)
        click.echo(f"Added {plural(added, 'noqa directive')}.", err=True)
    # With `fix -` the fixed code owns stdout; the report goes to stderr (or the output file).
    to_stderr = fix and use_stdin and not opts.output_file
    stream = sys.stderr if to_stderr else sys.stdout
    report = Report(results=results, fix_mode=fix, unsafe_fixes=opts.unsafe_fixes,
                    color=use_color(opts.color, stream if not opts.output_file else _NoTerminal()),
                    stdin=use_stdin)
    if not opts.silent:
        text = _report_text(opts, report, errors=status == EXIT_ERROR,
                            quiet_noqa=opts.add_noqa and not remaining)
        try:
            _write_report(text, opts.output_file, stream)
        except OSError as exc:
            _error(f"cannot write the report to {opts.output_file}: {exc.strerror or exc}")
            return EXIT_ERROR
    if remaining and not opts.exit_zero:
        status = max(status, EXIT_FINDINGS)
    if fix and opts.exit_non_zero_on_fix and not opts.exit_zero and any(r.fixed_count for r in results):
        status = max(status, EXIT_FINDINGS)  # as ruff (where --exit-zero wins too)
    return status


class _NoTerminal:
    """Where a report written to a file goes, as far as colour is concerned."""

    def isatty(self) -> bool:
        return False


def _report_text(opts: _RunOptions, report, errors: bool, quiet_noqa: bool) -> str:
    """Everything the report says: the diagnostics (or statistics), then for the text formats the
    summary (not with `--quiet`, and never "All checks passed!" after an error) and the
    `--show-fixes` listing."""
    from .report import TEXT_FORMATS, render
    from .report.text import show_fixes, statistics, statistics_rows, summary

    fmt = ALIASES.get(opts.format, opts.format)
    human = fmt in TEXT_FORMATS
    if quiet_noqa and human and not opts.statistics:
        return ""  # `--add-noqa` left nothing: as ruff, nothing to say on stdout
    parts: List[str] = []
    if opts.statistics:
        if fmt in ("json", "json-lines"):
            rows = statistics_rows(report)
            parts.append(json.dumps(rows, indent=2) + "\n" if fmt == "json"
                         else "".join(json.dumps(row) + "\n" for row in rows))
        else:
            listing = statistics(report)
            parts.append(listing + "\n" if listing else "")
    else:
        parts.append(render(fmt, report))
        if human and not opts.quiet:
            closing = summary(report, errors=errors)
            parts.append(closing + "\n" if closing else "")
    if opts.show_fixes and not opts.quiet:
        listing = show_fixes(report)
        if listing:
            if human and not opts.statistics:
                parts.append(listing + "\n")
            else:
                sys.stderr.write(listing + "\n")  # keep the machine-readable report parseable
    return "".join(parts)


def _write_report(text: str, output_file: Optional[str], stream) -> None:
    if output_file is None:
        stream.write(text)
        stream.flush()
        return
    directory = os.path.dirname(os.path.abspath(output_file))
    os.makedirs(directory, exist_ok=True)
    with open(output_file, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _missing_reason(path: str) -> str:
    try:
        os.stat(path)
    except OSError as exc:
        return (exc.strerror or "no such file or directory").lower()
    return "no such file or directory"  # pragma: no cover - it appeared meanwhile


def _path_key(path: str):
    return tuple(path.replace(os.sep, "/").split("/"))


class _progress:
    """A progress bar on stderr for long runs in a terminal (see progress.py); nothing otherwise."""

    def __init__(self, total: int, quiet: bool) -> None:
        from .progress import ProgressBar, wanted

        self.bar = ProgressBar(total, sys.stderr) if wanted(total, sys.stderr, quiet) else None

    def __enter__(self):
        return self.bar.__enter__() if self.bar is not None else None

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _print_diff(results) -> int:
    import difflib

    changed = 0
    for result in results:
        if result.new_text is None or result.original_text is None:
            continue
        changed += 1
        # notebooks: one diff per changed cell; files: one diff
        parts = result.diff_parts or [("", result.original_text, result.new_text)]
        for label, old, new in parts:
            where = f"{result.path}:{label}" if label else result.path
            lines = difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True),
                fromfile=f"a/{where}", tofile=f"b/{where}",
            )
            for line in lines:
                sys.stdout.write(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
    return changed


def _summary_cache(root: str) -> str:
    """Where the project index keeps module summaries: beside the results, in the cache directory."""
    from . import __version__
    from .cache import CACHE_DIR

    return os.path.join(os.path.abspath(root), CACHE_DIR, f"v{__version__}")


def _note_legacy(all_settings) -> None:
    """Say once, before the findings, when a project pins Keras before 2.3: the findings are judged
    as a migration to Keras 3 and no fix is offered."""
    for declared in sorted({s.legacy_keras for s in all_settings if s.legacy_keras is not None}):
        click.echo(f"metriclint: note: {declared}, a Keras before 2.3 (other log keys, no `add_metric`, "
                   "Keras 1 keywords): its code is judged as a migration to Keras 3, and no fixes are offered "
                   "because they would fail on that version", err=True)


def _print_settings(settings) -> None:
    from .rules import all_rules

    def listing(values) -> str:
        return ", ".join(values) if values else "(none)"

    enabled = sorted(settings.enabled_codes(all_rules()))
    click.echo(f"config file:    {settings.config_path or '(none: defaults)'}")
    click.echo(f"project root:   {settings.root}")
    click.echo(f"target keras:   {settings.flavour} ({settings.target_source})")
    if settings.legacy_keras is not None:
        click.echo(f"legacy keras:   {settings.legacy_keras}; no fixes are offered")
    click.echo(f"select:         {listing(settings.select)}")
    click.echo(f"extend-select:  {listing(settings.extend_select)}")
    click.echo(f"ignore:         {listing(settings.ignore)}")
    for select, extend, ignore in settings.selections:
        parts = ([f"--select {','.join(select)}"] if select is not None else []) + (
            [f"--extend-select {','.join(extend)}"] if extend else []) + ([f"--ignore {','.join(ignore)}"] if ignore else [])
        click.echo(f"command line:   {' '.join(parts)}")
    click.echo(f"enabled rules:  {listing(enabled)}")
    click.echo(f"exclude:        {listing(settings.exclude + settings.extend_exclude)}")
    for pattern, codes in settings.per_file_ignores:
        click.echo(f"per-file-ignores: {pattern} = {', '.join(codes)}")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(file_okay=False))
def clean(paths: Tuple[str, ...]) -> None:
    """Remove the result cache (.metriclint_cache) in PATHS (default: the current directory)."""
    from .cache import clean as remove

    for path in paths or (".",):
        if remove(path):
            click.echo(f"Removed {os.path.join(path, '.metriclint_cache')}")
        else:
            click.echo(f"No cache in {path}")


@main.command()
def server() -> None:
    """Run the language server (LSP over stdio) for editors; needs `pip install 'metriclint[server]'`."""
    from .server import main as serve

    sys.exit(serve())


@main.command()
@click.argument("code")
def rule(code: str) -> None:
    """Explain one rule: what it finds, why it matters, the fix."""
    from .docs import read_page
    from .rules import known_codes

    page = read_page(code)
    if page is None:
        if code.upper() in known_codes():
            _error(f"no documentation page shipped for {code.upper()}")
        else:
            _error(f"unknown rule code `{code}` (see `metriclint rules`)")
        sys.exit(EXIT_ERROR)
    click.echo(page.rstrip("\n"))


@main.command()
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules(output_format: str) -> None:
    """List every rule with its code, name, fix availability and flavours."""
    from . import DOCS_URL
    from .rules import TOOL_CODES, all_rules

    rows = []
    for code, item in all_rules().items():
        rows.append(
            {
                "code": code,
                "name": item.name,
                "summary": item.summary,
                "fix": item.fix_safety.value if item.fix_safety else "none",
                "flavours": sorted(item.flavours),
                "url": DOCS_URL.format(code=code),
            }
        )
    for code, text in TOOL_CODES.items():
        name, _, description = text.partition(": ")
        rows.append({"code": code, "name": name, "summary": description, "fix": "none", "flavours": ["2", "3"],
                     "url": DOCS_URL.format(code=code)})
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        flavours = "K2+K3" if row["flavours"] == ["2", "3"] else "K" + "+K".join(row["flavours"])
        click.echo(f"{row['code']}  {row['name']:<28} {flavours:<6} fix: {row['fix']:<6}  {row['summary']}")
