"""A vendor's orders: only the lines of its own products (school, plan, quantity, amount,
status, nothing about the teacher), filters that combine, the CSV export, and no access for
other vendors."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from flask.testing import FlaskClient

from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order, OrderLineStatus
from app.orders.services import VendorOrderFilters
from app.products.models import Product
from tests import factories
from tests.conftest import AuthActions
from tests.orders.conftest import Shop
from tests.orders.helpers import buy, on_sale, teacher_with_credit, visible_text


@dataclass
class Market:
    """Two teachers of two schools buying from the shop's vendor and from a rival."""

    autumn: Order  # 1 October (Paris): the atlas and the rival's sky map
    winter: Order  # 2 October just after midnight (Paris): the atlas and the lab, lab cancelled
    rival_product: Product


@pytest.fixture
def market(shop: Shop) -> Market:
    rival = factories.VendorFactory(legal_name="Concurrents Réunis SAS")
    sky_map = on_sale(rival, title="Carte du ciel")
    other_school = factories.SchoolFactory(name="Lycée Victor Hugo", academy_code="01")
    colleague = teacher_with_credit(other_school, 100_00)
    autumn = buy(shop.teacher, shop.atlas, sky_map)
    winter = buy(colleague, shop.atlas, shop.lab)
    orders.cancel_line(colleague, winter.lines[1].id)
    autumn.created_at = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    winter.created_at = datetime(2026, 10, 1, 22, 30, tzinfo=UTC)  # 2 October, 00:30 in Paris
    db.session.commit()
    return Market(autumn, winter, sky_map)


@pytest.fixture
def vendor_client(
    client: FlaskClient, auth: AuthActions, shop: Shop, market: Market
) -> FlaskClient:
    member = factories.vendor_member(shop.vendor)
    db.session.commit()
    auth.login(member.email)
    return client


def _rows(shop: Shop, **filters: object) -> list[tuple[str, str]]:
    found = orders.vendor_order_lines(shop.vendor.id, VendorOrderFilters(**filters))  # type: ignore[arg-type]
    return [(order.number, line.title) for line, order, _uai, _status in found]


def test_the_vendor_sees_only_the_lines_of_its_products(shop: Shop, market: Market) -> None:
    autumn, winter = market.autumn.number, market.winter.number
    assert _rows(shop) == [
        (winter, "Atlas des océans"),
        (winter, "Laboratoire de chimie"),
        (autumn, "Atlas des océans"),
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"since": date(2026, 10, 2)}, ["winter-atlas", "winter-lab"]),
        ({"until": date(2026, 10, 1)}, ["autumn-atlas"]),
        ({"since": date(2026, 10, 1), "until": date(2026, 10, 1)}, ["autumn-atlas"]),
        ({"product": "atlas"}, ["winter-atlas", "autumn-atlas"]),
        ({"product": "atlas", "since": date(2026, 10, 2)}, ["winter-atlas"]),
        ({"status": OrderLineStatus.CANCELLED}, ["winter-lab"]),
        ({"status": OrderLineStatus.PAID, "product": "lab"}, []),
        ({"status": OrderLineStatus.PAID, "until": date(2026, 10, 1)}, ["autumn-atlas"]),
    ],
)
def test_the_filters_combine(
    shop: Shop, market: Market, filters: dict[str, object], expected: list[str]
) -> None:
    if "product" in filters:
        filters["product_id"] = getattr(shop, str(filters.pop("product"))).id
    names = {
        (market.autumn.number, "Atlas des océans"): "autumn-atlas",
        (market.winter.number, "Atlas des océans"): "winter-atlas",
        (market.winter.number, "Laboratoire de chimie"): "winter-lab",
    }
    assert [names[row] for row in _rows(shop, **filters)] == expected


def test_the_orders_page_shows_school_plan_quantity_amount_and_status(
    vendor_client: FlaskClient, shop: Shop, market: Market
) -> None:
    response = vendor_client.get(f"/editeur/{shop.vendor.id}/commandes")

    assert response.status_code == 200
    page = visible_text(response)
    winter_uai = market.winter.school.uai
    assert (
        f"{winter_uai} Laboratoire de chimie Licence classe 25 60,00 € Annulée · licence retirée"
    ) in page
    # No number of pupils but for a class licence; each status in its own words, once.
    delivering = "Payée · licence en cours de livraison"
    assert f"{winter_uai} Atlas des océans Licence établissement 40,00 € {delivering}" in page
    assert f"{shop.school.uai} Atlas des océans Licence établissement 40,00 € {delivering}" in page
    assert "Carte du ciel" not in page
    assert "Camille Durand" not in page
    assert "camille.durand" not in page


