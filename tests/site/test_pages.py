"""The information pages: reachable from the footer of every page without signing in,
each under its own title; the DSFR's government links and licence in the footer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app.site import services
from tests import factories
from tests.conftest import AuthActions
from tests.site.helpers import document, heading, text_of, visible_text, within

FOOTER_PAGES = {
    "/plan-du-site": "Plan du site",
    "/accessibilite": "Déclaration d’accessibilité",
    "/mentions-legales": "Mentions légales",
    "/donnees-personnelles": "Données personnelles",
    "/cookies": "Gestion des cookies",
    "/donnees-ouvertes": "Données ouvertes",
    "/aide": "Aide",
    "/contact": "Contact",
}


def footer_links(client: FlaskClient, path: str = "/") -> dict[str, str]:
    footer = document(client.get(path)).get_element_by_id("pied-de-page")
    return {
        link.get("href"): text_of(link) for link in within(footer, "fr-footer__bottom-list", "a")
    }


def test_every_footer_link_opens_its_page_without_signing_in(client: FlaskClient) -> None:
    links = footer_links(client)

    assert set(links) == set(FOOTER_PAGES)
    assert links["/accessibilite"] == "Accessibilité : partiellement conforme"
    for path, title in FOOTER_PAGES.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert heading(response) == title
        assert text_of(document(response).find(".//title")).startswith(title)


def test_the_footer_is_the_same_for_a_signed_in_teacher(
    client: FlaskClient, auth: AuthActions
) -> None:
    teacher = factories.teacher()
    auth.login(teacher.email)

    assert set(footer_links(client, "/mon-profil/")) == set(FOOTER_PAGES)
    for path in FOOTER_PAGES:
        assert client.get(path).status_code == 200, path


def test_the_footer_carries_the_government_links_and_the_licence(client: FlaskClient) -> None:
    footer = document(client.get("/")).get_element_by_id("pied-de-page")
    external = within(footer, "fr-footer__content-list", "a")

    assert [link.get("href") for link in external] == [
        "https://info.gouv.fr",
        "https://service-public.gouv.fr",
        "https://legifrance.gouv.fr",
        "https://data.gouv.fr",
    ]
    for link in [*external, *within(footer, "fr-footer__bottom-copy", "a")]:
        assert link.get("target") == "_blank"
        assert "noopener" in link.get("rel").split()
        assert link.get("title").endswith(" - nouvelle fenêtre")
    assert "licence etalab-2.0" in text_of(within(footer, "fr-footer__bottom-copy")[0])


# --- the accessibility declaration ---------------------------------------------------------


def test_the_declaration_shows_the_figures_of_the_committed_audit(client: FlaskClient) -> None:
    data = json.loads(services.AUDIT_FILE.read_text(encoding="utf-8"))
    page = document(client.get("/accessibilite"))
    rows = page.get_element_by_id("echantillon").xpath(".//tbody/tr")

    assert len(rows) == len(data["pages"])
    for row, audited in zip(rows, data["pages"], strict=True):
        cells = [text_of(cell) for cell in row.xpath("th|td")]
        assert cells == [
            f"{audited['title']} {audited['path']} profil : {audited['role']}",
            str(audited["axe_violations"]),
            str(audited["html_errors"]),
        ]
    for version in data["tools"].values():
        assert version in text_of(page)


def test_the_declaration_adds_up_the_audit_it_reads(
    client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = {
        "date": "2027-03-15",
        "tools": {"axe-core": "4.10.3", "vnu": "25.1.2"},
        "pages": [
            {"title": "Catalogue", "path": "/catalogue", "role": "visiteur",
             "axe_violations": 0, "html_errors": 0},
            {"title": "Panier", "path": "/panier", "role": "enseignant",
             "axe_violations": 3, "html_errors": 1},
            {"title": "Espace éditeur", "path": "/editeur", "role": "éditeur",
             "axe_violations": 2, "html_errors": 4},
        ],
    }  # fmt: skip
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(audit), encoding="utf-8")
    monkeypatch.setattr(services, "AUDIT_FILE", path)

    response = client.get("/accessibilite")
    text = visible_text(response)
    total = [
        text_of(cell)
        for cell in document(response).get_element_by_id("echantillon").xpath(".//tfoot//td")
    ]

    assert "Vérifications du 15 mars 2027, sur un échantillon de 3 pages" in text
    assert "1 page sans anomalie détectée sur 3" in text
    assert "5 violations des règles d’accessibilité signalées par axe-core" in text
    assert "5 erreurs de code HTML signalées par le validateur Nu HTML Checker" in text
    assert total == ["5", "5"]
    assert "Cette déclaration a été établie le 15 mars 2027" in text
    assert "axe-core 4.10.3" in text
    assert "Nu HTML Checker (vnu) 25.1.2" in text


def test_the_declaration_says_what_it_is_and_where_to_turn(client: FlaskClient) -> None:
    text = visible_text(client.get("/accessibilite"))

    assert "partiellement conforme" in text
    assert "RGAA), version 4.1" in text
    assert "Aucun audit complet de conformité au RGAA n’a encore été mené" in text
    assert "Stripe Connect" in text
    assert "PDF/UA-1" in text
    assert "accessibilite@compte-ressources.education.gouv.fr" in text
    assert "Défenseur des droits Libre réponse 71120 75342 Paris CEDEX 07" in text


# --- legal notice, personal data -----------------------------------------------------------


def test_the_legal_notice_names_what_the_configuration_says(
    app: object, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = app.config  # type: ignore[attr-defined]
    monkeypatch.setitem(
        config, "PUBLISHER_NAME", "Ministère de l’Éducation nationale et de la Jeunesse"
    )
    monkeypatch.setitem(config, "PUBLICATION_DIRECTOR", "Mme la directrice du numérique")
    monkeypatch.setitem(config, "HOST_NAME", "Hébergeur Souverain SAS")
    monkeypatch.setitem(config, "HOST_ADDRESS", "1 rue du Nuage, 59000 Lille")

    text = visible_text(client.get("/mentions-legales"))

    assert "Ministère de l’Éducation nationale et de la Jeunesse" in text
    assert "Mme la directrice du numérique" in text
    assert "Hébergeur Souverain SAS 1 rue du Nuage, 59000 Lille" in text
    assert "licence ouverte etalab-2.0" in text


def test_the_retention_periods_are_those_of_the_purge(client: FlaskClient) -> None:
    from app.core.retention import PERIODS

    rows = {
        text_of(row.xpath("td")[0]): text_of(row.xpath("td")[1])
        for row in document(client.get("/donnees-personnelles"))
        .get_element_by_id("durees")
        .xpath(".//tbody/tr")
    }

    for period in PERIODS:
        description = " ".join(str(period.description).split())
        assert description in rows, description
        days = period.kept.days
        expected = (
            f"{days // 365} an" + ("s" if days // 365 > 1 else "")
            if days % 365 == 0
            else f"{days} jours"
        )
        assert rows[description] == expected
    accounting = [duration for what, duration in rows.items() if "L123-22" in what]
    assert accounting == ["10 ans"]


def test_the_privacy_page_says_why_to_whom_and_how_to_object(client: FlaskClient) -> None:
    text = visible_text(client.get("/donnees-personnelles"))

    assert "article 6-1-e du RGPD" in text
    for recipient in ("Votre académie", "L’éditeur d’une ressource", "Le GAR", "Stripe"):
        assert recipient in text
    assert "droit d’accès, de rectification, d’opposition et de limitation" in text
    assert "Télécharger mes données" in text
    assert "dpd@compte-ressources.education.gouv.fr" in text
    assert "CNIL" in text


def test_the_help_answers_every_role(client: FlaskClient) -> None:
    page = document(client.get("/aide"))
    sections = [text_of(h2) for h2 in page.xpath("//h2")]

    assert sections == ["Enseignant", "Éditeur", "Académie", "Commission", "Opérateur national"]
    buttons = within(page, "fr-accordion__btn")
    assert buttons
    for button in buttons:  # each accordion opens its own panel
        assert page.get_element_by_id(button.get("aria-controls")) is not None


def test_the_contact_page_gives_the_support_address(
    app: object, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SUPPORT_EMAIL", "aide@exemple.gouv.fr")  # type: ignore[attr-defined]

    page = document(client.get("/contact"))

    assert page.xpath('//a[@href="mailto:aide@exemple.gouv.fr"]')
    assert "académie" in text_of(page)
    assert "éditeur de la ressource" in text_of(page)
