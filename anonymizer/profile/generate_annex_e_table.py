"""Generate ``annex_e_table.py``: DICOM PS3.15 Annex E, Table E.1-1, every column.

Source
------
The PyPI package ``idiscore`` ships ``idiscore/_public_dicom.py``, a scrape of
Table E.1-1 with the Basic Profile column and every option column. The
generator reads the wheel as a zip archive and parses the module with ``ast``;
it never imports or installs idiscore (idiscore >= 1.3 needs Python >= 3.12 and
is not a dependency of this project). ``dicom-anonymizer`` ships the Basic
Profile column for several editions; when given, it is used to cross-check ours.

How to regenerate (PyPI is the only network access needed)::

    mkdir -p /tmp/annex-e-src
    pip download --no-deps --only-binary=:all: --python-version 3.12 \\
        -d /tmp/annex-e-src idiscore==1.6.0 dicom-anonymizer==2.1.0
    .venv/bin/python -m anonymizer.profile.generate_annex_e_table \\
        --idiscore /tmp/annex-e-src/idiscore-1.6.0-py2.py3-none-any.whl \\
        --dicom-anonymizer /tmp/annex-e-src/dicom_anonymizer-2.1.0-py3-none-any.whl

``--check`` compares instead of writing (exit status 1 if the checked-in file
differs). ``--idiscore`` and ``--dicom-anonymizer`` also accept an unpacked
directory (the folder that contains ``idiscore/`` or ``dicomanonymizer/``).
``python -m`` imports ``anonymizer.profile`` (and so the current table) first;
if that table is missing or broken, run the file as a script instead:
``.venv/bin/python anonymizer/profile/generate_annex_e_table.py --idiscore ...``
(this module imports nothing from the project).

Edition
-------
idiscore does not name the edition. Its module docstring says it was scraped
from ``dicom.nema.org/medical/dicom/current/`` on a date; we map that date to
the edition that was current then (:data:`EDITION_BY_SCRAPE_DATE`):

- idiscore 1.6.0, scraped 2025-06-24 -> **2025b**. 2025b was out by April 2025
  (pynetdicom moved to it on 2025-04-23); 2025c appeared around July 2025
  (dcm4che's issue to move its dictionary to 2025c is dated 2025-07-18), as
  "c" editions usually do (pydicom's issues for 2017c and 2018c: mid July).
  This is an inference, not a statement of the source: had 2025c been
  published before 2025-06-24, the table would be 2025c. The content agrees:
  every row of dicom-anonymizer's 2024b table is present with the same Basic
  Profile code, plus 26 rows added since 2024b (among them the sex and gender
  attributes, diagnosis code sequences and waveform annotation date-times),
  and none of the 9 rows that its 2026c table adds later.
- idiscore 1.2.0, scraped 2024-09-19 -> 2024c (623 rows; 2024b + 2 rows).

Names and keywords come from pydicom's data dictionary. pydicom 3.0.2 (the
newest on PyPI) carries the 2024c dictionary, so the 24 attributes added to
Table E.1-1 in 2025 are named from :data:`NEWER_THAN_PYDICOM`, checked against
a PS3.6 2026b dictionary.

Cross-check against dicom-anonymizer 2.1.0 (Basic Profile column)
-----------------------------------------------------------------
Run with idiscore 1.6.0 the generator prints:

- ``dicomfields_2024b``: no code differs on the 620 shared rows; 26 rows are
  only ours (the 2025 additions, all X except (300A,0054) Table Top Position
  Alignment UID, U); the private attributes row is only ours (dicom-anonymizer
  handles private tags separately).
- ``dicomfields_2026c``: no code differs on the 646 shared rows; 9 rows are only
  in 2026c (added after our edition: (0018,1010), (0018,1011), (003A,0020),
  (003A,0203), (003A,020C), (0040,0556), (0040,B020) X/D, (0040,E012) and
  (0070,0006) D).
- ``dicomfields_2023`` (2023e): Patient ID differs (Z there, Z/D here, as in
  its 2024b and 2026c tables: the standard changed it), and 37 rows are only
  ours (added since 2023e).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydicom._dicom_dict import RepeatersDictionary
from pydicom.datadict import dictionary_description, keyword_for_tag

COLUMNS: tuple[str, ...] = (
    "basic",
    "retain_safe_private",
    "retain_uids",
    "retain_device_identity",
    "retain_institution_identity",
    "retain_patient_characteristics",
    "retain_long_full_dates",
    "retain_long_modified_dates",
    "clean_descriptors",
    "clean_structured_content",
    "clean_graphics",
)

# idiscore's RawNemaRuleSet variable for each of our columns.
IDISCORE_RULESETS: dict[str, str] = {
    "basic": "basic_profile",
    "retain_safe_private": "retain_safe_private",
    "retain_uids": "retain_uid",
    "retain_device_identity": "retain_device_id",
    "retain_institution_identity": "retain_institution_id",
    "retain_patient_characteristics": "retain_patient_characteristics",
    "retain_long_full_dates": "retain_full_dates",
    "retain_long_modified_dates": "retain_modified_dates",
    "clean_descriptors": "clean_descriptors",
    "clean_structured_content": "clean_structured_content",
    "clean_graphics": "clean_graphics",
}

EDITION_BY_SCRAPE_DATE: dict[str, str] = {
    "2024-09-19": "2024c",
    "2025-06-24": "2025b",
}

# Attributes of Table E.1-1 that pydicom 3.0.2's dictionary (2024c) does not
# know yet: tag -> (keyword, name) as in PS3.6.
NEWER_THAN_PYDICOM: dict[int, tuple[str, str]] = {
    0x00081301: ("PrincipalDiagnosisCodeSequence", "Principal Diagnosis Code Sequence"),
    0x00081302: ("PrimaryDiagnosisCodeSequence", "Primary Diagnosis Code Sequence"),
    0x00081303: ("SecondaryDiagnosesCodeSequence", "Secondary Diagnoses Code Sequence"),
    0x00081304: ("HistologicalDiagnosesCodeSequence", "Histological Diagnoses Code Sequence"),
    0x00100011: ("PersonNamesToUseSequence", "Person Names to Use Sequence"),
    0x00100012: ("NameToUse", "Name to Use"),
    0x00100013: ("NameToUseComment", "Name to Use Comment"),
    0x00100014: ("ThirdPersonPronounsSequence", "Third Person Pronouns Sequence"),
    0x00100015: ("PronounCodeSequence", "Pronoun Code Sequence"),
    0x00100016: ("PronounComment", "Pronoun Comment"),
    0x00100041: ("GenderIdentitySequence", "Gender Identity Sequence"),
    0x00100042: (
        "SexParametersForClinicalUseCategoryComment",
        "Sex Parameters for Clinical Use Category Comment",
    ),
    0x00100043: (
        "SexParametersForClinicalUseCategorySequence",
        "Sex Parameters for Clinical Use Category Sequence",
    ),
    0x00100044: ("GenderIdentityCodeSequence", "Gender Identity Code Sequence"),
    0x00100045: ("GenderIdentityComment", "Gender Identity Comment"),
    0x00100046: (
        "SexParametersForClinicalUseCategoryCodeSequence",
        "Sex Parameters for Clinical Use Category Code Sequence",
    ),
    0x00100047: (
        "SexParametersForClinicalUseCategoryReference",
        "Sex Parameters for Clinical Use Category Reference",
    ),
    0x00102162: ("EthnicGroups", "Ethnic Groups"),
    0x0040A034: ("EffectiveStartDateTime", "Effective Start DateTime"),
    0x0040A035: ("EffectiveStopDateTime", "Effective Stop DateTime"),
    0x0040B034: ("AnnotationDateTime", "Annotation DateTime"),
    0x0040B036: ("SegmentDefinitionDateTime", "Segment Definition DateTime"),
    0x0040B03B: ("MontageName", "Montage Name"),
    0x0040B03F: ("MontageChannelLabel", "Montage Channel Label"),
}

PRIVATE_TAG = "(gggg,eeee)"
CURVE_DATA_TAG = "(50xx,xxxx)"

OUTPUT = Path(__file__).with_name("annex_e_table.py")


@dataclass(frozen=True)
class Row:
    tag: str
    keyword: str
    name: str
    cells: tuple[str, ...]


class Source:
    """Read text files from a wheel (zip) or an unpacked directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def names(self) -> list[str]:
        if self.path.is_dir():
            return [
                p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()
            ]
        with zipfile.ZipFile(self.path) as archive:
            return archive.namelist()

    def read(self, name: str) -> str:
        if self.path.is_dir():
            return (self.path / name).read_text(encoding="utf-8")
        with zipfile.ZipFile(self.path) as archive:
            return archive.read(name).decode("utf-8")

    def version(self, distribution: str) -> str:
        """The version in the wheel's METADATA, or the one in the wheel's file name."""
        for name in self.names():
            if name.endswith(".dist-info/METADATA"):
                match = re.search(r"^Version: (\S+)$", self.read(name), re.MULTILINE)
                if match:
                    return match.group(1)
        match = re.match(rf"{distribution}-([^-]+)-", self.path.name)
        return match.group(1) if match else "unknown"


