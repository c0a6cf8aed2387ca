"""Checks of the identifiers used by the catalogue.

- UAI (unité administrative immatriculée) of a school: 7 digits and a check letter.
- SIREN, SIRET and French VAT number of a vendor, through python-stdnum.

The ``validate_*`` functions return the compact, valid value or raise
:class:`InvalidIdentifier`, whose message is in French and can be shown to the user.
"""

from __future__ import annotations

from stdnum import exceptions as stdnum_exceptions
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret
from stdnum.fr import tva as stdnum_tva

__all__ = [
    "UAI_CHECK_LETTERS",
    "InvalidIdentifier",
    "is_valid_siren",
    "is_valid_siret",
    "is_valid_uai",
    "is_valid_vat",
    "make_uai",
    "normalize_uai",
    "uai_check_letter",
    "validate_siren",
    "validate_siret",
    "validate_uai",
    "validate_vat",
    "vat_matches_siren",
]

UAI_CHECK_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
"""The 23 letters of the UAI check key (I, O and Q are left out)."""


class InvalidIdentifier(ValueError):
    """An identifier is not valid. ``field`` names it; ``message`` (French) says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- UAI -----------------------------------------------------------------------------------


def _is_ascii_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def normalize_uai(value: str) -> str:
    """Remove all whitespace and upper-case: ``" 0750 001u "`` → ``"0750001U"``."""
    return "".join(value.split()).upper()


def uai_check_letter(digits: str) -> str:
    """The check letter of the 7 digits of a UAI: ``LETTERS[int(digits) % 23]``."""
    if len(digits) != 7 or not _is_ascii_digits(digits):
        raise ValueError(f"a UAI starts with exactly 7 digits, got {digits!r}")
    return UAI_CHECK_LETTERS[int(digits) % 23]


def make_uai(digits: str) -> str:
    """The full UAI for 7 digits: the digits followed by their check letter."""
    return digits + uai_check_letter(digits)


def validate_uai(value: str, field: str = "uai") -> str:
    """Return the normalised UAI, or raise :class:`InvalidIdentifier` saying why."""
    uai = normalize_uai(value)
    if len(uai) != 8:
        raise InvalidIdentifier(
            field,
            f"un UAI compte 8 caractères (7 chiffres et une lettre), et non {len(uai)}.",
        )
    digits, letter = uai[:7], uai[7]
    if not _is_ascii_digits(digits):
        raise InvalidIdentifier(field, "un UAI commence par 7 chiffres.")
    if letter not in UAI_CHECK_LETTERS:
        raise InvalidIdentifier(
            field, "un UAI se termine par une lettre de contrôle (ni I, ni O, ni Q)."
        )
    expected = uai_check_letter(digits)
    if letter != expected:
        raise InvalidIdentifier(
            field, f"la lettre de contrôle est incorrecte : {letter} au lieu de {expected}."
        )
    return uai


def is_valid_uai(value: str) -> bool:
    """Whether ``value`` is a valid UAI (spaces and lower case are accepted)."""
    try:
        validate_uai(value)
    except InvalidIdentifier:
        return False
    return True


# --- SIREN, SIRET, VAT ---------------------------------------------------------------------


def _french_reason(
    error: stdnum_exceptions.ValidationError, *, name: str, length: int, fmt: str
) -> str:
    if isinstance(error, stdnum_exceptions.InvalidLength):
        return f"un {name} compte {length} chiffres."
    if isinstance(error, stdnum_exceptions.InvalidFormat):
        return f"un {name} {fmt}."
    if isinstance(error, stdnum_exceptions.InvalidChecksum):
        return f"la clé de contrôle du {name} est incorrecte (vérifiez une faute de frappe)."
    return f"ce {name} n'est pas valide."


def validate_siren(value: str, field: str = "siren") -> str:
    """Return the compact SIREN (9 digits), or raise :class:`InvalidIdentifier`."""
    try:
        return str(stdnum_siren.validate(value))
    except stdnum_exceptions.ValidationError as error:
        reason = _french_reason(error, name="SIREN", length=9, fmt="ne contient que des chiffres")
        raise InvalidIdentifier(field, reason) from error


def validate_siret(value: str, field: str = "siret") -> str:
    """Return the compact SIRET (14 digits), or raise :class:`InvalidIdentifier`.

    The SIRET of La Poste's establishments, which do not follow the Luhn key, are accepted
    through python-stdnum's rule.
    """
    try:
        return str(stdnum_siret.validate(value))
    except stdnum_exceptions.ValidationError as error:
        reason = _french_reason(error, name="SIRET", length=14, fmt="ne contient que des chiffres")
        raise InvalidIdentifier(field, reason) from error


def validate_vat(value: str, field: str = "vat") -> str:
    """Return the compact French VAT number with its prefix (``"FR44732829320"``),
    or raise :class:`InvalidIdentifier`. The ``FR`` prefix may be omitted in ``value``.
    """
    try:
        compact = str(stdnum_tva.validate(value))
    except stdnum_exceptions.ValidationError as error:
        if isinstance(error, stdnum_exceptions.InvalidLength):
            reason = "un numéro de TVA français compte FR, une clé de 2 caractères et 9 chiffres."
        elif isinstance(error, stdnum_exceptions.InvalidFormat):
            reason = (
                "un numéro de TVA français s'écrit FR, une clé de 2 caractères "
                "puis les 9 chiffres du SIREN."
            )
        elif isinstance(error, stdnum_exceptions.InvalidChecksum):
            reason = "la clé du numéro de TVA, ou celle du SIREN qu'il contient, est incorrecte."
        else:
            reason = "ce numéro de TVA n'est pas valide."
        raise InvalidIdentifier(field, reason) from error
    return "FR" + compact


def is_valid_siren(value: str) -> bool:
    """Whether ``value`` is a valid SIREN."""
    return bool(stdnum_siren.is_valid(value))


def is_valid_siret(value: str) -> bool:
    """Whether ``value`` is a valid SIRET."""
    return bool(stdnum_siret.is_valid(value))


def is_valid_vat(value: str) -> bool:
    """Whether ``value`` is a valid French VAT number."""
    return bool(stdnum_tva.is_valid(value))


def vat_matches_siren(vat: str, siren: str) -> bool:
    """Whether a valid French VAT number belongs to a valid SIREN: ``FR`` + key + SIREN.

    Returns ``False`` when either number is invalid.
    """
    try:
        compact_vat = validate_vat(vat)
        compact_siren = validate_siren(siren)
    except InvalidIdentifier:
        return False
    return compact_vat[-9:] == compact_siren
