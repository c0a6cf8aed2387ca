"""The vendor creates a product through the form: what is stored, what is refused, the logo."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from typing import Any

import pytest
from babel.dates import format_date
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from app.accounts.models import User
from app.core import audit, dates
from app.core.audit import AuditEvent
from app.extensions import db
from app.products.models import Channel, PlanKind, Product, VersionStatus
from app.vendors.models import Vendor
from catalog import conduct
from tests import factories
from tests.helpers import page_text
from tests.products.helpers import form_data, product_count


def new_product_url(vendor: Vendor) -> str:
    return f"/editeur/{vendor.id}/produits/nouveau"


def post_product(client: FlaskClient, vendor: Vendor, **overrides: Any) -> Any:
    return client.post(
        new_product_url(vendor), data=form_data(**overrides), content_type="multipart/form-data"
    )


def only_product(vendor: Vendor) -> Product:
    return db.session.scalars(select(Product).where(Product.vendor_id == vendor.id)).one()


def field_in_error(text: str, field_id: str) -> bool:
    """Whether the page shows an error on that field (under an input, or on a fieldset)."""
    return (
        f'id="{field_id}-errors"' in text
        or f'class="fr-fieldset fr-fieldset--error" id="{field_id}"' in text
    )


def product_events() -> int:
    query = select(func.count(AuditEvent.id)).where(AuditEvent.object_type == "product")
    return db.session.scalar(query) or 0


def decompression_bomb(width: int, height: int) -> bytes:
    """A real PNG of `width` × `height` black-and-white pixels, all white: a small file
    (rows of zeros compress a thousandfold) that would take gigabytes once decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit per pixel, grey
    compressor = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte "none", then the pixels
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def image(image_format: str, size: tuple[int, int] = (64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (0, 99, 203)).save(buffer, format=image_format)
    return buffer.getvalue()


# --- creating a product ------------------------------------------------------------------------


def test_a_new_product_starts_with_an_empty_declaration_not_another_companys(
    client: FlaskClient, vendor: Vendor, vendor_user: User
) -> None:
    other = factories.VendorFactory(legal_name="Éditions Lumière SAS")
    factories.product(other, state="draft")  # another company's declaration is no model
    response = client.get(new_product_url(vendor))
    assert response.status_code == 200
    text = page_text(response)
    for name in (
        "title",
        "plans-teacher-price",
        "plans-class-max_pupils",
        "declaration-hosting-0-country",
    ):
        assert f'name="{name}"' in text
    for foreign in ("OVHcloud", "Brevo", "lumiere.fr", "ISO 27001", "Prérempli"):
        assert foreign not in text
    assert 'name="declaration-advertising" type="radio" value="non" checked' not in text
    assert "checked" not in text.split('id="declaration-legend"')[1]  # nothing answered


def test_a_new_declaration_starts_from_the_vendors_own_previous_one_clearly_marked(
    client: FlaskClient, vendor: Vendor, vendor_user: User
) -> None:
    own = {
        **conduct.sample_declaration(),
        "hosting": [{"country": "FR", "provider": "Scaleway"}],
        "dpo_contact": "dpo@tangram.example",
        "certifications": ["HDS"],
    }
    del own["company"]
    factories.product(vendor, state="in_review", title="Tangram des premiers pas", declaration=own)

    text = page_text(client.get(new_product_url(vendor)))

    assert 'value="Scaleway"' in text
    assert 'value="dpo@tangram.example"' in text
    assert "HDS" in text
    assert "OVHcloud" not in text
    today = format_date(dates.today(), "long", locale="fr")
    assert (
        f"Prérempli à partir de la déclaration de « Tangram des premiers pas » du {today} : "
        "vérifiez chaque réponse." in text
    )


def test_a_vendor_creates_a_draft_through_the_form(
    client: FlaskClient, vendor: Vendor, vendor_user: User
) -> None:
    response = post_product(
        client,
        vendor,
        **{
            "plans-class-offered": "y",
            "plans-class-price": "149",
            "plans-class-max_pupils": "35",
        },
    )

    product = only_product(vendor)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/editeur/{vendor.id}/produits/{product.id}"
    version = product.latest
    assert version.number == 1
    assert version.status is VersionStatus.DRAFT
    assert not version.listed
    assert version.title == "Tangram géométrique"
    assert version.discipline_codes == ["mathematiques"]
    assert version.level_codes == ["cycle_3"]
    assert version.resource_type == "jeu_serieux"
    assert version.channel is Channel.CODES
    teacher, klass = version.plan(PlanKind.TEACHER), version.plan(PlanKind.CLASS)
    assert teacher is not None
    assert klass is not None
    assert (teacher.price_cents, teacher.vat_rate_bp, teacher.max_pupils) == (24_90, 550, None)
    assert (klass.price_cents, klass.vat_rate_bp, klass.max_pupils) == (149_00, 2000, 35)
    assert version.plan(PlanKind.SCHOOL) is None
    assert version.price_from_cents == 24_90
    assert version.declaration["hosting"] == [{"country": "FR", "provider": "OVHcloud"}]
    assert version.declaration["purposes"] == [
        "Fournir le service",
        "Suivre la progression de la classe",
    ]
    assert version.declaration["advertising"] is False
    assert version.declaration["gar_access"] is True
    assert version.declaration["retention_days"] == 90
    [event] = audit.history("product", product.id)
    assert (event.action, event.actor_id) == ("product.created", vendor_user.id)

    page = page_text(client.get(response.headers["Location"]))
    assert "Brouillon enregistré." in page
    assert "Tangram géométrique" in page


def test_a_draft_is_edited_through_the_same_form(
    client: FlaskClient, vendor: Vendor, vendor_user: User
) -> None:
    post_product(client, vendor)
    product = only_product(vendor)

    form = page_text(client.get(f"/editeur/{vendor.id}/produits/{product.id}/modifier"))
    assert 'value="24,90"' in form  # pre-filled from the draft
    response = client.post(
        f"/editeur/{vendor.id}/produits/{product.id}/modifier",
        data=form_data(title="Tangram et symétries", **{"plans-teacher-price": "19,90"}),
    )

    assert response.status_code == 302
    db.session.refresh(product.latest)
    assert product.latest.number == 1
    assert product.latest.title == "Tangram et symétries"
    assert product.latest.price_from_cents == 19_90
    assert [e.action for e in audit.history("product", product.id)] == [
        "product.created",
        "version.edited",
    ]


def test_a_member_of_another_vendor_cannot_create_a_product_here(
    client: FlaskClient, vendor: Vendor, vendor_user: User
) -> None:
    other = factories.VendorFactory()
    assert post_product(client, other).status_code == 403
    assert product_count() == 0


# --- bad inputs: 422, the field named, nothing written ------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field_id", "reason"),
    [
        ({"plans-teacher-price": "abc"}, "plans-teacher-price", "« abc » n'est pas un montant"),
        ({"plans-teacher-price": "0"}, "plans-teacher-price", "strictement positif"),
        (
            {"plans-class-offered": "y", "plans-class-price": "99"},
            "plans-class-max_pupils",
            "indiquez le nombre d'élèves",
        ),
        ({"disciplines": ["alchimie"]}, "disciplines", "alchimie"),
    ],
    ids=["price-abc", "price-zero", "class-plan-without-max-pupils", "unknown-discipline"],
)
def test_what_a_draft_cannot_hold_is_refused_with_the_field_named_and_nothing_written(
    client: FlaskClient,
    vendor: Vendor,
    vendor_user: User,
    overrides: dict[str, Any],
    field_id: str | None,
    reason: str,
) -> None:
    response = post_product(client, vendor, **overrides)

    assert response.status_code == 422
    text = page_text(response)
    assert "L’opération a été refusée" in text
    assert reason in text
    if field_id is not None:
        assert field_in_error(text, field_id)
    assert product_count() == 0
    assert product_events() == 0


