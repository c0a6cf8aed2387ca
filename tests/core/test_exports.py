"""CSV cells: formulas neutralised, identifiers kept whole."""

import pytest

from app.core import exports


def test_a_formula_is_written_as_text():
    assert exports.cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"


def test_a_siret_is_written_so_a_spreadsheet_keeps_it_as_text():
    assert exports.cell(exports.identifier("73282932000074")) == '="73282932000074"'


def test_an_iban_with_spaces_and_an_uai_with_a_leading_zero_are_kept_whole():
    text = exports.text([["FR76 3000 6000 0112 3456 7890 189", exports.identifier("0750001A")]])
    assert text == '\ufeffFR76 3000 6000 0112 3456 7890 189;"=""0750001A"""\r\n'


def test_an_empty_identifier_stays_an_empty_cell():
    assert exports.cell(exports.identifier(None)) == ""


def test_only_digits_letters_and_spaces_can_be_an_identifier():
    with pytest.raises(ValueError, match="not an identifier"):
        exports.identifier('1"+cmd')
