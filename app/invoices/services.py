"""Issuing invoices and credit notes, numbering them, rendering them as Factur-X.

At checkout (:func:`issue_invoices`, called by the order's transaction), each vendor's lines
of the order get an invoice, issued by the platform in the vendor's name under the billing
mandate the vendor accepted with its approval (autofacturation, art. 289 I-2 of the French
tax code). A cancelled line gets a credit note referring to its invoice
(:func:`issue_credit_note`). The number is taken in the same transaction, from the vendor's
counter row for the kind and year (:func:`take_number`), so it is gapless: a transaction
that rolls back gives its number back. The PDF is slow, so it is rendered by a job right
after the commit (or on the first download, whichever comes first).

Prices in the catalogue include VAT (`plan.price_cents`, with the plan's rate, chosen by
the vendor among the French rates); the order line keeps the VAT included in its price.
An invoice line shows the price without VAT as the price paid minus that VAT, so the totals
including VAT are, to the cent, what the teacher's credit paid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from flask_babel import gettext, ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.budgets.models import Academy
from app.core import dates, jobs, storage
from app.core.db import insert_or_ignore, insert_rows, utcnow
from app.core.errors import Conflict, NotFound
from app.core.exports import identifier
from app.extensions import db
from app.invoices import cii
from app.invoices.models import Invoice, InvoiceCounter, InvoiceKind, InvoiceLine
from app.orders.models import Order, OrderLine
from app.products.models import PlanKind
from app.vendors.models import Vendor

RENDER = "invoices.render"


class NoBillingMandate(Conflict):
    code = "no_billing_mandate"


# --- numbering -------------------------------------------------------------------------


def take_number(vendor_id: int, kind: InvoiceKind, year: int) -> int:
    """The next number of the vendor's sequence for `kind` and `year`, in one upsert: the
    counter row is created at the year's first document, then incremented; that locks it until the
    transaction ends, so concurrent checkouts of the same vendor take turns here (and only
    here) and a rolled-back one leaves no gap."""
    dialect = db.session.get_bind().dialect.name
    statement = _TAKE_NUMBER.get(dialect)
    if statement is None:  # built once per database kind: every checkout takes a number
        counter = InvoiceCounter.__table__
        statement = _TAKE_NUMBER[dialect] = (
            insert_or_ignore(db.session, counter)
            .values(last_number=1)
            .on_conflict_do_update(
                index_elements=["vendor_id", "kind", "year"],
                set_={"last_number": counter.c.last_number + 1},
            )
            .returning(counter.c.last_number)
        )
    taken = db.session.execute(statement, {"vendor_id": vendor_id, "kind": kind, "year": year})
    return int(taken.scalar_one())


_TAKE_NUMBER: dict[str, Any] = {}


def format_number(kind: InvoiceKind, year: int, sequence: int) -> str:
    """ "F-2026-000123" for an invoice, "A-2026-000007" for a credit note."""
    return f"{kind.prefix}-{year}-{sequence:06d}"


# --- issuing ---------------------------------------------------------------------------


def budget_office(academy: Academy) -> str:
    """The buyer named on the invoices: "Rectorat de l'académie d'Amiens — service
    budgétaire" (docs/decisions/0020 says why the academy and not the teacher)."""
    of = "d'" if academy.name[:1].lower() in "aeiouyéèêâîôû" else "de "
    return str(
        gettext(
            "Rectorat de l'académie %(of)s%(name)s — service budgétaire", of=of, name=academy.name
        )
    )


def _description(line: OrderLine) -> str:
    text = line.plan_kind.label
    if line.plan_kind is PlanKind.CLASS:
        pupils = ngettext("%(num)s élève", "%(num)s élèves", line.seats)
        text += f" ({pupils})"
    return f"{text} — {gettext('année scolaire %(year)s', year=line.order.school_year_code)}"


