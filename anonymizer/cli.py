"""Command-line interface: the engine's full power for a person with a folder of files.

python -m anonymizer deidentify INPUT_DIR OUTPUT_DIR --report REPORT.json
python -m anonymizer describe [--pass first|second] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import secrets
import sys
import tempfile
import textwrap
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anonymizer.keys import Keys
from anonymizer.pipeline import FirstPassResult, Status, first_pass, second_pass
from anonymizer.pixels import Edits, edits_from_json
from anonymizer.profile import FIRST_PASS, SECOND_PASS
from anonymizer.profile.allowlist import SECOND_PASS_ALLOWLIST_KEYWORDS
from anonymizer.verify import Fingerprint

SECRET_ENV = "TEACHINGFILE_DEID_SECRET"

DEIDENTIFY_HELP = textwrap.dedent(
    """\
    De-identify every file under INPUT_DIR (recursively) into OUTPUT_DIR.

    Each output file is named after its new SOP Instance UID, never after the input
    (whose name may carry identifiers). The JSON report has one entry per input file:
    input, output (or null), status (clean / needs-review / quarantined / published),
    reasons, fingerprint (first pass: keyed hashes of the original file's identifying
    values and UIDs, never the values; --first-report reads it back), and
    proposed_regions for images that may carry burned-in text:
    {"frame": N or null for every frame, "x", "y", "width", "height", "text",
    "confidence"} in pixel coordinates of that image, and removed_text: the free-text
    attributes (Series Description...) removed because they looked like they held a
    name, an ID-like code, a date, a phone number... (nobody reviews them here; the
    reasons say which kind, never the value). A quarantined input produces no
    output file. The exit status is 0 when every input got a status.

    --pass first (default): the import profile (PS3.15 Basic Profile with Retain
    Longitudinal Temporal Information with Modified Dates, Retain Patient
    Characteristics, Clean Descriptors), OCR of flagged images.
    --pass second: the first pass, then the edits from --regions burned into the
    pixels, the header stripped to the publishing allowlist, and the verifier, which
    compares the output with the fingerprint of the ORIGINAL file. Run it on the
    original files, or on the first pass's output together with that run's report:
    --first-report FIRST_REPORT.json (files matched by output path or by their SOP
    Instance UID). A file already de-identified (Patient Identity Removed YES) for
    which --first-report gives no fingerprint is quarantined, never published: the
    verifier would have no original identifiers to compare with.

    --regions REGIONS.json maps an input path (relative to INPUT_DIR, or absolute) or
    an original SOP Instance UID to {"regions": [{"x", "y", "width", "height",
    "frames": "all" | [0, 1, ...]}], "crop": {"x", "y", "width", "height"} | null,
    "reviewed": true | false}. The second pass fails closed: an image flagged for
    burned-in text (status needs-review after the first pass) is published only if
    its entry gives it at least one region, or says "reviewed": true (a person
    looked at every frame and found no text to black out; a crop alone is not
    enough). Any other flagged image stays needs-review, with no output file and
    the reason in the report.

    The secret behind UIDs, date offsets and pseudonyms comes from --secret-file or
    the TEACHINGFILE_DEID_SECRET environment variable; without either a random one is
    used for this run only (UIDs and dates then differ from every other run).

    example:
      python -m anonymizer deidentify in/ out/ --report report.json --jobs 2
      python -m anonymizer deidentify in/ out/ --report r.json --pass second \\
          --regions regions.json --secret-file secret.txt
      python -m anonymizer deidentify in/ work/ --report r1.json --secret-file s.txt
      python -m anonymizer deidentify work/ pub/ --report r2.json --pass second \\
          --first-report r1.json --regions regions.json --secret-file s.txt
    """
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m anonymizer",
        description="Teachingfile's DICOM de-identification engine.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser(
        "deidentify",
        help="de-identify a folder of DICOM files",
        description=DEIDENTIFY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d.add_argument("input_dir", type=Path, metavar="INPUT_DIR")
    d.add_argument("output_dir", type=Path, metavar="OUTPUT_DIR")
    d.add_argument("--report", type=Path, required=True, metavar="REPORT.json")
    d.add_argument("--pass", dest="which", choices=("first", "second"), default="first")
    d.add_argument("--regions", type=Path, metavar="REGIONS.json")
    d.add_argument(
        "--first-report",
        type=Path,
        metavar="FIRST_REPORT.json",
        help="second pass over first-pass output: the first pass's report (fingerprints)",
    )
    d.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes")
    d.add_argument("--secret-file", type=Path, metavar="F")
    d.add_argument("--no-ocr", action="store_true", help="flag images but propose no boxes")
    s = sub.add_parser(
        "describe",
        help="print what the profile does to each attribute",
        description=textwrap.dedent(
            """\
            Print what each pass does to every attribute of PS3.15 Table E.1-1, and
            for the second pass the allowlist of attributes that survive.

            example:
              python -m anonymizer describe --pass second --json > profile.json
            """
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--pass", dest="which", choices=("first", "second"), default="first")
    s.add_argument("--json", action="store_true")
    return parser


class RunError(Exception):
    """The run itself cannot proceed (as opposed to one bad input file)."""


def _load_keys(secret_file: Path | None) -> Keys:
    if secret_file is not None:
        try:
            return Keys(secret_file.read_bytes().strip())
        except OSError as exc:
            raise RunError(f"cannot read the secret file: {exc.strerror}") from None
        except ValueError as exc:
            raise RunError(str(exc)) from None
    if os.environ.get(SECRET_ENV):
        return Keys.from_text(os.environ[SECRET_ENV])
    print(
        f"warning: no --secret-file and no {SECRET_ENV}: using a random secret for this run",
        file=sys.stderr,
    )
    return Keys(secrets.token_bytes(32))


@dataclass(frozen=True)
class Review:
    """One entry of the regions file: the author's edits, and whether a person reviewed
    the image (``"reviewed": true``: looked at every frame, nothing more to black out)."""

    edits: Edits
    reviewed: bool = False

    @property
    def clears_flag(self) -> bool:
        """May a flagged image be published with this entry (regions, or reviewed)?"""
        return bool(self.edits.blackouts) or self.reviewed


NOT_REVIEWED = (
    "not published: the image may carry burned-in text, and the regions file neither "
    'gives it regions nor marks it "reviewed": true'
)


def _review_from_json(value: Any) -> Review:
    if not isinstance(value, dict):
        raise ValueError("each entry must be a JSON object with 'regions', 'crop', 'reviewed'")
    fields = dict(value)
    reviewed = fields.pop("reviewed", False)
    if not isinstance(reviewed, bool):
        raise ValueError('"reviewed" must be true or false')
    return Review(edits_from_json(fields), reviewed)


def _load_regions(path: Path | None) -> dict[str, Review]:
    if path is None:
        return {}
    try:
        raw = json.loads(path.read_text())
        return {str(key): _review_from_json(value) for key, value in raw.items()}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise RunError(f"cannot use the regions file {path}: {exc}") from None


@dataclass(frozen=True)
class FirstReportEntry:
    """What the first pass recorded about one file: the fingerprint of its original and
    whether it was flagged for burned-in text."""

    fingerprint: Fingerprint
    flagged: bool


NO_FIRST_FINGERPRINT = (
    "not published: this file was already de-identified (Patient Identity Removed YES) "
    "and no fingerprint of its original was given, so the verifier cannot compare it with "
    "the original identifiers; run the second pass on the original file, or pass the "
    "first pass's report with --first-report"
)


def _resolved(path: str) -> str:
    return str(Path(path).resolve())


def _load_first_report(path: Path | None) -> dict[str, FirstReportEntry]:
    """Index a first-pass report by ``uid:<new SOP Instance UID>``, ``output:<path>`` and
    ``input:<path>`` (paths resolved)."""
    if path is None:
        return {}
    try:
        raw = json.loads(path.read_text())
        index: dict[str, FirstReportEntry] = {}
        for entry in raw["files"]:
            if entry.get("fingerprint") is None:
                continue
            found = FirstReportEntry(
                Fingerprint.from_json(entry["fingerprint"]),
                entry.get("status") == Status.NEEDS_REVIEW.value,
            )
            if entry.get("sop_instance_uid"):
                index[f"uid:{entry['sop_instance_uid']}"] = found
            if entry.get("output"):
                index[f"output:{_resolved(str(entry['output']))}"] = found
            if entry.get("input"):
                index[f"input:{_resolved(str(entry['input']))}"] = found
        return index
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise RunError(f"cannot use the first-pass report {path}: {exc}") from None


def _first_report_for(path: Path, result: FirstPassResult) -> FirstReportEntry | None:
    index: dict[str, FirstReportEntry] = _STATE["first_report"]
    if not index:
        return None
    resolved = str(path.resolve())
    candidates = [f"output:{resolved}", f"input:{resolved}"]
    if result.reidentification and result.info:
        new_uid = result.info.sop_instance_uid
        candidates += [
            f"uid:{old}"
            for old, new in result.reidentification["uid_map"].items()
            if new == new_uid
        ]
    for key in candidates:
        if key in index:
            return index[key]
    return None


def _inputs(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


# Per-process state for the worker pool (set once by the initializer, not per file).
_STATE: dict[str, Any] = {}


def _init(keys: Keys, args: dict[str, Any]) -> None:
    _STATE["keys"] = keys
    _STATE.update(args)


def _review_for(path: Path, result: FirstPassResult) -> Review | None:
    regions: dict[str, Review] = _STATE["regions"]
    root: Path = _STATE["input_dir"]
    candidates = [str(path), str(path.resolve())]
    if path.is_relative_to(root):
        candidates.append(str(path.relative_to(root)))
    if result.reidentification and result.info:
        new_uid = result.info.sop_instance_uid
        candidates += [
            old for old, new in result.reidentification["uid_map"].items() if new == new_uid
        ]
    for key in candidates:
        if key in regions:
            return regions[key]
    return None


def worker_pool(jobs: int, keys: Keys, state: dict[str, Any]) -> ProcessPoolExecutor:
    """One long-lived pool of worker processes, each initialised once with the keys.

    Workers come from a fork server, not a fork of the caller: forking a process that
    runs threads (a web server, a DICOM listener, a test session) can deadlock the child.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["anonymizer.pipeline"])
    return ProcessPoolExecutor(jobs, mp_context=context, initializer=_init, initargs=(keys, state))


