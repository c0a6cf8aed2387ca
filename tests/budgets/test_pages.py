"""The budget pages: academy managers allocate, teachers see their credit, admins fund."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.budgets import services
from app.budgets.models import Allocation, School
from app.core import dates
from app.core.money import format_euros
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import EntryKind, JournalEntry
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import page_text

YEAR = services.school_year_code(dates.today())
FUNDED = 1_000_000  # 10 000,00 € in Paris's pool

MANAGER_PAGES = [
    "/academies/{code}",
    "/academies/{code}/repartitions",
    "/academies/{code}/repartitions/enseignant",
    "/academies/{code}/repartitions/fichier",
    "/academies/{code}/repartitions/regle",
    "/academies/{code}/enseignants",
]
MANAGER_FORMS = [
    "/academies/{code}/repartitions/enseignant",
    "/academies/{code}/repartitions/fichier",
    "/academies/{code}/repartitions/regle",
    "/academies/{code}/repartitions/1/confirmer",
]


@pytest.fixture
def funded(session: object) -> None:
    services.ensure_school_year(YEAR)
    services.fund_academy(None, "01", YEAR, FUNDED, "fund:test")


@pytest.fixture
def school(funded: None) -> School:
    return factories.SchoolFactory(name="Collège Victor Hugo", city="Paris")


@pytest.fixture
def manager(auth: AuthActions, funded: None) -> User:
    user = factories.academy_manager("01", name="Gaëlle Gestionnaire")
    auth.login(user.email)
    return user


def token_of(response: Any) -> str:
    found = re.search(r'name="token" type="hidden" value="([0-9a-f]+)"', page_text(response))
    assert found is not None
    return found.group(1)


def pool() -> int:
    return services.pool_balance("01", YEAR)


def allocate_entries() -> int:
    return int(
        db.session.scalar(
            select(func.count(JournalEntry.id)).where(JournalEntry.kind == EntryKind.ALLOCATE)
        )
        or 0
    )


def upload(client: FlaskClient, content: str, name: str = "repartition.csv") -> Any:
    return client.post(
        "/academies/01/repartitions/fichier",
        data={"fichier": (io.BytesIO(content.encode()), name)},
        content_type="multipart/form-data",
    )


def confirm_url(response: Any) -> str:
    found = re.search(r'action="(/academies/01/repartitions/\d+/confirmer)"', page_text(response))
    assert found is not None
    return found.group(1)


def ask_one(client: FlaskClient, email: str, uai: str, amount: str) -> Any:
    """The single allocation form, sent: the confirmation page (or the refusal)."""
    token = token_of(client.get("/academies/01/repartitions/enseignant"))
    data = {"email": email, "uai": uai, "amount": amount, "token": token}
    return client.post("/academies/01/repartitions/enseignant", data=data)


def allocate_one(client: FlaskClient, email: str, uai: str, amount: str) -> Any:
    """The single allocation form, sent, then confirmed (or its refusal)."""
    asked = ask_one(client, email, uai, amount)
    if asked.status_code != 200:
        return asked
    return client.post(confirm_url(asked))


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", MANAGER_PAGES)
def test_every_manager_page_renders_for_the_academy_manager(
    client: FlaskClient, manager: User, school: School, path: str
) -> None:
    response = client.get(path.format(code="01"))
    assert response.status_code == 200
    assert "Paris" in page_text(response)


@pytest.mark.parametrize("path", MANAGER_PAGES)
def test_a_manager_of_paris_gets_403_on_every_page_of_lyon(
    client: FlaskClient, manager: User, path: str
) -> None:
    response = client.get(path.format(code="10"))
    assert response.status_code == 403
    assert "Lyon" not in page_text(response)


@pytest.mark.parametrize("path", MANAGER_FORMS)
def test_a_manager_of_paris_gets_403_on_every_form_of_lyon(
    client: FlaskClient, manager: User, path: str
) -> None:
    data = {"email": "a.b@ac-lyon.fr", "uai": "0690001A", "amount": "10", "token": "x"}
    response = client.post(path.format(code="10"), data=data)
    assert response.status_code == 403
    assert allocate_entries() == 0


@pytest.mark.parametrize("path", [*MANAGER_PAGES, "/admin/academies"])
def test_a_teacher_gets_403_on_manager_and_admin_pages(
    client: FlaskClient, auth: AuthActions, path: str
) -> None:
    auth.login(factories.teacher().email)
    assert client.get(path.format(code="01")).status_code == 403


@pytest.mark.parametrize("path", [*MANAGER_FORMS, "/admin/dotations"])
def test_a_teacher_gets_403_on_every_form(
    client: FlaskClient, auth: AuthActions, funded: None, path: str
) -> None:
    auth.login(factories.teacher().email)
    data = {"academy_code": "01", "amount": "10", "token": "x"}
    assert client.post(path.format(code="01"), data=data).status_code == 403


def test_posts_without_csrf_token_are_refused(
    app: Flask, client: FlaskClient, manager: User, school: School
) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        form = client.get("/academies/01/repartitions/enseignant")
        data = {"email": "a.b@ac-paris.fr", "uai": school.uai, "amount": "10"}
        data["token"] = token_of(form)
        refused = client.post("/academies/01/repartitions/enseignant", data=data)
        assert refused.status_code == 400
        assert "formulaire a expiré" in page_text(refused)
        assert client.post("/academies/01/repartitions/1/confirmer").status_code == 400
        assert allocate_entries() == 0
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page_text(form))
        assert csrf is not None
        accepted = client.post(
            "/academies/01/repartitions/enseignant", data={**data, "csrf_token": csrf.group(1)}
        )
        assert accepted.status_code == 200  # the confirmation page
        assert client.post(confirm_url(accepted)).status_code == 400  # without its token
        confirmed = client.post(
            confirm_url(accepted), data={"csrf_token": csrf.group(1)}, follow_redirects=True
        )
        assert "10,00\u00a0€ attribués à a.b@ac-paris.fr" in page_text(confirmed)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# --- academy home and history ------------------------------------------------------------------


def test_academy_home_shows_the_budget_and_the_last_allocations(
    client: FlaskClient, manager: User, school: School
) -> None:
    allocate_one(client, "anne.martin@ac-paris.fr", school.uai, "300")
    text = page_text(client.get("/academies/01"))
    assert "Budget de l’académie — Paris" in text
    assert format_euros(FUNDED) in text  # received
    assert format_euros(30_000) in text  # allocated, and on the teacher's account
    assert format_euros(FUNDED - 30_000) in text  # left in the pool
    assert "Gaëlle Gestionnaire" in text  # who allocated
    for link in ("enseignant", "fichier", "regle"):
        assert f'href="/academies/01/repartitions/{link}"' in text
    assert 'href="/academies/01/enseignants"' in text
    assert 'href="/academies/01/repartitions"' in text


def test_the_history_lists_every_allocation_with_its_method_in_french(
    client: FlaskClient, manager: User, school: School
) -> None:
    allocate_one(client, "anne.martin@ac-paris.fr", school.uai, "300")
    preview = upload(client, f"paul.durand@ac-paris.fr;150,50;{school.uai}\n")
    client.post(confirm_url(preview))
    text = page_text(client.get("/academies/01/repartitions"))
    assert "Un enseignant" in text
    assert "Fichier" in text
    assert "Gaëlle Gestionnaire" in text
    assert format_euros(15_050) in text


def test_another_school_year_is_shown_with_annee(
    client: FlaskClient, manager: User, school: School
) -> None:
    text = page_text(client.get("/academies/01?annee=2030-2031"))
    assert "Année scolaire 2030-2031" in text
    assert format_euros(FUNDED) not in text
    assert 'href="/academies/01/enseignants?annee=2030-2031"' in text


# --- one teacher -------------------------------------------------------------------------------


def test_allocating_to_one_teacher_twice_with_the_same_token_allocates_once(
    client: FlaskClient, manager: User, school: School
) -> None:
    teacher = factories.teacher(school, email="anne.martin@ac-paris.fr")
    form = client.get("/academies/01/repartitions/enseignant")
    assert f'value="{school.uai}"' in page_text(form)
    assert "Collège Victor Hugo — Paris" in page_text(form)
    data = {"email": "Anne.Martin@ac-paris.fr", "uai": school.uai, "amount": "300,00"}
    data["token"] = token_of(form)
    asked = client.post("/academies/01/repartitions/enseignant", data=data)
    assert asked.status_code == 200
    first = client.post(confirm_url(asked), follow_redirects=True)
    assert first.request.path == "/academies/01"
    assert "300,00\u00a0€ attribués à anne.martin@ac-paris.fr" in page_text(first)
    assert client.post(confirm_url(asked)).status_code == 302  # a double click
    again = client.post("/academies/01/repartitions/enseignant", data=data, follow_redirects=True)
    assert "avait déjà été appliquée" in page_text(again)
    assert services.teacher_balance(teacher.id, YEAR) == 30_000
    assert pool() == FUNDED - 30_000
    assert allocate_entries() == 1


def test_one_allocation_shows_what_will_be_credited_before_money_moves(
    client: FlaskClient, manager: User, school: School
) -> None:
    teacher = factories.teacher(school, email="anne.martin@ac-paris.fr", name="Anne Martin")
    asked = ask_one(client, "anne.martin@ac-paris.fr", school.uai, "300")
    assert asked.status_code == 200
    text = page_text(asked)
    assert "Vérifier avant d’attribuer" in text
    assert re.search(r'id="teacher">Anne Martin — anne.martin@ac-paris.fr<', text)
    assert re.search(rf'id="school">Collège Victor Hugo — Paris \({school.uai}\)<', text)
    assert re.search(r'id="amount"><strong>' + re.escape(format_euros(30_000)), text)
    assert re.search(r'id="pool-before">' + re.escape(format_euros(FUNDED)), text)
    assert re.search(r'id="pool-after">' + re.escape(format_euros(FUNDED - 30_000)), text)
    assert "Confirmer et attribuer 300,00\u00a0€" in text
    assert "lien d’activation" not in text
    edit = re.search(r'href="(/academies/01/repartitions/enseignant\?[^"]+)"', text)
    assert edit is not None
    again = page_text(client.get(edit.group(1).replace("&amp;", "&")))
    assert 'value="anne.martin@ac-paris.fr"' in again
    assert 'value="300,00"' in again
    assert pool() == FUNDED  # nothing moved yet
    assert allocate_entries() == 0

    done = client.post(confirm_url(asked), follow_redirects=True)
    assert "300,00\u00a0€ attribués à anne.martin@ac-paris.fr." in page_text(done)
    assert services.teacher_balance(teacher.id, YEAR) == 30_000


def test_one_allocation_to_a_newcomer_says_the_account_will_be_created(
    client: FlaskClient, manager: User, school: School
) -> None:
    text = page_text(ask_one(client, "nouvelle.venue@ac-paris.fr", school.uai, "25"))
    assert re.search(r'id="teacher">Nouvelle Venue — nouvelle.venue@ac-paris.fr<', text)
    assert "Personne n’a encore de compte à cette adresse : son compte est créé" in text
    assert db.session.scalar(select(User).where(User.email == "nouvelle.venue@ac-paris.fr")) is None


def test_an_address_outside_the_academy_is_refused_on_the_email_field(
    client: FlaskClient, manager: User, school: School
) -> None:
    response = ask_one(client, "claire.roux@gmail.com", school.uai, "300")
    assert response.status_code == 422
    text = page_text(response)
    assert "L’opération a été refusée" in text
    errors = re.search(r'<div id="email-errors">(.*?)</div>', text, re.S)
    assert errors is not None
    assert "Adresse électronique hors de l'académie : « claire.roux@gmail.com »" in errors.group(1)
    assert "@ac-paris.fr" in errors.group(1)
    assert "Confirmer" not in text
    assert db.session.scalar(select(func.count(Allocation.id))) == 0
    assert db.session.scalar(select(User).where(User.email == "claire.roux@gmail.com")) is None
    assert pool() == FUNDED


def test_a_known_teacher_in_another_school_is_refused_on_the_school_field(
    client: FlaskClient, manager: User, school: School
) -> None:
    other = factories.SchoolFactory(name="Lycée Racine")
    factories.teacher(other, email="anne.martin@ac-paris.fr")
    response = ask_one(client, "anne.martin@ac-paris.fr", school.uai, "300")
    assert response.status_code == 422
    errors = re.search(r'<div id="uai-errors">(.*?)</div>', page_text(response), re.S)
    assert errors is not None
    assert (
        f"anne.martin@ac-paris.fr enseigne à Lycée Racine ({other.uai}), pas à {school.name} "
        f"({school.uai}) : indiquez l'un de ses établissements."
    ) in errors.group(1)
    assert pool() == FUNDED


def test_a_bad_amount_is_shown_on_the_field_and_keeps_what_was_typed(
    client: FlaskClient, manager: User, school: School
) -> None:
    response = allocate_one(client, "anne.martin@ac-paris.fr", school.uai, "12,345")
    assert response.status_code == 422
    text = page_text(response)
    assert "a plus de deux décimales" in text
    assert 'id="amount-errors"' in text
    assert 'value="anne.martin@ac-paris.fr"' in text
    assert allocate_entries() == 0


def test_a_refusal_of_the_service_is_shown_on_the_form(
    client: FlaskClient, manager: User, school: School
) -> None:
    response = allocate_one(client, "pas-une-adresse", school.uai, "30")
    assert response.status_code == 422
    text = page_text(response)
    assert "L’opération a été refusée" in text
    assert "Adresse électronique invalide : « pas-une-adresse »." in text
    assert 'value="pas-une-adresse"' in text
    assert pool() == FUNDED
    assert allocate_entries() == 0


def test_more_than_the_pool_is_refused_on_the_form(
    client: FlaskClient, manager: User, school: School
) -> None:
    response = allocate_one(client, "anne.martin@ac-paris.fr", school.uai, "20000")
    assert response.status_code == 422
    text = page_text(response)
    assert "Solde insuffisant" in text
    assert 'value="anne.martin@ac-paris.fr"' in text
    assert pool() == FUNDED
    assert allocate_entries() == 0
    assert db.session.scalar(select(User).where(User.email == "anne.martin@ac-paris.fr")) is None


def test_a_school_of_another_academy_is_refused(
    client: FlaskClient, manager: User, school: School
) -> None:
    lyon = factories.SchoolFactory(academy_code="10", city="Lyon")
    response = allocate_one(client, "anne.martin@ac-paris.fr", lyon.uai, "10")
    assert response.status_code == 422  # not one of the choices
    assert pool() == FUNDED


# --- by file -----------------------------------------------------------------------------------


def test_a_file_with_one_bad_line_writes_nothing(
    client: FlaskClient, manager: User, school: School
) -> None:
    content = (
        "email;amount_eur;uai\n"
        f"anne.martin@ac-paris.fr;100;{school.uai}\n"
        f"pas-une-adresse;50;{school.uai}\n"
        f"paul.durand@ac-paris.fr;25,50;{school.uai}\n"
    )
    response = upload(client, content)
    assert response.status_code == 422
    text = page_text(response)
    assert "Aucune ligne n'a été enregistrée : corrigez le fichier et déposez-le à nouveau." in text
    assert re.search(r"<th scope=\"row\">3</th>", text)
    assert "Adresse électronique invalide : « pas-une-adresse »." in text
    listed = re.search(r'<ul id="errors-list">(.*?)</ul>', text, re.S)
    assert listed is not None
    assert text.index('<ul id="errors-list">') < text.index("<table>")
    assert re.findall(r"<li>(.*?)</li>", listed.group(1)) == [
        "Ligne 3 : Adresse électronique invalide : « pas-une-adresse »."
    ]
    assert "Confirmer la répartition" not in text
    assert db.session.scalar(select(func.count(Allocation.id))) == 0
    assert pool() == FUNDED
    assert allocate_entries() == 0


def test_a_file_error_of_the_whole_file_is_shown(
    client: FlaskClient, manager: User, school: School
) -> None:
    response = upload(client, f"anne.martin@ac-paris.fr;20000;{school.uai}\n")
    assert response.status_code == 422
    assert "dépasse ce qui reste dans l'enveloppe" in page_text(response)


def test_a_file_over_10_mb_is_refused_unread_in_french(client: FlaskClient, manager: User) -> None:
    response = upload(client, "x" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert "Envoi trop volumineux" in page_text(response)
    assert "L'envoi dépasse 10 Mo, la taille maximale acceptée." in page_text(response)
    assert db.session.scalar(select(func.count(Allocation.id))) == 0


def test_a_file_with_a_french_header_line_is_read_and_the_template_is_offered(
    client: FlaskClient, manager: User, school: School
) -> None:
    form = page_text(client.get("/academies/01/repartitions/fichier"))
    assert 'href="/academies/01/repartitions/modele.csv"' in form
    assert "Télécharger le modèle de fichier" in form
    assert '<pre class="cr-example ' in form  # the example scrolls inside itself on a phone
    template = client.get("/academies/01/repartitions/modele.csv")
    assert template.status_code == 200
    assert template.mimetype == "text/csv"
    assert 'filename="modele-repartition.csv"' in template.headers["Content-Disposition"]
    assert template.data.startswith(b"\xef\xbb\xbfcourriel;montant;uai\r\n")

    preview = upload(client, f"Email,Montant,UAI\nanne.martin@ac-paris.fr,300,{school.uai}\n")
    assert preview.status_code == 200
    text = page_text(preview)
    assert "Le fichier est valide" in text
    assert "1 ligne, total" in text
    assert "« Email »" not in text


def test_a_manager_of_paris_cannot_download_the_template_of_lyon(
    client: FlaskClient, manager: User
) -> None:
    assert client.get("/academies/10/repartitions/modele.csv").status_code == 403


def test_a_valid_file_is_previewed_then_confirmed_and_the_new_teacher_sees_the_credit(
    client: FlaskClient, auth: AuthActions, manager: User, school: School
) -> None:
    known = factories.teacher(school, email="anne.martin@ac-paris.fr")
    content = (
        f"anne.martin@ac-paris.fr;100;{school.uai}\n"
        f"nouvelle.enseignante@ac-paris.fr;150,50;{school.uai}\n"
    )
    preview = upload(client, content)
    assert preview.status_code == 200
    text = page_text(preview)
    assert "Le fichier est valide" in text
    assert "nouvelle.enseignante@ac-paris.fr" in text
    assert format_euros(25_050) in text
    assert pool() == FUNDED  # nothing moved before confirming

    confirmed = client.post(confirm_url(preview), follow_redirects=True)
    assert confirmed.request.path == "/academies/01"
    assert "appliquée : 2 enseignants crédités, total 250,50\u00a0€" in page_text(confirmed)
    assert pool() == FUNDED - 25_050
    assert services.teacher_balance(known.id, YEAR) == 10_000

    newcomer = db.session.scalars(
        select(User).where(User.email == "nouvelle.enseignante@ac-paris.fr")
    ).one()
    assert newcomer.has_role(Role.TEACHER, school.id)
    newcomer.password_hash = factories.PASSWORD_HASH
    auth.logout()
    auth.login(newcomer.email)
    account = page_text(client.get("/mon-compte"))
    assert "Nouvelle Enseignante" in account
    assert format_euros(15_050) in account
    assert "Dotation de l’académie de Paris" in account


def test_confirming_a_file_twice_moves_the_money_once(
    client: FlaskClient, manager: User, school: School
) -> None:
    preview = upload(client, f"anne.martin@ac-paris.fr;100;{school.uai}\n")
    url = confirm_url(preview)
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 302
    assert pool() == FUNDED - 10_000
    assert allocate_entries() == 1
    again = upload(client, f"anne.martin@ac-paris.fr;100;{school.uai}\n")
    assert again.status_code == 422
    assert "déjà été réparti" in page_text(again)


# --- by rule -----------------------------------------------------------------------------------


def test_a_rule_is_previewed_then_confirmed_once(
    client: FlaskClient, manager: User, school: School
) -> None:
    colleagues = [factories.teacher(school) for _ in range(3)]
    lycee = factories.SchoolFactory(kind="lycee_professionnel")
    elsewhere = factories.teacher(lycee)
    form = client.get("/academies/01/repartitions/regle")
    assert "Lycée professionnel" in page_text(form)
    data = {"amount": "100", "school_kinds": ["college"], "token": token_of(form)}
    preview = client.post("/academies/01/repartitions/regle", data=data)
    assert preview.status_code == 200
    text = page_text(preview)
    assert re.search(r'id="teacher-count">3<', text)
    assert format_euros(30_000) in text
    assert format_euros(FUNDED) in text  # the pool
    assert pool() == FUNDED

    url = confirm_url(preview)
    done = client.post(url, follow_redirects=True)
    assert "appliquée : 3 enseignants crédités, total 300,00\u00a0€" in page_text(done)
    assert client.post(url).status_code == 302  # a double click
    assert pool() == FUNDED - 30_000
    assert [services.teacher_balance(t.id, YEAR) for t in colleagues] == [10_000] * 3
    assert services.teacher_balance(elsewhere.id, YEAR) == 0

    second = client.post(
        "/academies/01/repartitions/regle",
        data={**data, "token": token_of(client.get("/academies/01/repartitions/regle"))},
    )
    assert re.search(r'id="teacher-count">0<', page_text(second))
    assert re.search(r'id="already-served">3<', page_text(second))


def test_a_confirmation_the_pool_can_no_longer_pay_is_refused_and_moves_nothing(
    client: FlaskClient, manager: User, school: School
) -> None:
    for _ in range(3):
        factories.teacher(school)
    form = client.get("/academies/01/repartitions/regle")
    data = {"amount": "100", "school_kinds": ["college"], "token": token_of(form)}
    preview = client.post("/academies/01/repartitions/regle", data=data)
    lycee = factories.SchoolFactory(kind="lycee_polyvalent")
    allocate_one(client, "anne.martin@ac-paris.fr", lycee.uai, "9 800")  # the pool: 200 €
    refused = client.post(confirm_url(preview))
    assert refused.status_code == 422
    text = page_text(refused)
    assert "n’a pas été appliquée" in text
    assert "ne suffit pas pour 3 enseignants" in text
    assert pool() == 20_000
    assert allocate_entries() == 1


def test_a_rule_limited_to_chosen_schools(
    client: FlaskClient, manager: User, school: School
) -> None:
    factories.teacher(school)
    other = factories.SchoolFactory()
    factories.teacher(other)
    factories.teacher(other)
    form = client.get("/academies/01/repartitions/regle")
    data = {"amount": "12,50", "schools": [str(other.id)], "token": token_of(form)}
    preview = client.post("/academies/01/repartitions/regle", data=data)
    assert re.search(r'id="teacher-count">2<', page_text(preview))
    assert format_euros(2_500) in page_text(preview)


def test_a_rule_preview_says_who_is_left_out_for_an_address_outside_the_academy(
    client: FlaskClient, manager: User, school: School
) -> None:
    factories.teacher(school)
    factories.teacher(school, email="claire.roux@gmail.com")
    form = client.get("/academies/01/repartitions/regle")
    preview = client.post(
        "/academies/01/repartitions/regle", data={"amount": "10", "token": token_of(form)}
    )
    text = page_text(preview)
    assert re.search(r'id="teacher-count">1<', text)
    assert re.search(r'id="outside">1<', text)
    assert (
        "1 enseignant de ces établissements n’a pas d’adresse de l’académie (@ac-paris.fr) : "
        "il ne reçoit rien."
    ) in text


def test_a_rule_with_a_bad_amount_is_refused_on_the_form(
    client: FlaskClient, manager: User, school: School
) -> None:
    form = client.get("/academies/01/repartitions/regle")
    response = client.post(
        "/academies/01/repartitions/regle", data={"amount": "0", "token": token_of(form)}
    )
    assert response.status_code == 422
    assert "Le montant doit être strictement positif." in page_text(response)


# --- teachers list -----------------------------------------------------------------------------


def test_the_teacher_list_searches_and_paginates(
    client: FlaskClient, manager: User, school: School
) -> None:
    for n in range(55):
        factories.teacher(school, name=f"Enseignant {n:02d}")
    both = factories.teacher(school, name="Zoé Unique", email="zoe.unique@ac-paris.fr")
    second_school = factories.SchoolFactory(name="Lycée Second")
    accounts.grant_role(None, both, Role.TEACHER, school=second_school)
    factories.teacher(factories.SchoolFactory(academy_code="10"), name="Enseignant Lyon")
    allocate_one(client, "zoe.unique@ac-paris.fr", school.uai, "42")

    first = page_text(client.get("/academies/01/enseignants"))
    assert "56 enseignants." in first
    assert first.count("<tr>") == 1 + 50
    assert "Enseignant 00" in first
    assert "Enseignant Lyon" not in first
    assert 'aria-current="page"' in first
    assert 'href="/academies/01/enseignants?page=2"' in first

    second = page_text(client.get("/academies/01/enseignants?page=2"))
    assert second.count("<tr>") == 1 + 6
    assert "Zoé Unique" in second
    assert format_euros(4_200) in second
    assert second.count("Zoé Unique") == 1  # one row although in two schools

    found = page_text(client.get("/academies/01/enseignants?q=ZOE.UNI"))
    assert "1 enseignant pour « ZOE.UNI »." in found
    assert "Collège Victor Hugo" in found
    assert format_euros(4_200) in found
    none = page_text(client.get("/academies/01/enseignants?q=100%"))
    assert "Aucun enseignant pour « 100% »." in none


def test_teacher_balances_shows_zero_without_an_account(session: object) -> None:
    services.ensure_school_year(YEAR)
    school = factories.SchoolFactory()
    teacher = factories.teacher(school)
    rows, total = services.teacher_balances("01", YEAR, "", 1, 50)
    assert total == 1
    assert (rows[0].user_id, rows[0].school_uai, rows[0].balance_cents) == (
        teacher.id,
        school.uai,
        0,
    )


# --- teacher -----------------------------------------------------------------------------------


def test_a_teacher_without_credit_reads_a_friendly_sentence(
    client: FlaskClient, auth: AuthActions, funded: None
) -> None:
    teacher = factories.teacher()
    auth.login(teacher.email)
    text = page_text(client.get("/mon-compte"))
    assert "Mon compte ressources" in text
    assert "ne vous a pas encore attribué de crédit" in text
    assert teacher.grants[0].school.name in text


def test_my_account_shows_the_balance_and_every_movement_newest_first(
    client: FlaskClient, auth: AuthActions, funded: None
) -> None:
    teacher = factories.teacher()
    credit = ledger.teacher_credit(teacher.id, "01", YEAR)
    payable = ledger.vendor_payable(factories.VendorFactory().id)
    moves = [
        (ledger.academy_pool("01", YEAR), credit, 30_000, EntryKind.ALLOCATE),
        (credit, payable, 12_000, EntryKind.PURCHASE),
        (payable, credit, 2_000, EntryKind.REFUND),
    ]
    for n, (source, destination, cents, kind) in enumerate(moves):
        ledger.transfer(
            source,
            destination,
            cents,
            kind=kind,
            idempotency_key=f"test:{n}",
            reference=f"test:{n}",
            actor=None,
        )
    auth.login(teacher.email)
    text = page_text(client.get("/mon-compte"))
    assert re.search(r'id="balance">' + re.escape(format_euros(20_000)), text)
    labels = ["Remboursement", "Achat", "Dotation de l’académie de Paris"]
    start = text.index('id="balance"')  # after the navigation (« Achats groupés »)
    positions = [text.index(label, start) for label in labels]
    assert positions == sorted(positions)
    assert "+" + format_euros(2_000) in text
    assert format_euros(-12_000) in text


# --- national funding --------------------------------------------------------------------------


def test_the_admin_funds_an_academy_once_per_form(client: FlaskClient, auth: AuthActions) -> None:
    services.ensure_school_year(YEAR)
    auth.login(factories.with_role(Role.ADMIN).email)
    page = client.get("/admin/academies")
    assert page.status_code == 200
    assert "Dotations des académies" in page_text(page)
    data = {"academy_code": "10", "amount": "1 500,50", "token": token_of(page)}
    done = client.post("/admin/dotations", data=data, follow_redirects=True)
    assert done.request.path == "/admin/academies"
    text = page_text(done)
    assert "Dotation enregistrée : Académie de Lyon, 1\u202f500,50\u00a0€." in text
    lyon = re.search(r'<tr id="academy-10">(.*?)</tr>', text, re.S)
    assert lyon is not None
    assert lyon.group(1).count(format_euros(150_050)) == 3  # received, in the pool, unspent
    replay = client.post("/admin/dotations", data=data, follow_redirects=True)
    assert "déjà été enregistrée" in page_text(replay)
    assert services.pool_balance("10", YEAR) == 150_050


def test_a_bad_funding_amount_is_shown_on_the_field(client: FlaskClient, auth: AuthActions) -> None:
    services.ensure_school_year(YEAR)
    auth.login(factories.with_role(Role.ADMIN).email)
    token = token_of(client.get("/admin/academies"))
    response = client.post(
        "/admin/dotations", data={"academy_code": "10", "amount": "12,345", "token": token}
    )
    assert response.status_code == 422
    text = page_text(response)
    assert "« 12,345 » a plus de deux décimales" in text
    assert 'id="amount-errors"' in text
    assert services.pool_balance("10", YEAR) == 0


def test_a_manager_cannot_fund(client: FlaskClient, manager: User) -> None:
    response = client.post("/admin/dotations", data={"academy_code": "01", "amount": "10"})
    assert response.status_code == 403
    assert client.get("/admin/academies").status_code == 403
