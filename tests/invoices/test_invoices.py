"""Every sale gets an invoice in the vendor's name (autofacturation), with the mentions the
French law requires, as a Factur-X PDF whose XML the `factur-x` library checks; a
cancellation gets a credit note referring to the invoice; vendors download theirs only;
academies export theirs."""

from __future__ import annotations

import csv
import io

import facturx
import pikepdf
import pytest
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select

from app.accounts.models import Role
from app.core import dates, jobs, storage
from app.extensions import db
from app.invoices import cii
from app.invoices import services as invoices
from app.invoices.models import Invoice, InvoiceKind
from app.orders import services as orders
from app.orders.models import Order
from app.products.models import PlanKind
from app.vendors import services as vendors
from app.vendors.models import VendorStatus
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import pdf_text
from tests.orders.conftest import Shop
from tests.orders.helpers import buy, give_credit, on_sale

YEAR = dates.today().year
RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"
RSM = "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}"


def invoices_of(order: Order) -> list[Invoice]:
    query = select(Invoice).where(Invoice.order_id == order.id).order_by(Invoice.id)
    return list(db.session.scalars(query))


def run_jobs() -> None:
    while (job_id := jobs.claim()) is not None:
        jobs.run(job_id)


@pytest.fixture
def two_vendor_order(shop: Shop) -> Order:
    """The shop's teacher buys the atlas (40 €, VAT 20 %) and the lab for a class (60 €,
    VAT 5,5 %) from the shop's vendor, and a school plan at 40 € from another vendor (with
    100 € more of credit)."""
    other = factories.VendorFactory(legal_name="Numérique Éducatif SARL", legal_form="SARL")
    globe = on_sale(other, title="Globe interactif")
    give_credit(shop.teacher, 100_00)
    return buy(shop.teacher, shop.atlas, shop.lab, globe)


def test_each_vendor_of_an_order_gets_its_own_invoice_numbered_from_one(
    shop: Shop, two_vendor_order: Order
) -> None:
    sea, other = invoices_of(two_vendor_order)

    assert sea.vendor_id == shop.vendor.id
    assert (sea.kind, sea.number) == (InvoiceKind.INVOICE, f"F-{YEAR}-000001")
    assert [line.title for line in sea.lines] == ["Atlas des océans", "Laboratoire de chimie"]
    assert (sea.total_excl_vat_cents, sea.vat_cents, sea.total_incl_vat_cents) == (
        33_33 + 56_87,
        6_67 + 3_13,
        100_00,
    )
    assert other.number == f"F-{YEAR}-000001"  # each vendor has its own sequence
    assert [line.title for line in other.lines] == ["Globe interactif"]
    assert sum(i.total_incl_vat_cents for i in (sea, other)) == two_vendor_order.total_cents

    second = buy(shop.teacher, on_sale(shop.vendor, title="Carte du ciel"))
    assert [i.number for i in invoices_of(second)] == [f"F-{YEAR}-000002"]


def test_the_invoice_carries_every_mention_french_law_requires(
    shop: Shop, two_vendor_order: Order
) -> None:
    invoice = invoices_of(two_vendor_order)[0]
    vendor = shop.vendor
    vendor.street, vendor.postcode, vendor.city = "12 quai de la Mer", "29200", "Brest"
    # The seller's identity is the one it had when the invoice was issued: it is kept.
    assert invoice.seller_name == "Éditions de la Mer SAS"

    text = pdf_text(_pdf(invoice)).replace("\u202f", " ").replace("\u00a0", " ")

    for mention in [
        f"Facture n° F-{YEAR}-000001",
        "Autofacturation",
        "au nom et pour le compte de Éditions de la Mer SAS",
        "mandat de facturation accepté le",
        "Éditions de la Mer SAS",
        "Forme juridique : SAS",
        f"SIREN : {vendor.siret[:9]}",
        f"SIRET : {vendor.siret}",
        f"N° de TVA intracommunautaire : {vendor.vat_number}",
        "Rectorat de l'académie de Paris — service budgétaire",
        "pour le compte de Camille Durand",
        f"UAI {shop.school.uai}",
        f"Date d’émission : {invoice.issued_on:%d/%m/%Y}",
        "Prix unitaire HT",
        "Atlas des océans",
        "1 33,33 € 20,0 % 6,67 € 33,33 € 40,00 €",  # qty, unit HT, rate, VAT, HT, TTC
        "1 56,87 € 5,5 % 3,13 € 56,87 € 60,00 €",
        "Total HT 90,20 €",
        "Total TVA 9,80 €",
        "Total TTC 100,00 €",
        "Facture acquittée",
    ]:
        assert mention in text, mention