def format_tag(identifier: str) -> str:
    """'0008002a' -> '(0008,002A)'; repeaters keep lower-case x: '60xx4000' -> '(60xx,4000)'."""
    text = "".join("x" if ch in "xX" else ch.upper() for ch in identifier)
    if not re.fullmatch(r"[0-9A-Fx]{8}", text):
        raise ValueError(f"unexpected tag identifier {identifier!r}")
    return f"({text[:4]},{text[4:]})"


def tag_int(tag: str) -> int:
    return int(tag[1:5] + tag[6:10], 16)


def _action_codes(source: Source) -> dict[str, str]:
    """ActionCodes attribute name -> code, from idiscore/dicom.py."""
    tree = ast.parse(source.read("idiscore/dicom.py"))
    codes: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "ActionCodes":
            for stmt in node.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and isinstance(stmt.targets[0], ast.Name)
                    and isinstance(stmt.value, ast.Call)
                    and stmt.value.args
                    and isinstance(stmt.value.args[0], ast.Constant)
                ):
                    codes[stmt.targets[0].id] = str(stmt.value.args[0].value)
    return codes


def _identifier(node: ast.expr) -> str:
    """SingleTag("00080050") / RepeatingGroup("50xxxxxx") / PrivateTags() -> our tag string."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise ValueError(f"unexpected identifier {ast.dump(node)}")
    if node.func.id == "PrivateTags":
        return PRIVATE_TAG
    argument = node.args[0]
    if not isinstance(argument, ast.Constant) or not isinstance(argument.value, str):
        raise ValueError(f"unexpected identifier {ast.dump(node)}")
    if node.func.id in ("SingleTag", "RepeatingGroup"):
        return format_tag(argument.value)
    raise ValueError(f"unexpected identifier {node.func.id}")


def read_idiscore(source: Source) -> tuple[str, dict[str, list[tuple[str, str]]]]:
    """Return (scrape date, {ruleset variable: [(tag, code), ...] in source order})."""
    text = source.read("idiscore/_public_dicom.py")
    tree = ast.parse(text)
    docstring = ast.get_docstring(tree) or ""
    match = re.search(r"scrape date:\s*(\S+)", docstring)
    scrape_date = match.group(1) if match else "unknown"
    codes = _action_codes(source)
    rulesets: dict[str, list[tuple[str, str]]] = {}
    for node in tree.body:
        if not (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
        ):
            continue
        keywords = {kw.arg: kw.value for kw in node.value.keywords}
        rules = keywords.get("rules")
        if not isinstance(rules, ast.List):
            continue
        entries: list[tuple[str, str]] = []
        for element in rules.elts:
            if not isinstance(element, ast.Tuple) or len(element.elts) != 2:
                raise ValueError(f"unexpected rule {ast.dump(element)}")
            identifier, code = element.elts
            if not isinstance(code, ast.Attribute):
                raise ValueError(f"unexpected action {ast.dump(code)}")
            entries.append((_identifier(identifier), codes[code.attr]))
        rulesets[node.targets[0].id] = entries
    return scrape_date, rulesets


def name_and_keyword(tag: str) -> tuple[str, str]:
    """(keyword, name) for a row's tag from PS3.6 (pydicom), repeaters and private attributes."""
    if tag == PRIVATE_TAG:
        return "", "Private Attributes"
    if tag == CURVE_DATA_TAG:
        return "", "Curve Data"
    if "x" in tag:
        entry = RepeatersDictionary[tag[1:5] + tag[6:10]]
        return entry[4], entry[2]
    value = tag_int(tag)
    if value in NEWER_THAN_PYDICOM:
        return NEWER_THAN_PYDICOM[value]
    keyword = keyword_for_tag(value)
    if not keyword:
        raise ValueError(f"{tag} is in neither pydicom's dictionary nor NEWER_THAN_PYDICOM")
    return keyword, dictionary_description(value)


