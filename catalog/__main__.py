"""Command line of the catalogue's rulebook.

``python -m catalog check FILE.json`` reads a data-practices declaration, prints one line per
rule of the code of conduct and exits with 1 when a rule blocks the submission or when the
file is not a valid declaration (each error is then printed as ``champ : raison``), else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from catalog.conduct import Declaration, Finding, InvalidDeclaration, Severity, check, has_blocker

EXIT_OK = 0
EXIT_REFUSED = 1


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count <= 1 else plural}"


def _read_declaration(path: Path) -> Declaration:
    """The declaration of the JSON file at ``path``, or :class:`InvalidDeclaration`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidDeclaration([(str(path), f"fichier illisible ({reason}).")]) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidDeclaration(
            [(str(path), f"JSON invalide ligne {exc.lineno}, colonne {exc.colno} ({exc.msg}).")]
        ) from exc
    if not isinstance(data, dict):
        raise InvalidDeclaration(
            [(str(path), "le fichier doit contenir un objet JSON (la déclaration).")]
        )
    return Declaration.from_dict(data)


def _finding_line(finding: Finding) -> str:
    return f"{finding.severity.label.upper():<13}  {finding.rule:<19}  {finding.message}"


def _summary(findings: Sequence[Finding]) -> str:
    counts = dict.fromkeys(Severity, 0)
    for finding in findings:
        counts[finding.severity] += 1
    tally = ", ".join(
        [
            _plural(counts[Severity.BLOCKER], "bloquant", "bloquants"),
            _plural(counts[Severity.WARNING], "avertissement", "avertissements"),
            _plural(counts[Severity.OK], "conforme", "conformes"),
        ]
    )
    if has_blocker(findings):
        return f"{tally} : la déclaration serait refusée."
    return f"{tally} : la déclaration peut être soumise aux relecteurs."


def check_command(path: Path) -> int:
    """Print the findings of the declaration at ``path``; return the exit status."""
    try:
        declaration = _read_declaration(path)
    except InvalidDeclaration as exc:
        for field, reason in exc.errors:
            print(f"{field} : {reason}", file=sys.stderr)
        count = _plural(len(exc.errors), "erreur", "erreurs")
        print(f"Déclaration invalide ({count}) : rien n'a été vérifié.", file=sys.stderr)
        return EXIT_REFUSED
    findings = check(declaration)
    for finding in findings:
        print(_finding_line(finding))
    print(_summary(findings))
    return EXIT_REFUSED if has_blocker(findings) else EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m catalog",
        description="Outils du référentiel du catalogue.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")
    check_parser = commands.add_parser(
        "check",
        help="vérifier une déclaration de pratiques de données (charte)",
        description=(
            "Applique les règles de la charte à une déclaration au format JSON. "
            "Code de sortie 1 si une règle est bloquante ou si le fichier est invalide, 0 sinon."
        ),
    )
    check_parser.add_argument("file", type=Path, metavar="FICHIER.json")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the status."""
    args = _parser().parse_args(argv)  # exits with status 2 on a usage error
    # `check` is the only command for now; argparse refuses any other.
    return check_command(args.file)


if __name__ == "__main__":
    sys.exit(main())
