from __future__ import annotations

from flask.testing import FlaskClient

from app.core.templating import format_cents


def test_french_by_default_english_on_request(client: FlaskClient) -> None:
    page = client.get("/connexion").get_data(as_text=True)
    assert '<html lang="fr"' in page
    assert "Se connecter à Compte Ressources" in page
    client.get("/langue/en")
    page = client.get("/connexion").get_data(as_text=True)
    assert '<html lang="en"' in page
    assert "Sign in to Compte Ressources" in page
    client.get("/langue/fr")
    assert "Se connecter à Compte Ressources" in client.get("/connexion").get_data(as_text=True)


def test_pages_have_landmarks_a_skip_link_and_labelled_fields(client: FlaskClient) -> None:
    page = client.get("/connexion").get_data(as_text=True)
    for landmark in ('role="banner"', 'role="main"', 'role="contentinfo"', 'href="#contenu"'):
        assert landmark in page
    assert '<label class="fr-label" for="email">' in page
    assert '<label class="fr-label" for="password">' in page
    assert "cdn" not in page.lower()
    assert 'href="/static/dsfr/dsfr.min.css"' in page


def test_money_is_formatted_in_french(app: object, client: FlaskClient) -> None:
    with client.application.test_request_context():
        assert format_cents(1250) == "12,50\u00a0€"
        assert format_cents(123456789) == "1\u202f234\u202f567,89\u00a0€"
        assert format_cents(-5) == "-0,05\u00a0€"


def test_lists_are_joined_as_the_reader_s_language_joins_them(
    app: object, client: FlaskClient
) -> None:
    from flask_babel import force_locale

    from app.core.templating import join_list

    with client.application.test_request_context():
        assert join_list(["nom", "classe", "image"]) == "nom, classe et image"
        assert join_list(["@a.fr", "@b.fr"], "or") == "@a.fr ou @b.fr"
        assert join_list(["seul"]) == "seul"
        assert join_list([]) == ""
        with force_locale("en"):
            assert join_list(["a", "b", "c"]) == "a, b, and c"
            assert join_list(["a", "b", "c"], "or") == "a, b, or c"
        template = "{{ ['a', 'b', 'c'] | join_list }} / {{ ['a', 'b'] | join_list('or') }}"
        rendered = client.application.jinja_env.from_string(template).render()
        assert rendered == "a, b et c / a ou b"