def _pdf(invoice: Invoice) -> bytes:
    return storage.read(invoices.pdf_key(invoice))


def test_the_pdf_is_factur_x_with_its_en16931_xml_checked_by_the_library(
    two_vendor_order: Order,
) -> None:
    invoice = invoices_of(two_vendor_order)[0]
    run_jobs()  # the PDF is rendered by the job queued at checkout
    db.session.refresh(invoice)
    assert invoice.pdf_key is not None

    filename, xml = facturx.get_xml_from_pdf(_pdf(invoice), check_xsd=False)

    assert filename == "factur-x.xml"
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    root = etree.fromstring(xml)
    assert facturx.get_level(root) == "en16931"
    assert root.findtext(f"{RSM}ExchangedDocument/{RAM}ID") == invoice.number
    assert root.findtext(f"{RSM}ExchangedDocument/{RAM}TypeCode") == "380"
    seller = root.find(f".//{RAM}SellerTradeParty")
    assert seller is not None
    assert seller.findtext(f"{RAM}Name") == "Éditions de la Mer SAS"
    assert seller.findtext(f"{RAM}SpecifiedLegalOrganization/{RAM}ID") == invoice.seller_siret
    notes = [n.findtext(f"{RAM}Content") for n in root.iter(f"{RAM}IncludedNote")]
    assert "Autofacturation" in notes
    assert root.findtext(f".//{RAM}GrandTotalAmount") == "100.00"
    assert root.findtext(f".//{RAM}DuePayableAmount") == "0.00"
    rates = sorted(e.text for e in root.iter(f"{RAM}RateApplicablePercent"))
    assert rates == ["20.00", "20.00", "5.50", "5.50"]  # two lines and two breakdowns

    with pikepdf.open(io.BytesIO(_pdf(invoice))) as document:  # PDF/A-3, tagged
        with document.open_metadata() as xmp:
            assert xmp.get("pdfaid:part") == "3"
        assert "/StructTreeRoot" in document.Root
        (intent,) = document.Root.OutputIntents  # the colour profile PDF/A demands
        assert intent.S == "/GTS_PDFA1"
        assert str(document.Root.Lang) == "fr-FR"


def test_a_cancelled_line_gets_a_credit_note_referring_to_its_invoice(
    shop: Shop, two_vendor_order: Order
) -> None:
    invoice = invoices_of(two_vendor_order)[0]
    atlas_line = next(line for line in two_vendor_order.lines if line.title == "Atlas des océans")

    orders.cancel_line(shop.teacher, atlas_line.id)
    orders.cancel_line(shop.teacher, atlas_line.id)  # a second click changes nothing
    db.session.commit()

    notes = [i for i in invoices_of(two_vendor_order) if i.kind is InvoiceKind.CREDIT_NOTE]
    assert len(notes) == 1
    note = notes[0]
    assert note.number == f"A-{YEAR}-000001"
    assert note.credited_invoice_id == invoice.id
    assert [line.title for line in note.lines] == ["Atlas des océans"]
    assert note.total_incl_vat_cents == 40_00
    text = pdf_text(_pdf(note))
    assert f"Avoir n° A-{YEAR}-000001" in text
    assert f"se rapportant à la facture n° F-{YEAR}-000001" in text
    xml = cii.xml(note)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    root = etree.fromstring(xml)
    assert root.findtext(f"{RSM}ExchangedDocument/{RAM}TypeCode") == "381"
    assert root.findtext(f".//{RAM}InvoiceReferencedDocument/{RAM}IssuerAssignedID") == (
        invoice.number
    )


