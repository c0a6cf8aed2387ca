"""The vendor's invoices and credit notes (list, Factur-X download) and the academy's
export of the invoices issued for its teachers' purchases."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, render_template, stream_with_context
from flask.typing import ResponseReturnValue

from app.accounts.models import Role
from app.budgets import services as budgets
from app.core import args, dates, exports, storage
from app.core.auth import role_required
from app.extensions import db
from app.invoices import services
from app.vendors import services as vendors

blueprint = Blueprint("invoices", __name__, template_folder="templates")


@blueprint.get("/editeur/<int:vendor_id>/factures")
@role_required(Role.VENDOR, scope="vendor_id")
def vendor_invoices(vendor_id: int) -> ResponseReturnValue:
    vendor = vendors.get_vendor(vendor_id)
    invoices = services.vendor_invoices(vendor_id)
    return render_template("invoices/vendor_invoices.html", vendor=vendor, invoices=invoices)


@blueprint.get("/editeur/<int:vendor_id>/factures/<int:invoice_id>.pdf")
@role_required(Role.VENDOR, scope="vendor_id")
def download(vendor_id: int, invoice_id: int) -> ResponseReturnValue:
    invoice = services.vendor_invoice(vendor_id, invoice_id)
    key = services.pdf_key(invoice)
    db.session.commit()
    return storage.send(key, download_name=f"{invoice.number}.pdf")


@blueprint.get("/academies/<academy_code>/exports/factures.csv")
@role_required(Role.ACADEMY_MANAGER, scope="academy_code")
def academy_export(academy_code: str) -> ResponseReturnValue:
    """The invoices and credit notes issued for the academy's purchases in a period (the
    current school year by default), for a French spreadsheet."""
    academy = budgets.get_academy(academy_code)
    year = budgets.school_year_code(dates.today())
    since = args.day("du") or date(int(year[:4]), 9, 1)
    until = args.day("au") or date(int(year[-4:]), 8, 31)
    rows = services.academy_rows(academy.code, since, until)
    filename = f"factures-{academy.code}-{since}-{until}.csv"
    return Response(
        stream_with_context(exports.lines(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )
