"""Every page below a role's home shows where it is: a DSFR breadcrumb whose last item is
the page itself (aria-current="page", no link); every vendor page has the vendor side menu.
Destructive actions are behind a confirmation modal holding the real form."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient
from lxml import html
from sqlalchemy import select

from app.budgets.models import Allocation
from app.demo import DEMO_PASSWORD, seed_demo
from app.extensions import db
from app.orders.models import Order
from app.products.models import Product, ProductVersion, VersionStatus
from tests.conftest import AuthActions


@pytest.fixture
def demo(session: object) -> None:
    seed_demo()
    db.session.commit()


def tree(response: object) -> html.HtmlElement:
    assert response.status_code == 200, (response.request.path, response.status_code)  # type: ignore[attr-defined]
    return html.fromstring(response.get_data(as_text=True))  # type: ignore[attr-defined]


def has_class(name: str) -> str:
    """An XPath test: the element's class attribute holds `name`."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def breadcrumb_items(page: html.HtmlElement) -> list[html.HtmlElement]:
    [nav] = page.xpath(f"//nav[{has_class('fr-breadcrumb')}]")
    assert nav.xpath(
        f".//button[{has_class('fr-breadcrumb__button')}][@aria-controls='breadcrumb']"
    )
    return nav.xpath(
        f".//ol[{has_class('fr-breadcrumb__list')}]/li/a[{has_class('fr-breadcrumb__link')}]"
    )


def assert_breadcrumb(client: FlaskClient, url: str, last: str | None = None) -> None:
    items = breadcrumb_items(tree(client.get(url)))
    *trail, current = items
    assert trail, url  # at least the role's home before the page
    assert all(a.get("href") and a.get("aria-current") is None for a in trail), url
    assert current.get("aria-current") == "page", url
    assert current.get("href") is None, url
    if last is not None:
        assert current.text_content().strip() == last, url


def login(auth: AuthActions, email: str) -> None:
    assert auth.login(email, DEMO_PASSWORD).status_code == 302


def add_to_cart(client: FlaskClient) -> None:
    """The demo teacher puts a demo product, one she has not bought, in her cart."""
    product_id = db.session.scalar(
        select(ProductVersion.product_id).where(
            ProductVersion.title == "Géométrie animée 4e-3e", ProductVersion.listed
        )
    )
    added = client.post(f"/panier/ajouter/{product_id}", data={"plan": "teacher"})
    assert added.location == "/panier", added.location


def test_teacher_deep_pages_have_a_breadcrumb(
    demo: None, client: FlaskClient, auth: AuthActions
) -> None:
    login(auth, "camille.enseignante@ac-paris.fr")
    listed = db.session.scalars(select(ProductVersion).where(ProductVersion.listed)).first()
    assert listed is not None
    order = db.session.scalars(select(Order).order_by(Order.id)).first()
    assert order is not None

    assert_breadcrumb(client, f"/catalogue/{listed.product_id}", listed.title)
    assert_breadcrumb(client, f"/mes-commandes/{order.id}", f"Commande {order.number}")
    add_to_cart(client)
    assert_breadcrumb(client, "/panier/recapitulatif", "Récapitulatif de la commande")


