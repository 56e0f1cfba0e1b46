"""The `ecm-xl` command: close clinic timesheet workbooks with no Excel.

Exit status: 0 done; 2 a bad input file or bad usage (one line on stderr, no
output file); 1 a batch finished but some files failed (or its export could
not be written); 3 an unexpected error (rerun with --debug for the traceback).

Every command is a thin wrapper over `ecm_xl.api`; output names files,
sheets, rows and counts only, never a member's name.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys

import click

from . import api
from .profile import ProfileError
from .xlsx import WorkbookError
from .xlsx.package import output_error

EXIT_SOME_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_UNEXPECTED = 3

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _bad_input_errors():
    errors = [WorkbookError, ProfileError, ValueError, OSError]
    try:
        from .exports import ExportError
        from .exports.record import RecordError
        errors += [ExportError, RecordError]
    except ImportError:  # pragma: no cover - the exports package ships with ecm_xl
        pass
    return tuple(errors)


@contextlib.contextmanager
def _errors(ctx: click.Context):
    """Bad input -> one line on stderr and exit 2; anything unexpected -> one line and exit 3."""
    try:
        yield
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except _bad_input_errors() as exc:
        click.echo(f"ecm-xl: {_one_line(exc)}", err=True)
        ctx.exit(EXIT_BAD_INPUT)
    except Exception as exc:
        if (ctx.find_root().obj or {}).get("debug"):
            raise
        click.echo(f"ecm-xl: unexpected {type(exc).__name__}; rerun with `ecm-xl --debug ...` "
                   "for the traceback", err=True)
        ctx.exit(EXIT_UNEXPECTED)


QUIET = "ecm_xl.quiet"


def _set_quiet(ctx, param, value):
    if value:
        ctx.meta[QUIET] = True


def _quiet_option() -> click.Option:
    return click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, is_eager=True, callback=_set_quiet,
                        help="No progress on stderr (it shows only on a terminal anyway).")


def _terminal() -> bool:
    return sys.stderr.isatty()


@contextlib.contextmanager
def _progress(ctx, label: str):
    """The API's `progress` callback for a person at a terminal: one line on stderr, redrawn
    as work goes on ("Closing [############------------] 2/3 writing October.closed.xlsx"),
    cleared when done. None, and so silence, when stderr is not a terminal or with --quiet."""
    if ctx.meta.get(QUIET) or not _terminal():
        yield None
        return
    drawn = False

    def show(done, total, what=""):
        nonlocal drawn
        width = 24
        filled = width * min(done, total) // max(total, 1)
        click.echo(f"\r\033[K{label} [{'#' * filled}{'-' * (width - filled)}] {done:,}/{total:,} {what}".rstrip(),
                   err=True, nl=False, color=True)
        drawn = True
    try:
        yield show
    finally:
        if drawn:
            click.echo("\r\033[K", err=True, nl=False, color=True)   # the result (or the error) prints on a clean line


@contextlib.contextmanager
def _names_output(path):
    """A failed write names `path` and what to do, not the temporary file made beside it."""
    try:
        yield
    except OSError as exc:
        raise output_error(os.fspath(path), exc, replacing=os.path.exists(path)) from None


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or 'cannot be read or written'}"
    return " ".join(str(exc).split()) or type(exc).__name__


def _month(ctx, param, value):
    if value is None:
        return None
    try:
        return api.parse_month(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a month (type 2026-10)") from None


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (type 2026-11-30)") from None


force_option = click.option("--force", is_flag=True,
                            help="Replace an existing output file even if it is not this command's earlier output.")
profile_option = click.option("--profile", metavar="NAME|FILE.toml",
                              help="Plan profile: a shipped id or a .toml file (default: the shipped CHPIV / Health Net one).")


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="ecm-xl", prog_name="ecm-xl")
@click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks of unexpected errors.")
@click.pass_context
def main(ctx, debug):
    """Turn clinic ECM timesheet workbooks into claims, with no Excel needed.

    \b
    Start here:
      ecm-xl demo                         build a sample month, close it, print the result
      ecm-xl new October.xlsx --month 2026-10 --staff staff.csv --members members.csv
      ecm-xl fill October.xlsx --entries timesheet_export.csv
      ecm-xl close October.xlsx           -> October.closed.xlsx
      ecm-xl batch inbox/ -o out/         close a folder of clinic workbooks
      ecm-xl merge A.xlsx B.xlsx -o October.xlsx   one workbook from a month kept in several
      ecm-xl remit October.closed.xlsx --era remit.835    post the plan's payment
      ecm-xl status October.closed.xlsx   what is left to do per claim
    """
    ctx.obj = {"debug": debug}


# ---------------------------------------------------------------------------
@main.command(context_settings=CONTEXT)
@click.argument("out", metavar="OUT.xlsx", type=click.Path(dir_okay=False))
@click.option("--month", callback=_month, metavar="YYYY-MM", help="Billing month to put on Setup, e.g. 2026-10.")
@click.option("--staff", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Staff roster, CSV or xlsx: Staff ID, Staff Name, Staff Type, NPI.")
@click.option("--members", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Members, CSV or xlsx: Member ID, names, dates, Eligible From/Through, ... (one row per eligibility span).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="A Setup value by name or label, e.g. --set BillingNPI=1234567893. Repeatable.")
@click.option("--force", is_flag=True, help="Replace OUT.xlsx if it exists.")
@profile_option
@click.pass_context
def new(ctx, out, month, staff, members, sets, force, profile):
    """Make a new month's workbook: Setup and rosters filled.

    Columns of the roster files are matched by header, ignoring case and
    spacing, and through the vocabulary (DOB, CIN, Enrollment Date, Elig End,
    Dx, Zip Code, ...); columns that match nothing are listed.

    \b
    Example:
      ecm-xl new October.xlsx --month 2026-10 --staff staff.csv --members members.csv \\
          --set "Provider name=Sample Clinic" --set BillingNPI=1234567893
    """
    settings = {}
    for item in sets:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        try:
            settings[api.setting_name(key.strip())] = value
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--set") from None
    with _errors(ctx):
        r = api.new_workbook(out, month=month, staff=staff, members=members, settings=settings,
                             profile=profile, overwrite=force)
        click.echo(f"Wrote {r.path}: {r.staff:,} staff rows, {r.members:,} member rows, "
                   f"{len(r.settings)} Setup values.")
        if r.ignored_text():
            click.echo(r.ignored_text())


# ---------------------------------------------------------------------------
@main.command(context_settings=CONTEXT)
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False))
@click.option("--entries", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Time entries to add: a CSV, or an xlsx export (first sheet, or --sheet).")
@click.option("--refresh-codes", is_flag=True,
              help="Instead of adding entries: update code cells filled for a staff member's earlier Staff Type.")
@click.option("--sheet", metavar="NAME", help="The sheet of an xlsx entries file to read.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), metavar="OUT.xlsx",
              help="Write the filled workbook here instead of updating WORKBOOK.")
@force_option
@profile_option
@click.pass_context
def fill(ctx, workbook, entries, refresh_codes, sheet, out, force, profile):
    """Add time entries to the Timesheet table.

    Columns are matched by header, ignoring case and spacing, and through the
    vocabulary (Visit Date, Employee ID, CIN, Duration, ...); Date, Staff ID,
    Member ID, Service, Contact and Minutes (or Start and End) are required.
    Values in clerks' words are read too: Phone, Video, Mass mailing; 1 hr,
    1h 30m, 0:45 in a duration cell; Nov 13, 2026. Blank HCPCS and modifier
    cells are filled from the code table (R5). Every
    row is added: the close decides what bills. WORKBOOK is updated in place
    (safely, all or nothing) unless -o is given; -o replaces only an earlier
    fill of the same workbook (or any file with --force).

    After a Staff Type is corrected on the Staff sheet, --refresh-codes
    updates the code cells filled for the old type (the close names them,
    R6); codes typed to anything else are left for the close to check.

    \b
    Example:
      ecm-xl fill October.xlsx --entries timesheet_export.csv
      ecm-xl fill October.xlsx --refresh-codes
    """
    if bool(entries) == bool(refresh_codes):
        raise click.UsageError("give --entries FILE to add time entries, or --refresh-codes (not both)")
    with _errors(ctx):
        with _progress(ctx, "Filling") as progress:
            r = api.fill_workbook(workbook, entries, out, profile=profile, sheet=sheet, force=force,
                                  progress=progress, refresh_codes=refresh_codes)
        click.echo(r.text())


# ---------------------------------------------------------------------------
@main.command(context_settings=CONTEXT)
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--out", type=click.Path(dir_okay=False), metavar="OUT.xlsx",
              help="Where to write the closed copy (default: <name>.closed.xlsx beside WORKBOOK).")
@click.option("--in-place", is_flag=True, help="Write the results into WORKBOOK itself.")
@click.option("--month", callback=_month, metavar="YYYY-MM", help="Bill this month instead of Setup's billing month.")
@click.option("--close-date", callback=_date, metavar="YYYY-MM-DD",
              help="Date the close as this day for the filing-limit check (R13); default today.")
@force_option
@profile_option
@click.pass_context
def close(ctx, workbook, out, in_place, month, close_date, force, profile):
    """Close the month: Summary, Claim and Exceptions.

    The results go into a copy, <name>.closed.xlsx beside the workbook; the
    workbook itself is never changed unless --in-place is given. Closing a
    closed copy again replaces the three tables and gives the same result.
    An existing output is replaced only when it is this workbook's closed copy
    (or with --force).

    \b
    Example:
      ecm-xl close October.xlsx            # -> October.closed.xlsx
      ecm-xl close October.closed.xlsx --in-place
    """
    with _errors(ctx):
        with _progress(ctx, "Closing") as progress:
            r = api.close_workbook(workbook, out, month=month, in_place=in_place, profile=profile,
                                   close_date=close_date, force=force, progress=progress)
        click.echo(r.text())


# ---------------------------------------------------------------------------
@main.command(context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True, metavar="DIR_OR_GLOB...")
@click.option("-o", "--out-dir", required=True, type=click.Path(file_okay=False), metavar="OUT_DIR",
              help="Folder for the closed copies, batch_report.csv and claims.csv.")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Processes to close workbooks in (default: one per CPU).")
@click.option("--format", "fmt", type=click.Choice(["x12", "csv"]),
              help="Also write one combined export: x12 -> OUT_DIR/claims.837 (csv: claims.csv is it).")
@click.option("--control-number", type=click.IntRange(min=1, max=999999999), metavar="N",
              help="Interchange control number of the 837P (with --format x12); default the submitter's next.")
@click.option("--created", metavar="YYYY-MM-DD[THH:MM]", help="Date (and time) the 837P is made; default now.")
@click.option("--ledger", type=click.Path(dir_okay=False), metavar="FILE",
              help="The submitter's control number counter (see `ecm-xl export --help`).")
@click.option("--month", callback=_month, metavar="YYYY-MM", help="Bill this month in every workbook.")
@click.option("--close-date", callback=_date, metavar="YYYY-MM-DD", help="Date the closes (R13); default today.")
@force_option
@profile_option
@click.pass_context
def batch(ctx, inputs, out_dir, workers, fmt, control_number, created, ledger, month, close_date, force, profile):
    """Close every workbook in a folder or glob.

    One bad workbook never stops the others: each file gets a row in
    OUT_DIR/batch_report.csv (status ok / bad file / failed, with the reason),
    and OUT_DIR/claims.csv holds every claim line with its source file. With
    --format x12, OUT_DIR/claims.837 holds the claims each closed copy's
    Submissions record says are due (originals, replacements, voids), recorded
    in that copy; a workbook that can't go is reported as not ready / held /
    not sent, and the others still go. Exits 1 when some file failed.

    Workbooks with the same billing NPI, billing month and health plan (one
    per care team, site or staff member) are billed as ONE month: each
    member's time summed across them before rounding, one claim per member.
    Each closed copy shows the whole month's claims and its own rows'
    Exceptions; rosters that disagree are named with both files.

    \b
    Example:
      ecm-xl batch inbox/ -o out/ --workers 4
      ecm-xl batch "inbox/*October*.xlsx" -o out/ --format x12
    """
    with _errors(ctx):
        with _progress(ctx, "Closing workbooks") as progress:
            r = api.batch_close(list(inputs), out_dir, workers=workers, fmt=fmt, progress=progress, month=month,
                                profile=profile, close_date=close_date, control_number=control_number,
                                created=created, ledger=ledger, force=force)
        click.echo(r.text())
        if not r.ok:
            ctx.exit(EXIT_SOME_FAILED)


# ---------------------------------------------------------------------------
@main.command(context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True, metavar="WORKBOOK...", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), metavar="OUT.xlsx",
              help="The merged workbook to write.")
@force_option
@profile_option
@click.pass_context
def merge(ctx, inputs, out, force, profile):
    """Merge several workbooks of one clinic-month into one workbook.

    For a clinic whose care teams, sites or staff each keep a workbook for the
    same month. Every workbook must name the same billing NPI, billing month and
    health plan on Setup and agree on its other settings, staff, members, rates
    and activities; otherwise nothing is written and the message names each
    disagreement and the files. The first workbook is the base: the others' rows
    are added after its own, new staff and members are added, and its Summary,
    Claim and Exceptions are emptied (close the merged workbook next). Every
    timesheet row and minute of the inputs is in the merged workbook (R14); the
    inputs are never changed.

    \b
    Example:
      ecm-xl merge "Team A.xlsx" "Team B.xlsx" -o October.xlsx
      ecm-xl close October.xlsx
    """
    with _errors(ctx):
        with _progress(ctx, "Merging") as progress:
            r = api.merge_workbooks(list(inputs), out, profile=profile, force=force, progress=progress)
        click.echo(r.text())


# ---------------------------------------------------------------------------
@main.command(context_settings=CONTEXT)
@click.argument("dir", default="ecm-xl-demo", type=click.Path(file_okay=False), metavar="[DIR]")
@click.option("--seed", type=int, help="Make a different sample month (default: the same one every time).")
@click.option("--close-date", callback=_date, metavar="YYYY-MM-DD",
              help="Date the close as this day (default 2026-11-30, so the result never changes).")
@force_option
@click.pass_context
def demo(ctx, dir, seed, close_date, force):
    """Build, fill and close a realistic sample month.

    About 40 members, six staff of both types and several hundred time entries
    that touch every billing rule: outreach before and after enrollment, an
    ineligible member, a mass text, admin time, a duplicate, an overlap, a
    hand-typed wrong code. All names are fake. Files go to DIR (default
    ./ecm-xl-demo).

    \b
    Example:
      ecm-xl demo
      ecm-xl demo /tmp/ecm-demo
    """
    with _errors(ctx):
        r = api.demo(dir, seed=seed, close_date=close_date, force=force)
        click.echo(r.text())


# ---------------------------------------------------------------------------
@main.command(context_settings=CONTEXT)
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", required=True, type=click.Choice(["x12", "csv", "xlsx"]),
              help="x12 (837P); csv (for a billing system to import); xlsx (for people: IDs keep their zeros).")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), metavar="FILE", help="File to write.")
@click.option("--invoice", is_flag=True,
              help="csv only: the CSV is sent to the plan as an invoice, so it follows and adds to the record "
                   "like an 837P (two more columns: Frequency, Payer Claim Number).")
@click.option("--resend", is_flag=True, help="Send again the claims sent before and unchanged since.")
@click.option("--payer-claim", "payer_claims", multiple=True, metavar="CLAIMID=NUMBER",
              help="The payer's claim number for a replacement or void (REF*F8), when no posted 835 gives it. "
                   "Repeatable.")
@click.option("--created", metavar="YYYY-MM-DD[THH:MM]",
              help="Date (and time) the 837P is made, for a reproducible file; default now.")
@click.option("--control-number", type=click.IntRange(min=1, max=999999999), metavar="N",
              help="Interchange control number of the 837P; default the submitter's next one. "
                   "A number used before is refused.")
@click.option("--ledger", type=click.Path(dir_okay=False), metavar="FILE",
              help="The submitter's control number counter (default $ECM_XL_LEDGER, else a file in your "
                   "user data folder; see docs/exports.md).")
@click.option("--close-date", callback=_date, metavar="YYYY-MM-DD", help="Date the re-check (R13); default today.")
@force_option
@profile_option
@click.pass_context
def export(ctx, workbook, fmt, out, invoice, resend, payer_claims, created, control_number, ledger, close_date,
           force, profile):
    """Export claim lines as an 837P file or CSV.

    The workbook must be closed, and its Claim sheet must still match its
    timesheet (close it again after any change). An 837P (and a CSV with
    --invoice) follows the workbook's Submissions record and adds to it, in
    WORKBOOK itself: a claim never sent goes as an original, one changed since
    it was sent as a replacement, one no longer billed as a void, and one
    sent and unchanged not again (unless --resend). A replacement or void
    needs the payer's claim number (from the posted 835, or --payer-claim);
    without it the claim is held back. Exits 1 when a claim was held back.

    \b
    Example:
      ecm-xl export October.closed.xlsx --format x12 -o october.837
      ecm-xl export October.closed.xlsx --format x12 -o october-2.837 --payer-claim E2610ABC=HN123456
      ecm-xl export October.closed.xlsx --format csv -o october_claims.csv
      ecm-xl export October.closed.xlsx --format xlsx -o october_claims.xlsx
    """
    if invoice and fmt != "csv":
        raise click.BadParameter("--invoice is for --format csv (an 837P is always recorded)", param_hint="--invoice")
    plain = fmt in ("csv", "xlsx") and not invoice
    if plain and (resend or payer_claims or created or control_number or ledger):
        raise click.BadParameter("--resend, --payer-claim, --created, --control-number and --ledger are for "
                                 "an 837P or a CSV --invoice", param_hint=f"--format {fmt}")
    with _errors(ctx):
        with _progress(ctx, "Exporting") as progress:
            r = api.export_workbook(workbook, fmt, out, control_number=control_number, profile=profile,
                                    close_date=close_date, created=created, resend=resend,
                                    payer_claims=list(payer_claims), ledger=ledger, invoice=invoice,
                                    force=force, progress=progress)
        if plain:
            click.echo(f"Exported {r.claims:,} claims, {r.lines:,} claim lines, {r.units:,} units, "
                       f"${r.charge:,.2f} -> {r.path}")
            return
        click.echo(r.text())
        if r.held:
            ctx.exit(EXIT_SOME_FAILED)


# ---------------------------------------------------------------------------
@main.command(context_settings=CONTEXT)
@click.argument("workbooks", nargs=-1, required=True, metavar="WORKBOOK...",
                type=click.Path(exists=True, dir_okay=False))
@click.option("--era", required=True, type=click.Path(exists=True, dir_okay=False), metavar="FILE.835",
              help="The plan's X12 835 remittance (005010X221A1).")
@click.option("-o", "--out", type=click.Path(dir_okay=False), metavar="OUT.xlsx",
              help="Write the posted workbook here instead of updating WORKBOOK (one workbook only).")
@click.option("--as-of", callback=_date, metavar="YYYY-MM-DD",
              help="Count days on the Status sheet from this day (default today).")
@force_option
@profile_option
@click.pass_context
def remit(ctx, workbooks, era, out, as_of, force, profile):
    """Post the plan's 835 remittance: what was paid, denied and why.

    Claims are matched by Claim ID across every WORKBOOK given, lines by code,
    modifiers and units. Each workbook whose claims the 835 names gets a
    Remittance sheet (status, amounts, the payer's claim number and every
    adjustment with its meaning) and a fresh Status sheet; it is updated in
    place (safely, all or nothing) unless -o is given. Claims in the 835 that
    no workbook has are listed as "not ours". Posting the same 835 again
    replaces its rows.

    \b
    Example:
      ecm-xl remit October.closed.xlsx --era remit_20261205.835
      ecm-xl remit Team_A.closed.xlsx Team_B.closed.xlsx --era remit_20261205.835
    """
    with _errors(ctx):
        r = api.post_remittance(list(workbooks), era, out, as_of=as_of, profile=profile, force=force)
        click.echo(r.text())


# ---------------------------------------------------------------------------
@main.command(context_settings=CONTEXT)
@click.argument("workbooks", nargs=-1, required=True, metavar="WORKBOOK...",
                type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--out", type=click.Path(dir_okay=False), metavar="OUT.xlsx",
              help="Write the Status sheet into this copy instead of WORKBOOK (one workbook only).")
@click.option("--as-of", callback=_date, metavar="YYYY-MM-DD", help="Count days from this day (default today).")
@click.option("--no-write", is_flag=True, help="Only print; leave the workbooks as they are.")
@force_option
@profile_option
@click.pass_context
def status(ctx, workbooks, out, as_of, no_write, force, profile):
    """What is left to do for each claim: sent, paid, denied or waiting, and the next step.

    Per claim: days since it was sent, days left before the plan's filing
    limit (R13: counted from the last day of the month of service), and the
    next step: send, wait, resend, fix and replace (with the Timesheet or
    Members rows to fix), appeal, or none. The Status sheet of each workbook
    is rewritten (in place unless -o or --no-write).

    \b
    Example:
      ecm-xl status October.closed.xlsx
      ecm-xl status *.closed.xlsx --no-write --as-of 2026-12-15
    """
    with _errors(ctx):
        r = api.claim_status(list(workbooks), out, as_of=as_of, write=not no_write, profile=profile, force=force)
        click.echo(r.text())


# ---------------------------------------------------------------------------
@main.command(context_settings=CONTEXT)
@click.argument("out", metavar="OUT.xlsx", type=click.Path(dir_okay=False))
@force_option
@profile_option
@click.pass_context
def template(ctx, out, force, profile):
    """Write the blank workbook template to OUT.xlsx.

    An existing file is replaced only when it is the same blank template (or with --force).

    \b
    Example:
      ecm-xl template ECM_Timesheet.xlsx
      ecm-xl template Other_Plan.xlsx --profile other-plan.toml
    """
    with _errors(ctx):
        from .profile import load_profile
        prof = load_profile(profile)
        with _names_output(out):
            path = api.template_workbook(out, profile=prof, force=force)
        click.echo(f"Wrote {path} ({prof.id} {prof.version})")


# ---------------------------------------------------------------------------
@main.command(context_settings=CONTEXT)
@click.argument("folder", metavar="[DIR]", required=False, default=".", type=click.Path(file_okay=False))
@click.option("--xlsm", is_flag=True,
              help="Write a macro-enabled .xlsm (Windows needs it to Import Functions =ECM_CODE / =ECM_UNITS).")
@click.option("--lite", is_flag=True,
              help="For xlwings Lite instead: write ECM_Timesheet.xlsx, main.py and requirements.txt to paste into Lite.")
@force_option
@profile_option
@click.pass_context
def init(ctx, folder, xlsm, lite, force, profile):
    """Write ECM_Timesheet.xlsx and ECM_Timesheet.py into DIR for the desktop xlwings add-in.

    Then open the workbook in Excel, fill it in, and click xlwings > Run main:
    the month closes inside the workbook. Nothing is overwritten (unless --force). See docs/excel.md.

    With --lite, write the workbook plus main.py and requirements.txt for
    xlwings Lite (no Python on the PC): paste each file into the Lite editor's
    tab of the same name, then run "Monthly close" from the Lite pane.

    \b
    Examples:
      ecm-xl init C:\\Clinic --xlsm
      ecm-xl init C:\\Clinic --lite
    """
    with _errors(ctx):
        if lite:
            if xlsm:
                raise click.UsageError("--lite writes an .xlsx (Lite needs no macros): leave out --xlsm")
            from .lite_bundle import write_lite_files
            book, main_py, reqs = write_lite_files(folder, profile=profile, force=force)
            click.echo(f"Wrote {book}\nWrote {main_py}\nWrote {reqs}\n"
                       f"Open {book.name} in Excel, open the xlwings Lite pane, paste {main_py.name} into its "
                       f"main.py tab and {reqs.name} into its requirements.txt tab, then run Monthly close.")
            return
        from .excel_init import init_project
        with _names_output(os.path.join(folder, "ECM_Timesheet.xlsm" if xlsm else "ECM_Timesheet.xlsx")):
            book, script = init_project(folder, profile=profile, macro_enabled=xlsm, force=force)
        click.echo(f"Wrote {book}\nWrote {script}\n"
                   f"Open {book.name} in Excel, fill it in, and click xlwings > Run main.")


# --quiet on the group and on every command (those added later too).
main.params.append(_quiet_option())
for _command in main.commands.values():
    _command.params.append(_quiet_option())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