def chunk_size(files: int, jobs: int) -> int:
    """Files per task sent to a worker: a few chunks per worker (each chunk costs a round
    trip between processes, which small files feel), never more than 64 files."""
    return max(1, min(64, files // (jobs * 4)))


def _process(path: Path) -> dict[str, Any]:
    keys: Keys = _STATE["keys"]
    out_dir: Path = _STATE["output_dir"]
    if _STATE["which"] == "first":
        # No person reviews free text here: flagged values are removed, the report says so.
        result = first_pass(path, out_dir, keys=keys, ocr=_STATE["ocr"], remove_flagged_text=True)
        report = result.to_report()
        # Keyed hashes only: what `--pass second --first-report` checks the output against.
        report["fingerprint"] = (
            result.fingerprint.to_json() if result.output and result.fingerprint else None
        )
        return report
    with tempfile.TemporaryDirectory(prefix="tf-first-") as tmp:
        first = first_pass(path, Path(tmp), keys=keys, ocr=_STATE["ocr"], remove_flagged_text=True)
        if first.output is None or first.fingerprint is None:
            return first.to_report()
        recorded = _first_report_for(path, first)
        if recorded is None and first.identity_removed:
            # Its own fingerprint holds pseudonyms, not the original identifiers.
            entry = first.to_report()
            entry["output"] = None
            entry["status"] = Status.QUARANTINED.value
            entry["reasons"] = [*first.reasons, NO_FIRST_FINGERPRINT]
            return entry
        review = _review_for(path, first)
        flagged = first.status is Status.NEEDS_REVIEW or (recorded is not None and recorded.flagged)
        if flagged and (review is None or not review.clears_flag):
            # Fail closed: nobody said what to black out, or that nothing needs it.
            entry = first.to_report()
            entry["output"] = None  # the first pass's file was only temporary
            entry["reasons"] = [*first.reasons, NOT_REVIEWED]
            return entry
        second = second_pass(
            first.output,
            out_dir,
            keys=keys,
            fingerprint=recorded.fingerprint if recorded is not None else first.fingerprint,
            pseudonym=first.reidentification["pseudonym"] if first.reidentification else "",
            edits=review.edits if review is not None else Edits(),
            flagged=flagged,
        )
        entry = second.to_report()
        entry["input"] = str(path)
        entry["proposed_regions"] = first.proposed_regions
        entry["removed_text"] = first.removed_text
        entry["reasons"] = [*first.reasons, *second.reasons]
        return entry


def _run(args: argparse.Namespace) -> dict[str, Any]:
    if not args.input_dir.is_dir():
        raise RunError(f"{args.input_dir} is not a folder")
    try:
        args.output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create {args.output_dir}: {exc.strerror}") from None
    if args.jobs < 1:
        raise RunError("--jobs must be at least 1")
    keys = _load_keys(args.secret_file)
    state = {
        "which": args.which,
        "output_dir": args.output_dir,
        "input_dir": args.input_dir,
        "regions": _load_regions(args.regions),
        "first_report": _load_first_report(args.first_report),
        "ocr": not args.no_ocr,
    }
    paths = list(_inputs(args.input_dir))
    if args.jobs == 1:
        _init(keys, state)
        entries = [_process(p) for p in paths]
    else:
        with worker_pool(args.jobs, keys, state) as pool:
            entries = list(pool.map(_process, paths, chunksize=chunk_size(len(paths), args.jobs)))
    with contextlib.suppress(OSError):  # the second pass's staging folder, if left empty
        (args.output_dir / ".staging").rmdir()
    profile = FIRST_PASS if args.which == "first" else SECOND_PASS
    return {
        "pass": args.which,
        "profile": profile.to_dict(),
        "summary": dict(Counter(e["status"] for e in entries)),
        "files": entries,
    }


def _describe(args: argparse.Namespace) -> None:
    profile = FIRST_PASS if args.which == "first" else SECOND_PASS
    if args.json:
        doc: dict[str, Any] = {"profile": profile.to_dict(), "attributes": profile.describe()}
        if args.which == "second":
            doc["allowlist"] = list(SECOND_PASS_ALLOWLIST_KEYWORDS)
        print(json.dumps(doc, indent=2))
        return
    print(profile.describe_text())
    if args.which == "second":
        print("\nOnly these attributes survive the second pass:")
        print(textwrap.fill(", ".join(SECOND_PASS_ALLOWLIST_KEYWORDS), width=100))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "describe":
        _describe(args)
        return 0
    try:
        report = _run(args)
    except RunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2))
    summary = ", ".join(f"{n} {status}" for status, n in sorted(report["summary"].items()))
    print(f"{len(report['files'])} files: {summary or 'none'}; report in {args.report}")
    return 0
