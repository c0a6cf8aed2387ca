"""CSV cells: formulas neutralised, identifiers written as they are and quoted, so any
reader gets the identifier itself and a spreadsheet importing quoted cells as text keeps
it whole."""

import csv
import io

import pytest

from app.core import exports


def test_a_formula_is_written_as_text():
    assert exports.cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert exports.cell('=HYPERLINK("x";"y")') == '"\'=HYPERLINK(""x"";""y"")"'


def test_a_siret_is_written_as_it_is_between_quotes():
    assert exports.cell(exports.identifier("90412345200016")) == '"90412345200016"'


def test_an_amount_and_plain_text_are_left_unquoted():
    assert exports.text([["12,50", "Annulée", exports.identifier("0750001A")]]) == (
        '\ufeff12,50;Annulée;"0750001A"\r\n'
    )


def test_any_csv_reader_gets_the_identifiers_back_unchanged():
    siret, siren, code, order = "00412345200016", "004123452", "000123", "CR-2026-000042"
    row = [exports.identifier(value) for value in (siret, siren, code, order)]
    row.append('Titre ; avec « guillemets » et "quotes"')

    text = exports.text([row])

    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text[1:]), delimiter=";")) == [
        [siret, siren, code, order, 'Titre ; avec « guillemets » et "quotes"']
    ]


def test_an_empty_identifier_stays_an_empty_cell():
    assert exports.cell(exports.identifier(None)) == ""


@pytest.mark.parametrize("value", ['1"+cmd', "-1", "=1", "a;b"])
def test_only_digits_letters_spaces_and_inner_dashes_can_be_an_identifier(value):
    with pytest.raises(ValueError, match="not an identifier"):
        exports.identifier(value)
