"""`flask gar import-etablissements FILE`: the GAR's list of schools says which schools use
the GAR, and their kind; the file is checked whole before anything is written."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from app.budgets.models import School
from app.core.audit import AuditEvent
from app.extensions import db
from catalog.identifiers import make_uai
from tests import factories

UNKNOWN = make_uai("0359991")  # a school of the GAR that no school here has


def etablissements(*entries: tuple[str, str]) -> bytes:
    body = "".join(
        f"  <etablissement>\n    <uai>{uai}</uai>\n    <nature_uai>{nature}</nature_uai>\n"
        "  </etablissement>\n"
        for uai, nature in entries
    )
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<etablissements>\n'
    return f"{head}{body}</etablissements>\n".encode()


def run(app: Flask, path: Path) -> tuple[int, str, str]:
    result = app.test_cli_runner().invoke(args=["gar", "import-etablissements", str(path)])
    db.session.expire_all()
    return result.exit_code, result.stdout, result.stderr


def test_the_schools_in_the_list_use_the_gar_and_take_its_kind(
    session: Session, app: Flask, tmp_path: Path
) -> None:
    ecole = factories.SchoolFactory(kind="college")  # the GAR says: an école élémentaire
    lycee = factories.SchoolFactory(kind="lycee_professionnel")
    outside = factories.SchoolFactory(kind="college")
    path = tmp_path / "etablissements.xml"
    path.write_bytes(etablissements((ecole.uai, "151"), (lycee.uai, "399"), (UNKNOWN, "340")))

    for _run in range(2):  # safe to run again
        code, out, err = run(app, path)

        assert (code, err) == (0, "")
        assert (ecole.uses_gar, lycee.uses_gar, outside.uses_gar) == (True, True, False)
        assert (ecole.kind, lycee.kind, outside.kind) == (
            "ecole_elementaire",
            "lycee_professionnel",  # 399: a nature we do not map, the kind stays
            "college",
        )
        assert f"ignorées) : {UNKNOWN}" in out
    assert "0 type(s) d'établissement corrigé(s)" in out
    assert db.session.query(AuditEvent).filter_by(action="gar.schools_imported").count() == 2


def test_a_list_with_one_wrong_school_changes_nothing(
    session: Session, app: Flask, tmp_path: Path
) -> None:
    school = factories.SchoolFactory(kind="college")
    path = tmp_path / "etablissements.xml"
    path.write_bytes(etablissements((school.uai, "151"), ("0750001A", "340"), (school.uai, "340")))

    code, out, err = run(app, path)

    assert code == 1
    assert "rien n'a été enregistré" in err
    assert "ligne 7, établissement n° 2 : UAI invalide : « 0750001A »" in err
    assert f"ligne 11, établissement n° 3 : UAI {school.uai} en double (déjà ligne 3)" in err
    assert (school.uses_gar, school.kind) == (None, "college")
    assert db.session.get(School, school.id) is school


def test_a_file_that_is_not_xml_is_refused_with_its_line(
    session: Session, app: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "etablissements.xml"
    path.write_bytes(b"<etablissements>\n<etablissement>\n<uai>0750001U</ua>\n")

    code, _out, err = run(app, path)

    assert code == 1
    assert "ligne 3 : le fichier n'est pas un XML lisible" in err