@pytest.mark.parametrize(
    ("field_id", "value"),
    [
        ("title", "Atlas\x01 des océans"),
        ("summary", "Un atlas\x1b[31m en couleurs"),
        ("description", "Vingt caractères au moins\x02, et un STX."),
        ("access_url", "https://atlas.example/\x7f"),
        ("title", "Atlas\ndes océans"),  # one line
        ("declaration-hosting-0-provider", "OVH\x0ccloud"),
        ("declaration-subprocessors-0-purpose", "Envoi\x08 des courriels"),
    ],
    ids=["title", "summary", "description", "access-url", "title-line-feed", "hosting", "sub"],
)
def test_control_characters_are_refused_in_every_text_with_the_field_named(
    client: FlaskClient,
    vendor: Vendor,
    vendor_user: User,
    field_id: str,
    value: str,
) -> None:
    """(A NUL is refused before, with a 400, by app/core/args.py, for any field.)"""
    response = post_product(client, vendor, **{field_id: value})

    assert response.status_code == 422
    text = page_text(response)
    assert "caractère de contrôle invisible interdit" in text
    assert field_in_error(text, field_id)  # the message under the field's label
    assert product_count() == 0
    assert product_events() == 0


def test_line_ends_and_tabs_stay_allowed_in_a_description(
    client: FlaskClient, vendor: Vendor, vendor_user: User
) -> None:
    description = "Première ligne.\r\nDeuxième ligne,\tavec une tabulation."

    response = post_product(client, vendor, description=description)

    assert response.status_code == 302
    assert only_product(vendor).latest.description == description