def _invoice_line(line: OrderLine) -> dict[str, Any]:
    """One order line billed: one licence, its price without VAT and the VAT it included."""
    excl_vat = line.price_cents - line.vat_cents
    return {
        "order_line_id": line.id,
        "title": line.title,
        "description": _description(line),
        "quantity": 1,
        "unit_price_excl_vat_cents": excl_vat,
        "vat_rate_bp": line.vat_rate_bp,
        "vat_cents": line.vat_cents,
        "total_excl_vat_cents": excl_vat,
        "total_incl_vat_cents": line.price_cents,
    }


def _issue(
    kind: InvoiceKind,
    vendor: Vendor,
    order: Order,
    lines: Sequence[OrderLine],
    credited: Invoice | None = None,
) -> Invoice:
    if vendor.billing_mandate_accepted_at is None:
        raise NoBillingMandate(
            f"{vendor.legal_name} n'a pas accepté le mandat de facturation : sa facture ne "
            "peut pas être émise."
        )
    now = utcnow()
    day = dates.local_date(now)
    sequence = take_number(vendor.id, kind, day.year)
    academy = db.session.get(Academy, order.academy_code)
    assert academy is not None  # noqa: S101 - the order's foreign key
    lines_values = [_invoice_line(line) for line in lines]
    values = {
        "kind": kind,
        "vendor_id": vendor.id,
        "year": day.year,
        "sequence": sequence,
        "number": format_number(kind, day.year, sequence),
        "order_id": order.id,
        "academy_code": order.academy_code,
        "credited_invoice_id": credited.id if credited is not None else None,
        "issued_at": now,
        "issued_on": day,
        "seller_name": vendor.legal_name,
        "seller_legal_form": vendor.legal_form,
        "seller_siret": vendor.siret,
        "seller_vat_number": vendor.vat_number,
        "seller_street": vendor.street,
        "seller_postcode": vendor.postcode,
        "seller_city": vendor.city,
        "mandate_accepted_on": dates.local_date(vendor.billing_mandate_accepted_at),
        "buyer_name": budget_office(academy),
        "teacher_name": order.teacher.name,
        "school_name": order.school.name,
        "school_city": order.school.city,
        "school_uai": order.school.uai,
        "total_excl_vat_cents": sum(line["total_excl_vat_cents"] for line in lines_values),
        "vat_cents": sum(line["vat_cents"] for line in lines_values),
        "total_incl_vat_cents": sum(line["total_incl_vat_cents"] for line in lines_values),
        "pdf_key": None,
    }
    # No unit of work: every checkout writes an invoice and its lines.
    [invoice] = insert_rows(db.session, Invoice, [values])
    for line_values in lines_values:
        line_values["invoice_id"] = invoice.id
    billed = insert_rows(db.session, InvoiceLine, lines_values)
    set_committed_value(invoice, "lines", billed)
    set_committed_value(invoice, "credited_invoice", credited)
    jobs.enqueue(RENDER, {"invoice": invoice.id}, key=f"invoice-pdf:{invoice.id}")
    return invoice


def issue_invoices(order: Order) -> list[Invoice]:
    """One invoice per vendor of a paid order, in the order's transaction. Vendors are taken
    in the order of their ids, so two orders never wait on each other's counters in a
    cycle."""
    by_vendor: dict[int, list[OrderLine]] = defaultdict(list)
    for line in order.lines:
        by_vendor[line.vendor_id].append(line)
    return [
        _issue(InvoiceKind.INVOICE, lines[0].vendor, order, lines)
        for _vendor_id, lines in sorted(by_vendor.items())
    ]


def invoice_of_line(line: OrderLine) -> Invoice:
    invoice = db.session.scalar(
        select(Invoice)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(Invoice.kind == InvoiceKind.INVOICE, InvoiceLine.order_line_id == line.id)
    )
    if invoice is None:
        raise NotFound(f"Aucune facture n'a été émise pour « {line.title} ».")
    return invoice


def issue_credit_note(line: OrderLine) -> Invoice:
    """The credit note of a cancelled line, referring to the invoice that billed it (the
    caller holds the line's row lock and cancels it once)."""
    invoice = invoice_of_line(line)
    return _issue(InvoiceKind.CREDIT_NOTE, line.vendor, line.order, [line], credited=invoice)