def build_rows(rulesets: dict[str, list[tuple[str, str]]]) -> list[Row]:
    """One row per Basic Profile entry (every row of Table E.1-1 has one), in table order."""
    columns: dict[str, dict[str, str]] = {}
    for column in COLUMNS:
        entries = rulesets[IDISCORE_RULESETS[column]]
        cells = dict(entries)
        if len(cells) != len(entries):
            raise ValueError(f"duplicate tags in column {column}")
        columns[column] = cells
    basic_order = [tag for tag, _ in rulesets[IDISCORE_RULESETS["basic"]]]
    for column, cells in columns.items():
        orphans = set(cells) - set(basic_order)
        if orphans:
            raise ValueError(f"column {column} has rows without a basic action: {sorted(orphans)}")
    rows = []
    for tag in basic_order:
        keyword, name = name_and_keyword(tag)
        row_cells = tuple(columns[column].get(tag, "") for column in COLUMNS)
        rows.append(Row(tag, keyword, name, row_cells))
    return rows


def render(rows: list[Row], *, source: str, edition: str, scrape_date: str) -> str:
    quote = json.dumps  # double-quoted, valid Python for these ASCII strings
    lines = [
        f"# auto-generated by generate_annex_e_table.py from {source}, DICOM PS3.15 {edition}",
        f"# Source: idiscore/_public_dicom.py, scraped from the then-current standard on "
        f"{scrape_date};",
        "# the edition is inferred from that date (see generate_annex_e_table.py). Do not edit:",
        "# regenerate with `python -m anonymizer.profile.generate_annex_e_table`.",
        '"""DICOM PS3.15 Annex E, Table E.1-1: Application Level Confidentiality Profile',
        "Attributes.",
        "",
        "ROWS holds one entry per row of the table, in the table's order:",
        "(tag, keyword, name, cells), with one cell per name in COLUMNS: the action",
        'code verbatim as the standard writes it, or "" where it leaves the cell blank.',
        "Repeating groups keep their lower-case x's; the private attributes row is",
        f'"{PRIVATE_TAG}" (gggg odd).',
        '"""',
        "",
        f"EDITION = {quote(edition)}",
        f"SOURCE = {quote(source)}",
        "COLUMNS: tuple[str, ...] = (",
        *(f"    {quote(column)}," for column in COLUMNS),
        ")",
        "ROWS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (",
    ]
    for row in rows:
        cells = ", ".join(quote(cell) for cell in row.cells)
        lines.append(f"    ({quote(row.tag)}, {quote(row.keyword)}, {quote(row.name)}, ({cells})),")
    lines.append(")")
    return "\n".join(lines) + "\n"