# --- an incomplete draft is saved; what it lacks is named at submission ------------------------


@pytest.mark.parametrize(
    ("overrides", "label"),
    [
        ({"title": ""}, "Titre : ce champ est obligatoire"),
        ({"plans-teacher-offered": None}, "Offres et prix : proposez au moins une offre"),
        ({"disciplines": None}, "Disciplines : choisissez au moins une discipline"),
        ({"access_url": "http://tangram.example/jeu"}, "Adresse d’accès à la ressource : "),
        (
            {"declaration-hosting-0-country": "F1"},
            "Hébergement n° 1 — Pays (code ISO, ex. FR) : « F1 » n'est pas un code pays",
        ),
        (
            {"declaration-hosting-0-country": "", "declaration-hosting-0-provider": ""},
            "Hébergement : doit contenir au moins un élément",
        ),
        (
            {"declaration-advertising": None},
            "Affichez-vous de la publicité ? : champ obligatoire manquant",
        ),
        (
            {"declaration-retention_days": ""},
            "Durée de conservation après la fin du contrat (jours) : champ obligatoire manquant",
        ),
    ],
    ids=[
        "missing-title",
        "no-plan",
        "no-discipline",
        "http-access-url",
        "invalid-hosting-country",
        "no-hosting",
        "advertising-unanswered",
        "retention-missing",
    ],
)
def test_an_incomplete_draft_is_saved_and_its_submission_names_what_is_missing(
    client: FlaskClient,
    vendor: Vendor,
    vendor_user: User,
    overrides: dict[str, Any],
    label: str,
) -> None:
    response = post_product(client, vendor, **overrides)

    assert response.status_code == 302
    product = only_product(vendor)
    assert product.latest.status is VersionStatus.DRAFT

    submitted = client.post(f"/editeur/{vendor.id}/produits/{product.id}/soumettre")

    edit = f"/editeur/{vendor.id}/produits/{product.id}/modifier?verifier=1"
    assert submitted.headers["Location"] == edit
    text = page_text(client.get(edit))
    assert "Soumission impossible : des informations manquent ou sont invalides." in text
    assert "À compléter avant de soumettre" in text
    assert label in text
    db.session.refresh(product.latest)
    assert product.latest.status is VersionStatus.DRAFT
    assert product.latest.submitted_at is None
    assert [e.action for e in audit.history("product", product.id)] == ["product.created"]


def test_a_draft_is_saved_with_everything_missing_and_unanswered_questions_stay_unanswered(
    client: FlaskClient, vendor: Vendor, vendor_user: User
) -> None:
    response = post_product(
        client,
        vendor,
        **dict.fromkeys(
            [
                "title",
                "summary",
                "description",
                "disciplines",
                "levels",
                "access_url",
                "plans-teacher-offered",
                *(key for key in form_data() if key.startswith("declaration-")),
            ]
        ),
    )

    assert response.status_code == 302
    version = only_product(vendor).latest
    assert version.title == ""
    assert version.plans == []
    assert version.price_from_cents is None
    for unanswered in ("advertising", "deletion_at_end", "retention_days"):
        assert unanswered not in version.declaration  # not read as "non" or 0
    assert "Produit sans titre" in page_text(client.get(response.headers["Location"]))

    form = page_text(client.get(f"/editeur/{vendor.id}/produits/{version.product_id}/modifier"))
    assert "checked" not in form.split('id="declaration-legend"')[1]


# --- the logo ----------------------------------------------------------------------------------


def test_a_png_logo_is_stored_under_its_hash_and_served(
    client: FlaskClient, vendor: Vendor, vendor_user: User
) -> None:
    png = image("PNG")
    response = post_product(client, vendor, logo=(io.BytesIO(png), "logo.png"))

    assert response.status_code == 302
    key = only_product(vendor).latest.logo_key
    assert key == f"logos/{hashlib.sha256(png).hexdigest()}.png"
    served = client.get(f"/fichiers/{key}")
    assert served.status_code == 200
    assert served.mimetype == "image/png"
    assert served.data == png


