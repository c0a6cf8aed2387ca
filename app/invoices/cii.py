"""Factur-X: the invoice as Cross Industry Invoice XML (profile EN 16931), embedded in its
PDF, through the `factur-x` library (which checks the XML against the profile's XSD).

The data is keyed by the EN 16931 business terms (BT-1 the number, BG-4 the seller…). A
credit note is type 381 and refers to its invoice (BG-3). Amounts are positive on both.
The library's schematron check needs a Saxon server and is not run here.
"""

from __future__ import annotations

from typing import Any

import facturx
from facturx.generate_xml import generate_cii_xml

from app.invoices.models import Invoice

EN16931 = "urn:cen.eu:en16931:2017"
TYPE_CODES = {"invoice": "380", "credit_note": "381"}
SELF_BILLING_NOTE = "Autofacturation"
SIRET_SCHEME = "0009"  # ISO 6523: the SIRET code


def _amount(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _percent(rate_bp: int) -> str:
    return f"{rate_bp // 100}.{rate_bp % 100:02d}"


def data(invoice: Invoice) -> dict[str, Any]:
    """The invoice in the terms of EN 16931, as the library takes them."""
    from app.invoices.services import vat_breakdown

    notes = [{"BT-21": "REG", "BT-22": SELF_BILLING_NOTE}]
    if invoice.seller_legal_form:
        notes.append({"BT-21": "ABL", "BT-22": invoice.seller_legal_form})
    values: dict[str, Any] = {
        "BT-1": invoice.number,
        "BT-2": invoice.issued_on,
        "BT-3": TYPE_CODES[invoice.kind.value],
        "BT-5": "EUR",
        "BT-24": EN16931,
        "BT-10": invoice.school_uai,
        "BT-13": invoice.order.number,
        "BT-72": invoice.issued_on,
        "BG-1": notes,
        "BG-4": {
            "name": invoice.seller_name,
            "legal_identifier": invoice.seller_siret,
            "legal_identifier_schemeid": SIRET_SCHEME,
            "vat_identifier": invoice.seller_vat_number,
            "addr_l1": invoice.seller_street,
            "postcode": invoice.seller_postcode,
            "city": invoice.seller_city,
            "country_code": "FR",
        },
        "BG-7": {
            "name": invoice.buyer_name,
            "identifiers": {"": invoice.school_uai},
            "city": invoice.school_city,
            "country_code": "FR",
        },
        "BG-23": [
            {
                "BT-116": _amount(base),
                "BT-117": _amount(vat),
                "BT-118": "S",
                "BT-119": _percent(rate),
            }
            for rate, base, vat in vat_breakdown(invoice)
        ],
        "BG-25": [
            {
                "BT-126": str(number),
                "BT-129": str(line.quantity),
                "BT-130": "C62",  # one (a licence)
                "BT-131": _amount(line.total_excl_vat_cents),
                "BT-146": _amount(line.unit_price_excl_vat_cents),
                "BT-151": "S",
                "BT-152": _percent(line.vat_rate_bp),
                "BT-153": line.title,
                "BT-154": line.description,
            }
            for number, line in enumerate(invoice.lines, start=1)
        ],
        "BT-106": _amount(invoice.total_excl_vat_cents),
        "BT-109": _amount(invoice.total_excl_vat_cents),
        "BT-110": _amount(invoice.vat_cents),
        "BT-112": _amount(invoice.total_incl_vat_cents),
        "BT-113": _amount(invoice.total_incl_vat_cents),  # paid with the teacher's credit
        "BT-115": "0.00",
    }
    if invoice.seller_legal_form:
        values["BG-4"]["legal_info"] = invoice.seller_legal_form
    if invoice.credited_invoice is not None:
        values["BG-3"] = [
            {"BT-25": invoice.credited_invoice.number, "BT-26": invoice.credited_invoice.issued_on}
        ]
    return values


def xml(invoice: Invoice) -> bytes:
    """The CII XML, checked against the EN 16931 XSD by the library."""
    return bytes(generate_cii_xml(data(invoice), level="en16931", check_schematron=False))


def embed(pdf: bytes, invoice: Invoice) -> bytes:
    """The PDF with its XML attached as `factur-x.xml` and the Factur-X XMP metadata."""
    metadata = {
        "author": invoice.seller_name,
        "keywords": "Factur-X",
        "title": f"{invoice.kind.label} {invoice.number}",
        "subject": f"{invoice.kind.label} {invoice.number} — {invoice.seller_name}",
    }
    return bytes(
        facturx.generate_from_binary(
            pdf,
            xml(invoice),
            flavor="factur-x",
            level="en16931",
            pdf_metadata=metadata,
            lang="fr-FR",
        )
    )
