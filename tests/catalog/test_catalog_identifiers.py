"""Tests of catalog.identifiers: UAI, SIREN, SIRET and French VAT numbers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.identifiers import (
    UAI_CHECK_LETTERS,
    InvalidIdentifier,
    is_valid_siren,
    is_valid_siret,
    is_valid_uai,
    is_valid_vat,
    make_uai,
    normalize_uai,
    uai_check_letter,
    validate_siren,
    validate_siret,
    validate_uai,
    validate_vat,
    vat_matches_siren,
)

seven_digits = st.text(alphabet="0123456789", min_size=7, max_size=7)

# --- UAI -----------------------------------------------------------------------------------


def test_check_letter_formula() -> None:
    assert len(UAI_CHECK_LETTERS) == 23
    assert uai_check_letter("0000000") == "A"
    assert uai_check_letter("0000022") == "Z"
    assert uai_check_letter("0000023") == "A"
    assert uai_check_letter("0750001") == "U"  # 750001 % 23 == 17


def test_real_uai_is_valid() -> None:
    # Lycée Henri-IV, Paris: 750654 % 23 == 3 → "D".
    assert is_valid_uai("0750654D")
    assert make_uai("0750654") == "0750654D"


def test_0750001a_is_not_valid() -> None:
    # An often quoted example, but 750001 % 23 == 17, so the letter is U, not A.
    assert not is_valid_uai("0750001A")
    assert is_valid_uai("0750001U")


def test_wrong_letter() -> None:
    assert not is_valid_uai("0750654E")
    with pytest.raises(InvalidIdentifier) as info:
        validate_uai("0750654E")
    assert info.value.field == "uai"
    assert "lettre de contrôle" in info.value.message
    assert "D" in info.value.message


@pytest.mark.parametrize("value", ["", "075065D", "07506544D", "0750654", "0750654DD"])
def test_wrong_length(value: str) -> None:
    assert not is_valid_uai(value)
    with pytest.raises(InvalidIdentifier, match="8 caractères"):
        validate_uai(value)


@pytest.mark.parametrize("value", ["A750654D", "075065AD", "٠٧٥٠٦٥٤D"])
def test_not_digits(value: str) -> None:
    assert not is_valid_uai(value)
    with pytest.raises(InvalidIdentifier, match="7 chiffres"):
        validate_uai(value)


@pytest.mark.parametrize("letter", ["I", "O", "Q", "1", "-"])
def test_letter_not_in_alphabet(letter: str) -> None:
    assert not is_valid_uai("0750654" + letter)


def test_lower_case_and_spaces_are_accepted() -> None:
    assert normalize_uai(" 0750 654d\t") == "0750654D"
    assert is_valid_uai("0750654d")
    assert is_valid_uai(" 0750654D ")
    assert validate_uai("0750654d") == "0750654D"


def test_custom_field_name() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        validate_uai("x", field="school_uai")
    assert info.value.field == "school_uai"
    assert str(info.value).startswith("school_uai: ")


@pytest.mark.parametrize("digits", ["", "123456", "12345678", "12345A7"])
def test_check_letter_needs_seven_digits(digits: str) -> None:
    with pytest.raises(ValueError, match="exactly 7 digits"):
        uai_check_letter(digits)


@settings(database=None)
@given(seven_digits)
def test_make_uai_is_always_valid(digits: str) -> None:
    uai = make_uai(digits)
    assert len(uai) == 8
    assert uai[:7] == digits
    assert is_valid_uai(uai)
    assert is_valid_uai(uai.lower())


@settings(database=None)
@given(seven_digits, st.sampled_from(UAI_CHECK_LETTERS))
def test_another_letter_is_invalid(digits: str, letter: str) -> None:
    uai = make_uai(digits)
    assert is_valid_uai(digits + letter) == (letter == uai[7])


# --- SIREN ---------------------------------------------------------------------------------


def test_valid_siren() -> None:
    assert validate_siren("732829320") == "732829320"
    assert validate_siren("732 829 320") == "732829320"
    assert is_valid_siren("732829320")


def test_siren_wrong_check_digit() -> None:
    assert not is_valid_siren("732829321")
    with pytest.raises(InvalidIdentifier) as info:
        validate_siren("732829321")
    assert info.value.field == "siren"
    assert "clé de contrôle" in info.value.message


def test_siren_wrong_length() -> None:
    with pytest.raises(InvalidIdentifier, match="9 chiffres"):
        validate_siren("73282932")


def test_siren_not_digits() -> None:
    with pytest.raises(InvalidIdentifier, match="que des chiffres"):
        validate_siren("73282932A")


# --- SIRET ---------------------------------------------------------------------------------


def test_valid_siret() -> None:
    assert validate_siret("73282932000074") == "73282932000074"
    assert validate_siret("732 829 320 00074") == "73282932000074"
    assert is_valid_siret("73282932000074")


def test_la_poste_siret() -> None:
    # La Poste's head office: a normal Luhn key.
    assert is_valid_siret("35600000000048")
    # Other La Poste establishments: no Luhn key, the sum of the digits is a multiple of 5.
    assert is_valid_siret("35600000049837")
    assert not is_valid_siret("35600000000049")


def test_siret_wrong_check_digit() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        validate_siret("73282932000075")
    assert info.value.field == "siret"
    assert "clé de contrôle" in info.value.message


def test_siret_wrong_length() -> None:
    with pytest.raises(InvalidIdentifier, match="14 chiffres"):
        validate_siret("732829320")


def test_siret_not_digits() -> None:
    with pytest.raises(InvalidIdentifier, match="que des chiffres"):
        validate_siret("7328293200007X")


# --- VAT -----------------------------------------------------------------------------------


def test_valid_vat() -> None:
    assert validate_vat("FR44732829320") == "FR44732829320"
    assert validate_vat("fr 44 732 829 320") == "FR44732829320"
    assert validate_vat("44732829320") == "FR44732829320"
    assert is_valid_vat("FR44732829320")


def test_vat_wrong_key() -> None:
    assert not is_valid_vat("FR45732829320")
    with pytest.raises(InvalidIdentifier) as info:
        validate_vat("FR45732829320")
    assert info.value.field == "vat"
    assert "clé" in info.value.message


def test_vat_wrong_length() -> None:
    with pytest.raises(InvalidIdentifier, match="9 chiffres"):
        validate_vat("FR4473282932")


def test_vat_not_digits() -> None:
    with pytest.raises(InvalidIdentifier, match="s'écrit FR"):
        validate_vat("FR44732829ABC")


def test_vat_matches_siren() -> None:
    assert vat_matches_siren("FR44732829320", "732829320")
    assert vat_matches_siren("fr44 732 829 320", "732 829 320")


def test_vat_siren_mismatch() -> None:
    # 552100554 is another valid SIREN; its VAT number is FR96552100554.
    assert is_valid_siren("552100554")
    assert is_valid_vat("FR96552100554")
    assert not vat_matches_siren("FR44732829320", "552100554")
    assert not vat_matches_siren("FR96552100554", "732829320")


def test_vat_matches_siren_is_false_for_invalid_input() -> None:
    assert not vat_matches_siren("FR45732829320", "732829320")
    assert not vat_matches_siren("FR44732829320", "732829321")
    assert not vat_matches_siren("", "")


def test_invalid_identifier_is_a_value_error() -> None:
    error = InvalidIdentifier("siren", "un SIREN compte 9 chiffres.")
    assert isinstance(error, ValueError)
    assert error.field == "siren"
    assert error.message == "un SIREN compte 9 chiffres."
    assert str(error) == "siren: un SIREN compte 9 chiffres."