@pytest.mark.parametrize(("image_format", "extension"), [("JPEG", "jpg"), ("WEBP", "webp")])
def test_jpeg_and_webp_logos_are_accepted(
    client: FlaskClient, vendor: Vendor, vendor_user: User, image_format: str, extension: str
) -> None:
    logo = image(image_format)
    post_product(client, vendor, logo=(io.BytesIO(logo), f"logo.{extension}"))

    key = only_product(vendor).latest.logo_key
    assert key == f"logos/{hashlib.sha256(logo).hexdigest()}.{extension}"
    assert client.get(f"/fichiers/{key}").data == logo


def test_editing_without_a_new_file_keeps_the_logo(
    client: FlaskClient, vendor: Vendor, vendor_user: User
) -> None:
    post_product(client, vendor, logo=(io.BytesIO(image("PNG")), "logo.png"))
    product = only_product(vendor)
    key = product.latest.logo_key

    response = client.post(
        f"/editeur/{vendor.id}/produits/{product.id}/modifier",
        data=form_data(title="Tangram et symétries", logo=(io.BytesIO(b""), "")),
        content_type="multipart/form-data",
    )

    assert response.status_code == 302
    db.session.refresh(product.latest)
    assert (product.latest.title, product.latest.logo_key) == ("Tangram et symétries", key)


def test_a_missing_logo_file_is_404(client: FlaskClient) -> None:
    assert client.get(f"/fichiers/logos/{'0' * 64}.png").status_code == 404
    assert client.get("/fichiers/logos/../../config.py").status_code == 404


@pytest.mark.parametrize(
    ("upload", "reason"),
    [
        (
            lambda: (io.BytesIO(b"\x89PNG" + b"0" * 600 * 1024), "gros.png"),
            "Le logo dépasse 512 Ko",
        ),
        (lambda: (io.BytesIO(b"Ceci n'est pas une image."), "texte.png"), "image illisible"),
        (lambda: (io.BytesIO(image("GIF")), "anime.gif"), "PNG, JPEG ou WebP."),
        (lambda: (io.BytesIO(image("GIF")), "deguise.png"), "format refusé"),
        (
            lambda: (io.BytesIO(image("PNG", (2500, 10))), "large.png"),
            "Le logo est trop grand : 2\u202f500 × 10 pixels ; au plus 2\u202f000 × 2\u202f000.",
        ),
    ],
    ids=["too-big", "not-an-image", "gif", "gif-renamed-png", "too-many-pixels"],
)
def test_a_bad_logo_is_refused_with_the_field_named(
    client: FlaskClient, vendor: Vendor, vendor_user: User, upload: Any, reason: str
) -> None:
    response = post_product(client, vendor, logo=upload())

    assert response.status_code == 422
    text = page_text(response)
    assert reason in text
    assert field_in_error(text, "logo")
    assert product_count() == 0  # the product is not created without its logo


def test_a_decompression_bomb_logo_is_refused_by_its_size_before_decoding(
    client: FlaskClient, vendor: Vendor, vendor_user: User
) -> None:
    bomb = decompression_bomb(30_000, 30_000)
    assert len(bomb) < 512 * 1024  # under the weight limit: only the pixel count stops it

    response = post_product(client, vendor, logo=(io.BytesIO(bomb), "logo.png"))

    assert response.status_code == 422
    text = page_text(response)
    assert (
        "Le logo est trop grand : 30\u202f000 × 30\u202f000 pixels ; "
        "au plus 2\u202f000 × 2\u202f000."
    ) in text
    assert field_in_error(text, "logo")
    assert product_count() == 0
    assert product_events() == 0


def test_a_hosting_row_posted_without_its_country_is_saved_and_named_by_the_checks(
    client: FlaskClient, vendor: Vendor, vendor_user: User
) -> None:
    response = post_product(
        client, vendor, action="verifier", **{"declaration-hosting-1-provider": "AWS"}
    )

    product = only_product(vendor)
    assert response.headers["Location"] == (
        f"/editeur/{vendor.id}/produits/{product.id}/modifier?verifier=1"
    )
    text = page_text(client.get(response.headers["Location"]))
    assert "Hébergement n° 2 — Pays (code ISO, ex. FR) : " in text
    assert "hosting[1]" not in text