def _anonymizer_key(tag: str) -> tuple[int, ...]:
    """Our tag string as dicom-anonymizer writes it: (g, e) or (g, e, group mask, elem mask)."""
    if "x" not in tag:
        return (int(tag[1:5], 16), int(tag[6:10], 16))
    group, element = tag[1:5], tag[6:10]

    def value(part: str) -> int:
        return int(part.replace("x", "0"), 16)

    def mask(part: str) -> int:
        return int("".join("0" if ch == "x" else "F" for ch in part), 16)

    return (value(group), value(element), mask(group), mask(element))


def read_dicom_anonymizer(source: Source) -> Iterator[tuple[str, dict[tuple[int, ...], str]]]:
    """Yield (database name, {tag key: basic code}) for each bundled table."""
    prefix = "dicomanonymizer/dicom_anonymization_databases/"
    for name in sorted(source.names()):
        if not (name.startswith(prefix) and name.endswith(".py")) or "__init__" in name:
            continue
        tree = ast.parse(source.read(name))
        table: dict[tuple[int, ...], str] = {}
        for node in tree.body:
            if not (
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.endswith("_TAGS")
                and node.targets[0].id != "ALL_TAGS"
                and isinstance(node.value, ast.List)
            ):
                continue
            code = node.targets[0].id[: -len("_TAGS")].replace("_STAR", "*").replace("_", "/")
            for element in node.value.elts:
                table[tuple(ast.literal_eval(element))] = code
        yield name[len(prefix) : -len(".py")], table