# --- the PDF ---------------------------------------------------------------------------


def vat_breakdown(invoice: Invoice) -> list[tuple[int, int, int]]:
    """(rate in basis points, total without VAT, VAT) for each rate of the invoice."""
    rates: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for line in invoice.lines:
        rates[line.vat_rate_bp][0] += line.total_excl_vat_cents
        rates[line.vat_rate_bp][1] += line.vat_cents
    return [(rate, base, vat) for rate, (base, vat) in sorted(rates.items(), reverse=True)]


def pdf_key(invoice: Invoice) -> str:
    """The stored Factur-X PDF of the invoice, rendered once and kept."""
    if invoice.pdf_key is None:
        from app.documents import services as documents

        pdf = documents.render_pdf(
            "invoices/invoice.html",
            pdf_variant=documents.ARCHIVAL_VARIANT,
            invoice=invoice,
            breakdown=vat_breakdown(invoice),
        )
        invoice.pdf_key = storage.save("invoices", cii.embed(pdf, invoice), "pdf")
    return invoice.pdf_key


def _describe(payload: dict[str, Any]) -> str:
    return str(gettext("PDF de la facture n° %(id)s", id=payload.get("invoice")))


@jobs.handler(RENDER, describe=_describe)
def render(payload: dict[str, Any]) -> None:
    invoice = db.session.get(Invoice, payload["invoice"])
    if invoice is not None:
        pdf_key(invoice)


# --- reading ---------------------------------------------------------------------------


def vendor_invoices(vendor_id: int, limit: int = 500) -> list[Invoice]:
    query = (
        select(Invoice)
        .where(Invoice.vendor_id == vendor_id)
        .options(selectinload(Invoice.credited_invoice))
        .order_by(Invoice.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def vendor_invoice(vendor_id: int, invoice_id: int) -> Invoice:
    """One of the vendor's invoices or credit notes; NotFound for any other's."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.vendor_id != vendor_id:
        raise NotFound("Facture introuvable.")
    return invoice


def academy_invoices(academy_code: str, since: date, until: date) -> Iterator[Invoice]:
    query = (
        select(Invoice)
        .where(
            Invoice.academy_code == academy_code,
            Invoice.issued_on >= since,
            Invoice.issued_on <= until,
        )
        .options(selectinload(Invoice.credited_invoice), selectinload(Invoice.order))
        .order_by(Invoice.issued_on, Invoice.id)
    )
    return iter(db.session.scalars(query))


def academy_rows(academy_code: str, since: date, until: date) -> Iterator[list[object]]:
    """The academy's invoices and credit notes as CSV rows (header first). Amounts are
    positive on both, as on the documents: the type says which way the money went (a
    leading minus sign would be written as text by the export's formula guard)."""
    yield [
        gettext("Type"),
        gettext("Numéro"),
        gettext("Date"),
        gettext("Éditeur"),
        gettext("SIRET de l'éditeur"),
        gettext("Facture d'origine"),
        gettext("Commande"),
        gettext("Établissement"),
        gettext("UAI"),
        gettext("Enseignant"),
        gettext("Total HT (€)"),
        gettext("TVA (€)"),
        gettext("Total TTC (€)"),
    ]
    for invoice in academy_invoices(academy_code, since, until):
        yield [
            invoice.kind.label,
            identifier(invoice.number),
            invoice.issued_on.isoformat(),
            invoice.seller_name,
            identifier(invoice.seller_siret),
            identifier(invoice.credited_invoice.number if invoice.credited_invoice else None),
            identifier(invoice.order.number),
            invoice.school_name,
            identifier(invoice.school_uai),
            invoice.teacher_name,
            _euros(invoice.total_excl_vat_cents),
            _euros(invoice.vat_cents),
            _euros(invoice.total_incl_vat_cents),
        ]


def _euros(cents: int) -> str:
    """1234 → "12,34" (a spreadsheet's number, with the French decimal comma)."""
    return f"{cents // 100},{cents % 100:02d}"
