"""Screenshots of a product version: up to five, each with its alternative text, checked
as logos are, removable while the version is a draft, copied to a new version, shown on
the product page."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.extensions import db
from app.products import services
from app.products.models import Product, Screenshot, VersionStatus
from app.vendors.models import Vendor
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text
from tests.products.test_product_form import decompression_bomb, field_in_error, image


@pytest.fixture
def draft(vendor: Vendor, auth: AuthActions) -> Product:
    """A draft of `vendor`, and a member of it logged in (the login commits the draft, so
    a refused upload, which rolls back, keeps it)."""
    product = factories.product(vendor, state="draft")
    auth.login(factories.vendor_member(vendor).email)
    return product


def add(
    client: FlaskClient, product: Product, data: bytes | None, alt: str, name: str = "capture.png"
) -> Any:
    upload = (io.BytesIO(data or b""), name if data is not None else "")
    return client.post(
        f"/editeur/{product.vendor_id}/produits/{product.id}/captures",
        data={"screenshot": upload, "alt_text": alt},
        content_type="multipart/form-data",
    )


def shots(product: Product) -> list[Screenshot]:
    query = (
        select(Screenshot)
        .where(Screenshot.version_id == product.latest.id)
        .order_by(Screenshot.position)
    )
    return list(db.session.scalars(query))


def test_a_screenshot_is_stored_under_its_hash_served_and_listed_with_its_text(
    client: FlaskClient, draft: Product
) -> None:
    png = image("PNG", (800, 500))

    response = add(client, draft, png, "  L’écran d’un exercice : un tangram à compléter  ")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/produits/{draft.id}#captures")
    [shot] = shots(draft)
    assert shot.key == f"screenshots/{hashlib.sha256(png).hexdigest()}.png"
    assert (shot.position, shot.alt_text) == (1, "L’écran d’un exercice : un tangram à compléter")
    served = client.get(f"/fichiers/{shot.key}")
    assert (served.status_code, served.mimetype, served.data) == (200, "image/png", png)
    text = page_text(client.get(f"/editeur/{draft.vendor_id}/produits/{draft.id}"))
    assert 'alt="L’écran d’un exercice : un tangram à compléter"' in text
    assert "1 capture sur 5 possibles." in text
    assert "Au plus 4\u202f000 × 4\u202f000 pixels." in text


@pytest.mark.parametrize(
    ("upload", "alt", "field", "reason"),
    [
        (
            lambda: b"\x89PNG" + b"0" * (2 * 1024 * 1024 + 1),
            "Un écran",
            "screenshot",
            "La capture d'écran dépasse 2 Mo.",
        ),
        (lambda: b"Ceci n'est pas une image.", "Un écran", "screenshot", "image illisible"),
        (lambda: image("GIF"), "Un écran", "screenshot", "PNG, JPEG ou WebP."),
        (
            lambda: decompression_bomb(30_000, 30_000),
            "Un écran",
            "screenshot",
            "La capture d’écran est trop grande : 30\u202f000 × 30\u202f000 pixels ; "
            "au plus 4\u202f000 × 4\u202f000.",
        ),
        (lambda: image("PNG"), "   ", "alt_text", "décrivez ce que montre la capture"),
        (lambda: image("PNG"), "x" * 251, "alt_text", "250 caractères au plus"),
        (lambda: None, "Un écran", "screenshot", "choisissez un fichier"),
    ],
    ids=["too-big", "not-an-image", "gif", "bomb", "no-alt-text", "alt-too-long", "no-file"],
)
def test_a_bad_screenshot_is_refused_with_the_field_named_and_nothing_written(
    client: FlaskClient,
    draft: Product,
    upload: Any,
    alt: str,
    field: str,
    reason: str,
) -> None:
    response = add(client, draft, upload(), alt)

    assert response.status_code == 422
    text = page_text(response)
    assert reason in text
    assert field_in_error(text, field)
    assert shots(draft) == []


def test_a_bomb_is_refused_before_decoding_though_light(
    client: FlaskClient, draft: Product
) -> None:
    bomb = decompression_bomb(30_000, 30_000)
    assert len(bomb) < 2 * 1024 * 1024  # under the weight limit: only the pixel count stops it

    assert add(client, draft, bomb, "Un écran").status_code == 422


def test_a_sixth_screenshot_is_refused_and_a_removed_one_frees_its_place(
    client: FlaskClient, draft: Product
) -> None:
    for n in range(5):
        assert add(client, draft, image("PNG", (100 + n, 100)), f"Écran {n + 1}").status_code == 302

    refused = add(client, draft, image("PNG", (200, 100)), "Écran 6")

    assert refused.status_code == 422
    text = page_text(refused)
    assert "Une version montre 5 captures d'écran au plus : supprimez-en une" in text
    assert field_in_error(text, "screenshot")
    assert [shot.alt_text for shot in shots(draft)] == [f"Écran {n}" for n in range(1, 6)]

    second = shots(draft)[1]
    removed = client.post(
        f"/editeur/{draft.vendor_id}/produits/{draft.id}/captures/{second.id}/supprimer"
    )
    assert removed.status_code == 302
    assert add(client, draft, image("PNG", (200, 100)), "Écran 6").status_code == 302
    assert [(s.position, s.alt_text) for s in shots(draft)] == [
        (1, "Écran 1"),
        (2, "Écran 6"),
        (3, "Écran 3"),
        (4, "Écran 4"),
        (5, "Écran 5"),
    ]


def test_screenshots_of_a_version_under_review_cannot_change(
    client: FlaskClient, vendor: Vendor, auth: AuthActions
) -> None:
    product = factories.product(vendor, state="in_review")
    auth.login(factories.vendor_member(vendor).email)

    response = add(client, product, image("PNG"), "Un écran")

    assert response.status_code == 409
    assert shots(product) == []


def test_another_vendors_product_is_not_found(
    client: FlaskClient, vendor: Vendor, auth: AuthActions
) -> None:
    other = factories.product(factories.VendorFactory(), state="draft")
    auth.login(factories.vendor_member(vendor).email)

    response = client.post(
        f"/editeur/{vendor.id}/produits/{other.id}/captures",
        data={"screenshot": (io.BytesIO(image("PNG")), "capture.png"), "alt_text": "Un écran"},
        content_type="multipart/form-data",
    )

    assert response.status_code == 404
    assert shots(other) == []


def test_a_new_version_starts_with_the_screenshots_of_the_last_one(
    vendor: Vendor, vendor_user: User
) -> None:
    product = factories.product(vendor, state="draft")
    services.add_screenshot(vendor_user, product.latest, image("PNG"), "Un écran", 2**20)
    services.add_screenshot(vendor_user, product.latest, image("JPEG"), "Un autre", 2**20)
    first = product.latest
    first.status = VersionStatus.APPROVED  # closed: a new version may start
    db.session.flush()

    second = services.new_version(vendor_user, product)

    assert second.id != first.id
    assert [(s.position, s.key, s.alt_text) for s in second.screenshots] == [
        (s.position, s.key, s.alt_text) for s in first.screenshots
    ]
    services.remove_screenshot(vendor_user, second, second.screenshots[0].id)
    db.session.refresh(first)
    assert len(first.screenshots) == 2  # the approved version keeps its own


@pytest.mark.parametrize(
    ("position", "alt_text"), [(6, "Un écran"), (0, "Un écran"), (1, "  ")], ids=str
)
def test_the_database_refuses_a_screenshot_out_of_place_or_without_text(
    draft: Product, position: int, alt_text: str
) -> None:
    db.session.add(
        Screenshot(version_id=draft.latest.id, position=position, key="k", alt_text=alt_text)
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_two_screenshots_cannot_take_the_same_place(draft: Product) -> None:
    for _ in range(2):
        db.session.add(
            Screenshot(version_id=draft.latest.id, position=1, key="k", alt_text="Un écran")
        )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count(Screenshot.id))) == 0