def cross_check(rows: list[Row], source: Source) -> None:
    ours = {_anonymizer_key(row.tag): row for row in rows if row.tag != PRIVATE_TAG}

    def label(key: tuple[int, ...]) -> str:
        return f"({key[0]:04X},{key[1]:04X})" + (" masked" if len(key) > 2 else "")

    print(f"cross-check of the basic column against dicom-anonymizer {source.path.name}:")
    for database, theirs in read_dicom_anonymizer(source):
        only_ours = sorted(set(ours) - set(theirs))
        only_theirs = sorted(set(theirs) - set(ours))
        differ = sorted(k for k in set(ours) & set(theirs) if ours[k].cells[0] != theirs[k])
        print(
            f"  {database}: {len(theirs)} rows, {len(set(ours) & set(theirs))} shared, "
            f"{len(differ)} differ, {len(only_ours)} only ours, {len(only_theirs)} only theirs"
        )
        for key in differ:
            print(
                f"    differs {label(key)} {ours[key].keyword}: ours {ours[key].cells[0]}, "
                f"theirs {theirs[key]}"
            )
        for key in only_ours:
            print(f"    only ours {label(key)} {ours[key].keyword} {ours[key].cells[0]}")
        for key in only_theirs:
            print(f"    only theirs {label(key)} {theirs[key]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--idiscore", type=Path, required=True, help="idiscore wheel or folder")
    parser.add_argument("--dicom-anonymizer", type=Path, help="dicom-anonymizer wheel or folder")
    parser.add_argument("--edition", help="override the edition inferred from the scrape date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)

    idiscore = Source(args.idiscore)
    scrape_date, rulesets = read_idiscore(idiscore)
    edition = args.edition or EDITION_BY_SCRAPE_DATE.get(scrape_date)
    if edition is None:
        parser.error(f"no known edition for scrape date {scrape_date}: pass --edition")
    rows = build_rows(rulesets)
    source = f"idiscore {idiscore.version('idiscore')}"
    text = render(rows, source=source, edition=edition, scrape_date=scrape_date)
    print(f"{source}, scraped {scrape_date}, DICOM PS3.15 {edition}: {len(rows)} rows")

    if args.dicom_anonymizer:
        cross_check(rows, Source(args.dicom_anonymizer))

    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date")
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