def test_vendors_list_and_download_their_own_invoices_only(
    client: FlaskClient, auth: AuthActions, shop: Shop, two_vendor_order: Order
) -> None:
    sea_invoice, other_invoice = invoices_of(two_vendor_order)
    member = factories.vendor_member(shop.vendor)
    db.session.commit()
    auth.login(member.email)
    base = f"/editeur/{shop.vendor.id}/factures"

    page = client.get(base)
    download = client.get(f"{base}/{sea_invoice.id}.pdf")
    someone_elses = client.get(f"{base}/{other_invoice.id}.pdf")
    other_space = client.get(f"/editeur/{other_invoice.vendor_id}/factures/{other_invoice.id}.pdf")

    assert page.status_code == 200
    assert f"F-{YEAR}-000001" in page.get_data(as_text=True)
    assert f"/factures/{sea_invoice.id}.pdf" in page.get_data(as_text=True)
    assert f"/factures/{other_invoice.id}.pdf" not in page.get_data(as_text=True)
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert f"F-{YEAR}-000001.pdf" in download.headers["Content-Disposition"]
    assert someone_elses.status_code == 404
    assert other_space.status_code == 403


def test_the_academy_exports_its_invoices_and_credit_notes(
    client: FlaskClient, auth: AuthActions, shop: Shop, two_vendor_order: Order
) -> None:
    line = two_vendor_order.lines[0]
    orders.cancel_line(shop.teacher, line.id)
    elsewhere = factories.SchoolFactory(academy_code="02")
    lyon_teacher = factories.teacher(elsewhere)
    give_credit(lyon_teacher, 100_00)
    buy(lyon_teacher, on_sale(shop.vendor, title="Hors académie"))
    manager = factories.academy_manager("01")
    db.session.commit()
    auth.login(manager.email)

    response = client.get("/academies/01/exports/factures.csv", buffered=True)

    assert response.status_code == 200
    rows = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    assert rows[0] == [
        "Type", "Numéro", "Date", "Éditeur", "SIRET de l'éditeur", "Facture d'origine",
        "Commande", "Établissement", "UAI", "Enseignant", "Total HT (€)", "TVA (€)",
        "Total TTC (€)",
    ]  # fmt: skip
    body = rows[1:]
    assert [(row[0], row[1], row[5], row[12]) for row in body] == [
        ("Facture", f"F-{YEAR}-000001", "", "100,00"),
        ("Facture", f"F-{YEAR}-000001", "", "40,00"),
        ("Avoir", f"A-{YEAR}-000001", f"F-{YEAR}-000001", "40,00"),
    ]
    assert (body[0][4], body[0][6], body[0][8]) == (
        shop.vendor.siret,
        two_vendor_order.number,
        shop.school.uai,
    )
    # Identifiers are quoted, which spreadsheets honour to keep them as text.
    assert f'"{shop.vendor.siret}"' in response.get_data(as_text=True)


def test_approving_a_vendor_starts_its_billing_mandate(shop: Shop) -> None:
    vendor = factories.VendorFactory(status=VendorStatus.PENDING, billing_mandate_accepted_at=None)
    admin = factories.with_role(Role.ADMIN)

    vendors.approve(admin, vendor)

    assert vendor.billing_mandate_accepted_at is not None


def test_a_vendor_without_mandate_gets_no_invoice_and_the_sale_is_refused(shop: Shop) -> None:
    shop.vendor.billing_mandate_accepted_at = None
    orders.add_to_cart(shop.teacher, shop.atlas.id, PlanKind.SCHOOL)

    with pytest.raises(invoices.NoBillingMandate):
        orders.checkout(shop.teacher, "no-mandate")