def test_the_page_filters_combine(vendor_client: FlaskClient, shop: Shop, market: Market) -> None:
    query = f"produit={shop.atlas.id}&du=2026-10-02&statut=paid"
    page = visible_text(vendor_client.get(f"/editeur/{shop.vendor.id}/commandes?{query}"))

    assert market.winter.number in page
    assert market.autumn.number not in page
    assert "Laboratoire de chimie 25" not in page


def test_the_orders_page_shows_the_licence_status_in_french(
    vendor_client: FlaskClient, shop: Shop, market: Market
) -> None:
    page = visible_text(vendor_client.get(f"/editeur/{shop.vendor.id}/commandes"))

    assert "pending" not in page
    assert "licence en cours de livraison" in page


def _csv(response: object) -> list[list[str]]:
    data = response.data  # type: ignore[attr-defined]
    assert data.startswith("\ufeff".encode())  # a BOM, so that Excel reads UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_the_csv_export_has_only_the_vendors_lines(
    vendor_client: FlaskClient, shop: Shop, market: Market
) -> None:
    response = vendor_client.get(f"/editeur/{shop.vendor.id}/commandes?format=csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    header, *rows = _csv(response)
    assert header == [
        "Commande",
        "Date",
        "UAI",
        "Produit",
        "Offre",
        "Élèves",
        "Montant TTC (€)",
        "Statut",
        "Licence",
    ]
    winter, autumn = market.winter.number, market.autumn.number
    # The UAI kept as text by the spreadsheet; plans and statuses in words.
    winter_uai, autumn_uai = market.winter.school.uai, shop.school.uai
    school, pending = "Licence établissement", "En cours de livraison"
    assert [row[:1] + row[2:] for row in rows] == [
        [winter, winter_uai, "Atlas des océans", school, "", "40,00", "Payée", pending],
        [
            winter,
            winter_uai,
            "Laboratoire de chimie",
            "Licence classe",
            "25",
            "60,00",
            "Annulée",
            "Annulée",
        ],
        [autumn, autumn_uai, "Atlas des océans", school, "", "40,00", "Payée", pending],
    ]
    assert rows[2][1] == "2026-10-01"
    assert "Carte du ciel" not in response.get_data(as_text=True)


def test_the_csv_export_is_in_english_in_the_english_interface(
    vendor_client: FlaskClient, shop: Shop, market: Market
) -> None:
    vendor_client.get("/langue/en")

    response = vendor_client.get(f"/editeur/{shop.vendor.id}/commandes?format=csv")

    header, *rows = _csv(response)
    assert header[:5] == ["Order", "Date", "UAI", "Product", "Offer"]
    assert [row[4] for row in rows] == ["School licence", "Class licence", "School licence"]
    assert [row[7:] for row in rows] == [
        ["Paid", "Being delivered"],
        ["Cancelled", "Cancelled"],
        ["Paid", "Being delivered"],
    ]


def test_the_csv_export_follows_the_filters(
    vendor_client: FlaskClient, shop: Shop, market: Market
) -> None:
    response = vendor_client.get(f"/editeur/{shop.vendor.id}/commandes?format=csv&statut=cancelled")

    _header, *rows = _csv(response)
    assert [(row[0], row[3]) for row in rows] == [(market.winter.number, "Laboratoire de chimie")]


def test_the_csv_date_is_the_paris_date_the_filters_use(
    vendor_client: FlaskClient, shop: Shop, market: Market
) -> None:
    response = vendor_client.get(f"/editeur/{shop.vendor.id}/commandes?format=csv&du=2026-10-02")

    _header, *rows = _csv(response)
    assert {row[1] for row in rows} == {"2026-10-02"}


def test_another_vendors_member_is_forbidden(
    client: FlaskClient, auth: AuthActions, shop: Shop, market: Market
) -> None:
    rival_member = factories.vendor_member(market.rival_product.vendor)
    db.session.commit()
    auth.login(rival_member.email)

    assert client.get(f"/editeur/{shop.vendor.id}/commandes").status_code == 403
    assert client.get(f"/editeur/{shop.vendor.id}/commandes?format=csv").status_code == 403
    own = client.get(f"/editeur/{market.rival_product.vendor_id}/commandes")
    assert own.status_code == 200
    assert "Carte du ciel" in visible_text(own)
    assert "Atlas des océans" not in visible_text(own)