def test_vendor_pages_have_a_breadcrumb_and_the_side_menu(
    demo: None, client: FlaskClient, auth: AuthActions
) -> None:
    login(auth, "vendor@demo.test")
    vendor_id = client.get("/editeur").location.rsplit("/", 1)[1]
    product = db.session.scalars(
        select(Product).where(Product.vendor_id == int(vendor_id)).order_by(Product.id)
    ).first()
    assert product is not None
    base = f"/editeur/{vendor_id}"
    menu_pages = {
        base: "Produits",
        f"{base}/commandes": "Commandes",
        f"{base}/licences": "Licences vendues",
        f"{base}/codes": "Codes d’activation",
        f"{base}/livraison": "Livraison (webhook)",
        f"{base}/versements": "Versements",
        f"{base}/coordonnees-bancaires": "Coordonnées bancaires",
        f"{base}/factures": "Factures",
        f"{base}/api": "Accès à l’API",
        f"{base}/equipe": "Équipe",
    }
    for url, label in menu_pages.items():
        page = tree(client.get(url))
        [menu] = page.xpath(f"//nav[{has_class('fr-sidemenu')}]")
        links = menu.xpath(f".//a[{has_class('fr-sidemenu__link')}]")
        assert [a.text_content().strip() for a in links] == list(menu_pages.values()), url
        assert [a.text_content().strip() for a in links if a.get("aria-current")] == [label]
        assert menu.xpath(
            f".//button[{has_class('fr-sidemenu__btn')}][@aria-controls='vendor-menu']"
        )
        assert len(page.xpath(f"//a[@href='{base}/commandes']")) == 1, url  # not the old row
        *_, current = breadcrumb_items(page)
        assert current.get("aria-current") == "page", url
        assert_breadcrumb(client, url)

    for url in (f"{base}/produits/{product.id}", f"{base}/produits/nouveau"):
        assert_breadcrumb(client, url)
        [menu] = tree(client.get(url)).xpath(f"//nav[{has_class('fr-sidemenu')}]")
        [current] = menu.xpath(".//a[@aria-current]")
        assert (current.text_content().strip(), current.get("aria-current")) == ("Produits", "true")


def test_vendor_product_edit_form_sits_below_its_product(
    demo: None, client: FlaskClient, auth: AuthActions
) -> None:
    login(auth, "vendor@demo.test")
    vendor_id = int(client.get("/editeur").location.rsplit("/", 1)[1])
    listed = db.session.scalars(
        select(ProductVersion)
        .join(ProductVersion.product)
        .where(Product.vendor_id == vendor_id, ProductVersion.listed)
    ).first()
    assert listed is not None
    base = f"/editeur/{vendor_id}/produits/{listed.product_id}"
    assert client.post(f"{base}/nouvelle-version").status_code == 302
    items = breadcrumb_items(tree(client.get(f"{base}/modifier")))
    assert [(a.text_content().strip(), a.get("href")) for a in items] == [
        ("Espace éditeur", "/editeur"),
        ("Éditions Lumière SAS", f"/editeur/{vendor_id}"),
        (listed.title, base),
        ("Modifier le brouillon", None),
    ]


def test_reviewer_academy_and_admin_deep_pages_have_a_breadcrumb(
    demo: None, client: FlaskClient, auth: AuthActions
) -> None:
    login(auth, "reviewer@demo.test")
    in_review = db.session.scalars(
        select(ProductVersion).where(ProductVersion.status == VersionStatus.IN_REVIEW)
    ).first()
    assert in_review is not None
    assert_breadcrumb(client, f"/commission/versions/{in_review.id}", in_review.title)
    auth.logout()

    login(auth, "academy@demo.test")
    allocation = db.session.scalars(
        select(Allocation).where(Allocation.academy_code == "01")
    ).first()
    assert allocation is not None
    for url in (
        "/academies/01/enseignants",
        "/academies/01/repartitions",
        f"/academies/01/repartitions/{allocation.id}",
        "/academies/01/repartitions/enseignant",
        "/academies/01/repartitions/fichier",
        "/academies/01/repartitions/regle",
        "/academies/01/tableau-de-bord",
    ):
        assert_breadcrumb(client, url)
    auth.logout()

    login(auth, "admin@demo.test")
    for url, last in (
        ("/admin/academies/01/dotations", None),
        ("/admin/editeurs/a-valider", "Inscriptions à valider"),
        ("/admin/exclusions", "Liste d’exclusion"),
        ("/admin/versements/rapprochement", "Rapprochement des versements"),
    ):
        assert_breadcrumb(client, url, last)
    until = date.today().isoformat()  # noqa: DTZ011 - the demo's orders are a month old
    summary = tree(client.post("/admin/versements", data={"until": until}))
    assert breadcrumb_items(summary)[-1].text_content().strip() == "Récapitulatif du règlement"
    [confirmed] = summary.xpath("//input[@name='confirmed']")
    run = client.post("/admin/versements", data={"until": until, "confirmed": confirmed.value})
    assert_breadcrumb(client, run.location)


