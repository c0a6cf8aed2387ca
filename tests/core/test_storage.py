"""Files kept by the service: the same suite against the local directory and against
S3-compatible object storage (a moto server on 127.0.0.1), then a whole journey with
`STORAGE_URL` pointing at S3."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfReader
from sqlalchemy.orm import Session

from app import create_app
from app.core import storage
from app.core.errors import NotFound
from app.extensions import db
from app.orders.models import Order
from tests import factories
from tests.conftest import DATABASE_URL, AuthActions, RequestClient
from tests.orders.helpers import buy, give_credit, on_sale
from tests.products.helpers import form_data
from tests.s3 import S3Server

PDF = b"%PDF-1.7\n% un releve de test\n%%EOF\n"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), (0, 0, 145)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session", params=["file", "s3"])
def kept_storage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> storage.Storage:
    """Each implementation, opened once for the run (an S3 client takes a while to build)."""
    if request.param == "file":
        return storage.open_storage(tmp_path_factory.mktemp("kept").as_uri())
    server: S3Server = request.getfixturevalue("s3_server")
    return storage.open_storage(server.new_bucket())


@pytest.fixture
def kept(
    app: Flask, kept_storage: storage.Storage, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """For this test the app keeps its files in `kept_storage`."""
    monkeypatch.setitem(app.extensions, "storage", kept_storage)
    with app.app_context():
        yield


def test_a_file_is_kept_under_the_sha256_of_its_content(kept: None) -> None:
    key = storage.save("statements", PDF, "pdf")

    assert key == f"statements/{hashlib.sha256(PDF).hexdigest()}.pdf"
    assert storage.exists(key)
    assert storage.read(key) == PDF


def test_saving_the_same_bytes_twice_gives_the_same_key(kept: None) -> None:
    first = storage.save("logos", png(), "png")
    second = storage.save("logos", png(), "png")

    assert first == second
    assert storage.read(second) == png()


@pytest.mark.parametrize(
    "key",
    [
        "../../config.py",
        "logos/../../config.py",
        f"logos/{'A' * 64}.png",
        f"logos/{'0' * 63}.png",
        f"/logos/{'0' * 64}.png",
        f"logos/{'0' * 64}.png/x",
    ],
)
def test_a_malformed_key_is_not_found(kept: None, key: str) -> None:
    with pytest.raises(NotFound):
        storage.read(key)
    assert not storage.exists(key)


def test_a_missing_file_is_not_found(kept: None) -> None:
    key = f"receipts/{'0' * 64}.pdf"

    with pytest.raises(NotFound, match="Fichier introuvable"):
        storage.read(key)
    assert not storage.exists(key)


def test_a_deleted_file_is_gone_and_deleting_it_again_is_no_error(kept: None) -> None:
    key = storage.save("receipts", PDF + b"% a supprimer\n", "pdf")
    other = storage.save("receipts", PDF, "pdf")

    storage.delete(key)
    storage.delete(key)

    assert not storage.exists(key)
    with pytest.raises(NotFound):
        storage.read(key)
    assert storage.read(other) == PDF


def test_the_storage_is_ready(kept: None) -> None:
    storage.check()


def test_a_logo_is_served_over_http_with_its_type_and_a_long_cache(
    kept: None, client: FlaskClient
) -> None:
    key = storage.save("logos", png(), "png")

    response = client.get(f"/fichiers/{key}")

    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data == png()
    assert response.headers["ETag"] == f'"{hashlib.sha256(png()).hexdigest()}"'
    assert response.cache_control.max_age == 31_536_000
    assert (
        client.get(
            f"/fichiers/{key}", headers={"If-None-Match": response.headers["ETag"]}
        ).status_code
        == 304
    )


def test_a_missing_logo_is_404_over_http(kept: None, client: FlaskClient) -> None:
    assert client.get(f"/fichiers/logos/{'0' * 64}.png").status_code == 404


@pytest.fixture
def order(session: Session) -> Order:
    school = factories.SchoolFactory(name="Collège Jean Moulin", academy_code="01")
    teacher = factories.teacher(school, email="camille.durand@ac-paris.fr")
    give_credit(teacher, 100_00)
    order = buy(teacher, on_sale(title="Atlas des océans"))
    db.session.commit()
    return order


def test_a_receipt_is_served_over_http_as_a_named_pdf_download(
    kept: None, client: FlaskClient, auth: AuthActions, order: Order
) -> None:
    auth.login("camille.durand@ac-paris.fr")

    response = client.get(f"/mes-commandes/{order.id}/recu.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=recu-{order.number}.pdf"
    )
    assert response.cache_control.no_store  # personal: never kept by a browser or proxy
    db.session.refresh(order)
    assert order.receipt_key is not None
    assert storage.read(order.receipt_key) == response.data
    assert order.number in PdfReader(io.BytesIO(response.data)).pages[0].extract_text()


# --- which storage STORAGE_URL names, and when it is not ready ----------------------------


@pytest.mark.parametrize(
    "url",
    [
        "instance/storage",
        "file://instance/storage",
        "ftp://example.org/fichiers",
        "s3:///fichiers",
        "s3://bucket/fichiers?endpoint=http://127.0.0.1",
    ],
)
def test_an_unknown_storage_url_stops_the_app_from_starting(url: str) -> None:
    with pytest.raises(ValueError, match="STORAGE_URL"):
        create_app("test", STORAGE_URL=url)


def test_a_directory_that_cannot_be_created_is_not_ready(app: Flask, tmp_path: Path) -> None:
    blocker = tmp_path / "un-fichier"
    blocker.write_text("pas un dossier")
    local = storage.open_storage((blocker / "storage").as_uri())

    with pytest.raises(storage.StorageUnavailable, match="un-fichier"):
        local.check()


def test_a_missing_bucket_is_not_ready(s3_server: S3Server) -> None:
    url = f"s3://absent/fichiers?endpoint_url={s3_server.endpoint}&region=eu-west-3"

    with pytest.raises(storage.StorageUnavailable, match="s3://absent"):
        storage.open_storage(url).check()


# --- the whole journey on S3 ---------------------------------------------------------------


def test_with_storage_on_s3_a_vendor_uploads_a_logo_and_a_teacher_downloads_a_receipt(
    s3_server: S3Server, session: Session, order: Order
) -> None:
    url = s3_server.new_bucket(prefix="production")
    app = create_app("test", SQLALCHEMY_DATABASE_URI=DATABASE_URL, STORAGE_URL=url)
    app.test_client_class = RequestClient
    vendor = factories.VendorFactory(legal_name="Éditions Tangram SAS")
    vendor_email = factories.vendor_member(vendor).email
    db.session.commit()
    logo = png()

    vendor_client = app.test_client()
    AuthActions(vendor_client).login(vendor_email)
    created = vendor_client.post(
        f"/editeur/{vendor.id}/produits/nouveau",
        data=form_data(logo=(io.BytesIO(logo), "logo.png")),
        content_type="multipart/form-data",
    )
    teacher_client = app.test_client()
    AuthActions(teacher_client).login("camille.durand@ac-paris.fr")
    receipt = teacher_client.get(f"/mes-commandes/{order.id}/recu.pdf")

    assert created.status_code == 302
    assert receipt.status_code == 200
    assert receipt.data.startswith(b"%PDF")
    db.session.refresh(order)
    logo_key = f"logos/{hashlib.sha256(logo).hexdigest()}.png"
    assert s3_server.keys(url) == sorted(
        [f"production/{logo_key}", f"production/{order.receipt_key}"]
    )
    served = app.test_client().get(f"/fichiers/{logo_key}")
    assert (served.status_code, served.data) == (200, logo)