def assert_asks_first(page: html.HtmlElement, action_end: str) -> int:
    """Each form posting to a URL ending with `action_end` sits in a DSFR modal, opened by a
    button outside it, with its CSRF token and a button that only closes it; returns how many."""
    forms = [f for f in page.xpath("//form") if (f.get("action") or "").endswith(action_end)]
    assert forms, action_end
    ids = [d.get("id") for d in page.xpath(f"//dialog[{has_class('fr-modal')}]")]
    assert len(ids) == len(set(ids))  # one modal per row
    for form in forms:
        [dialog] = list(form.iterancestors("dialog"))
        modal = dialog.get("id")
        assert dialog.get("aria-labelledby") == f"{modal}-title"
        [opener] = [
            b
            for b in page.xpath(f"//button[@aria-controls='{modal}'][@data-fr-opened='false']")
            if dialog not in b.iterancestors()
        ]
        assert opener.get("type") == "button"
        assert form.xpath(".//input[@type='hidden'][@name='csrf_token']")
        assert form.xpath(".//button[@type='submit']")
        [close] = form.xpath(f".//button[@aria-controls='{modal}']")
        assert close.get("type") == "button"
    return len(forms)


def test_destructive_actions_are_behind_a_confirmation_modal(
    demo: None, client: FlaskClient, auth: AuthActions
) -> None:
    login(auth, "camille.enseignante@ac-paris.fr")
    listed = db.session.scalars(select(ProductVersion).where(ProductVersion.listed)).first()
    assert listed is not None
    add_to_cart(client)
    assert assert_asks_first(tree(client.get("/panier")), "/retirer") == 1
    cancellable = [
        order
        for order in db.session.scalars(select(Order).order_by(Order.id))
        if "/annuler" in client.get(f"/mes-commandes/{order.id}").get_data(as_text=True)
    ]
    assert cancellable
    assert assert_asks_first(tree(client.get(f"/mes-commandes/{cancellable[0].id}")), "/annuler")
    auth.logout()

    login(auth, "vendor@demo.test")
    base = client.get("/editeur").location
    client.post(f"{base}/api", data={"name": "Logiciel de test"})
    assert assert_asks_first(tree(client.get(f"{base}/api")), "/revoquer") == 1
    delivery = tree(client.get(f"{base}/livraison"))
    if delivery.xpath("//button[@aria-controls='rotate-secret']"):
        [form] = delivery.xpath("//dialog//form")
        assert form.xpath(".//input[@name='action'][@value='rotate']")
    auth.logout()

    login(auth, "admin@demo.test")
    assert assert_asks_first(tree(client.get("/admin/exclusions")), "/retirer") > 1
    vendors = tree(client.get("/admin/editeurs"))
    assert assert_asks_first(vendors, "/suspendre") > 1
    reasons = vendors.xpath("//dialog//form//input[@name='reason'][@required]")
    assert reasons
    assert all(vendors.xpath(f"//label[@for='{r.get('id')}']") for r in reasons)


def test_the_admin_pages_of_a_vendor_and_a_person_ask_first(
    demo: None, client: FlaskClient, auth: AuthActions
) -> None:
    login(auth, "admin@demo.test")
    vendor_id = db.session.scalar(select(Product.vendor_id).order_by(Product.id))
    vendor_page = f"/admin/editeurs/{vendor_id}"
    assert_breadcrumb(client, vendor_page)
    assert assert_asks_first(tree(client.get(vendor_page)), "/suspendre") == 1
    person = client.get("/admin/utilisateurs?q=vendor%40demo.test")
    [user_page] = [
        href
        for href in tree(person).xpath("//main//a/@href")
        if str(href).startswith("/admin/utilisateurs/")
    ]
    assert_breadcrumb(client, str(user_page), "Marc Éditeur")
    assert assert_asks_first(tree(client.get(str(user_page))), "/retirer") == 1
