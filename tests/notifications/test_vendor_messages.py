"""What a vendor's staff are told: the commission's decisions and a submission refused on the
spot, activation codes running low and out, a licence waiting for them, a label about to
end, a payout sent, and (if they asked) yesterday's orders. Every member is told, nobody
else; each event once, however often it is replayed or its task is run."""

from __future__ import annotations

import socket
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage

import pytest
from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.budgets.services import ensure_school_year
from app.core import dates, jobs
from app.core.dates import PARIS
from app.extensions import db
from app.licences import services as licences
from app.licences.models import Licence
from app.notifications import services as notifications
from app.notifications.models import Notification, Topic
from app.payouts import services as payouts
from app.products.models import Channel, PlanKind, Product
from app.products.services import PlanDraft
from app.vendors import notices as vendor_notices
from app.vendors.models import Vendor
from app.vetting import services as vetting
from app.vetting.models import Decision
from catalog import conduct
from tests import factories
from tests.conftest import AuthActions, Mailbox
from tests.payouts import helpers as money

YEAR = "2026-2027"


def _lines(user: User, event: str) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id, Notification.event == event)
    return list(db.session.scalars(query))


def _text(message: EmailMessage) -> str:
    return str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def _quiet(mailbox: Mailbox) -> None:
    """What setting the scene told (the products' approvals…) is read and forgotten."""
    db.session.commit()
    mailbox.deliver()
    mailbox.inbox.clear()


def _day(on: date) -> str:
    return format_date(on, "long", locale="fr")


@pytest.fixture
def vendor(session: Session) -> Vendor:
    return factories.VendorFactory(legal_name="Éditions Tangram SAS")


@pytest.fixture
def staff(vendor: Vendor) -> list[User]:
    return [
        factories.vendor_member(vendor, name="Valérie Vendeuse", email="valerie@tangram.fr"),
        factories.vendor_member(vendor, name="Paul Produit", email="paul@tangram.fr"),
    ]


@pytest.fixture
def outsider(session: Session) -> User:
    """A member of another vendor: told nothing of Tangram's business."""
    return factories.vendor_member(email="autre@ailleurs.fr")


def _all_met() -> dict[str, bool]:
    return {criterion.code: True for criterion in conduct.label_criteria()}


# --- the commission's decision ---------------------------------------------------------------


def test_an_approval_tells_every_member_with_the_label_expiry_once(
    vendor: Vendor, staff: list[User], outsider: User, mailbox: Mailbox
) -> None:
    ends = dates.today() + timedelta(days=700)
    product = factories.product(vendor, state="in_review", title="Atlas des océans")
    review = vetting.decide(
        factories.with_role(Role.REVIEWER),
        product.latest,
        Decision.APPROVE,
        criteria=_all_met(),
        label_expires_on=ends,
    )
    db.session.commit()

    inbox = mailbox.deliver()

    for member in staff:
        [message] = inbox.to(member.email)
        assert message["Subject"] == "« Atlas des océans » a reçu le label"
        text = _text(message)
        assert _day(ends) in text
        assert f"/editeur/{vendor.id}/produits/{product.id}" in text
        assert "List-Unsubscribe" not in message  # a decision cannot be turned off
        [line] = _lines(member, "product_decision")
        assert line.key == f"product-decision:{review.id}"
    assert inbox.to(outsider.email) == []
    assert _lines(outsider, "product_decision") == []


@pytest.mark.parametrize(
    ("decision", "subject", "said"),
    [
        (
            Decision.CHANGES_REQUESTED,
            "« Atlas des océans » : la commission demande des modifications",
            "Son commentaire :",
        ),
        (Decision.REJECT, "« Atlas des océans » est refusé par la commission", "Motif :"),
    ],
)
def test_changes_requested_or_a_refusal_carry_the_reviewer_s_words(
    vendor: Vendor,
    staff: list[User],
    mailbox: Mailbox,
    decision: Decision,
    subject: str,
    said: str,
) -> None:
    product = factories.product(vendor, state="in_review", title="Atlas des océans")
    comment = "Les données des élèves partent hors de l’Union : précisez l’hébergeur."
    review = vetting.decide(
        factories.with_role(Role.REVIEWER), product.latest, decision, comment=comment
    )
    for _ in range(2):  # a replay
        notifications.notify(
            "product_decision",
            {"review": review.id},
            users=[m.id for m in staff],
            key=f"product-decision:{review.id}",
        )
    db.session.commit()

    inbox = mailbox.deliver()

    for member in staff:
        [message] = inbox.to(member.email)
        assert message["Subject"] == subject
        text = _text(message)
        assert said in text
        assert comment in text
        assert len(_lines(member, "product_decision")) == 1


def test_a_submission_refused_by_a_blocker_is_told_with_the_findings_in_words(
    vendor: Vendor, staff: list[User], outsider: User, mailbox: Mailbox
) -> None:
    declaration = {**conduct.sample_declaration(), "advertising": True}
    product = factories.product(
        vendor, state="draft", title="Atlas des océans", declaration=declaration
    )
    for _ in range(2):  # the vendor clicks twice, nothing changed: one event
        assert not vetting.submit(staff[0], product.latest).accepted
    db.session.commit()
    blocker = next(
        f for f in vetting.findings_of(product.latest) if f.severity is conduct.Severity.BLOCKER
    )

    inbox = mailbox.deliver()

    for member in staff:
        [message] = inbox.to(member.email)
        assert message["Subject"] == "« Atlas des océans » n’a pas pu être soumis à la commission"
        text = _text(message)
        assert blocker.message in text
        assert "advertising" not in text  # words, not the rule's code
        assert f"/editeur/{vendor.id}/produits/{product.id}" in text
        assert len(_lines(member, "submission_blocked")) == 1
    assert inbox.to(outsider.email) == []


# --- activation codes ---------------------------------------------------------------------------


def _codes_product(vendor: Vendor) -> Product:
    return factories.product(vendor, title="Fractions en jeu", channel=Channel.CODES)


def _sold(product: Product, count: int) -> list[Licence]:
    """`count` teachers buy the teacher plan; their provisioning jobs are run."""
    ensure_school_year(YEAR)
    version = product.listed
    assert version is not None
    plan = version.plan(PlanKind.TEACHER)
    assert plan is not None
    bought = []
    for _ in range(count):
        school = factories.SchoolFactory()
        bought.append(
            licences.create_licence(
                version=version,
                plan=plan,
                teacher=factories.teacher(school),
                school=school,
                seats=1,
                school_year_code=YEAR,
                valid_from=date(2026, 9, 1),
            )
        )
    db.session.commit()
    jobs.work(once=True, kinds=["provision"])
    return bought


def _upload(product: Product, *codes: str) -> None:
    licences.upload_codes(None, product, PlanKind.TEACHER, list(codes))
    db.session.commit()


def test_codes_low_once_per_crossing_out_once_and_a_new_upload_rearms_both(
    vendor: Vendor, staff: list[User], outsider: User, mailbox: Mailbox
) -> None:
    vendor.code_alert_threshold = 3
    product = _codes_product(vendor)
    _upload(product, "A-1", "A-2", "A-3", "A-4")
    _quiet(mailbox)
    member = staff[0]

    _sold(product, 1)  # 3 left: not below 3
    assert mailbox.deliver().to(member.email) == []
    _sold(product, 2)  # 2 left, then 1: told once
    [low] = mailbox.deliver().to(member.email)
    assert low["Subject"] == "« Fractions en jeu » : plus que 2 codes d’activation"
    assert f"/editeur/{vendor.id}/codes" in _text(low)
    assert "List-Unsubscribe" in low  # a reminder: may be turned off
    mailbox.inbox.clear()

    _sold(product, 2)  # the last code, then a teacher waits: "out" once
    [out] = mailbox.deliver().to(member.email)
    assert out["Subject"] == "« Fractions en jeu » : plus aucun code d’activation"
    assert "attendent leur licence" in _text(out)
    assert "List-Unsubscribe" not in out  # essential
    mailbox.inbox.clear()

    _upload(product, "B-1", "B-2")  # the waiting licence takes B-1: 1 left, below 3 again
    jobs.work(once=True, kinds=["provision"])
    [again] = mailbox.deliver().to(member.email)
    assert again["Subject"] == "« Fractions en jeu » : plus que 1 code d’activation"
    mailbox.inbox.clear()
    _sold(product, 1)
    [out_again] = mailbox.deliver().to(member.email)
    assert out_again["Subject"] == "« Fractions en jeu » : plus aucun code d’activation"

    assert len(_lines(member, "codes_low")) == 2
    assert len(_lines(member, "codes_out")) == 2
    assert mailbox.inbox.to(outsider.email) == []


def test_codes_low_is_not_mailed_to_whoever_turned_reminders_off(
    vendor: Vendor, staff: list[User], mailbox: Mailbox
) -> None:
    quiet, other = staff
    notifications.choose(quiet.id, Topic.REMINDERS, False)
    product = _codes_product(vendor)  # default threshold: 20
    _upload(product, *(f"C-{n}" for n in range(20)))
    _quiet(mailbox)

    _sold(product, 1)

    inbox = mailbox.deliver()
    assert inbox.to(quiet.email) == []
    assert len(inbox.to(other.email)) == 1
    assert len(_lines(quiet, "codes_low")) == 1  # still in their list


def test_the_threshold_is_set_on_the_codes_page_with_a_french_refusal(
    vendor: Vendor, staff: list[User], client: FlaskClient, auth: AuthActions
) -> None:
    _codes_product(vendor)
    db.session.commit()
    auth.login(staff[0].email)
    page = f"/editeur/{vendor.id}/codes"
    assert "Seuil d’alerte" in client.get(page).get_data(as_text=True)

    refused = client.post(page, data={"action": "threshold", "code_alert_threshold": "beaucoup"})
    assert refused.status_code == 422
    assert "Seuil d&#39;alerte des codes : indiquez un nombre entier" in refused.get_data(
        as_text=True
    )
    too_many = client.post(page, data={"action": "threshold", "code_alert_threshold": "100001"})
    assert too_many.status_code == 422
    assert vendor.code_alert_threshold == 20

    saved = client.post(page, data={"action": "threshold", "code_alert_threshold": "5"})
    assert saved.status_code == 302
    db.session.refresh(vendor)
    assert vendor.code_alert_threshold == 5


# --- a licence waiting for the vendor ----------------------------------------------------------


def _webhook_licence(vendor: Vendor) -> Licence:
    product = factories.product(vendor, title="Chimie en ligne", channel=Channel.WEBHOOK)
    return _sold_unprovisioned(product)


def _sold_unprovisioned(product: Product) -> Licence:
    ensure_school_year(YEAR)
    version = product.listed
    assert version is not None
    plan = version.plan(PlanKind.TEACHER)
    assert plan is not None
    school = factories.SchoolFactory()
    return licences.create_licence(
        version=version,
        plan=plan,
        teacher=factories.teacher(school),
        school=school,
        seats=1,
        school_year_code=YEAR,
        valid_from=date(2026, 9, 1),
    )


def test_a_licence_the_vendor_s_server_could_not_take_is_told_once(
    vendor: Vendor,
    staff: list[User],
    outsider: User,
    mailbox: Mailbox,
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "JOBS_BACKOFF_SECONDS", 0)
    monkeypatch.setitem(app.config, "JOBS_MAX_ATTEMPTS", 2)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = int(sock.getsockname()[1])
    vendor.provisioning_url = f"http://127.0.0.1:{closed}/licences"
    vendor.webhook_secret = "whsec-test-0123456789abcdef"
    licence = _webhook_licence(vendor)
    db.session.commit()
    _quiet(mailbox)

    jobs.work(once=True, kinds=["provision"])  # refused twice: the job dies, the licence fails
    licences.retry(None, licence)  # tried again by hand, down again: no second message
    db.session.commit()
    jobs.work(once=True, kinds=["provision"])

    inbox = mailbox.deliver()
    for member in staff:
        [message] = inbox.to(member.email)
        assert message["Subject"] == f"Licence n°{licence.id} : la livraison a échoué"
        text = _text(message)
        assert "Chimie en ligne" in text
        assert "injoignable" in text  # what we know
        assert "Réessayer" in text  # what to do
        assert f"/editeur/{vendor.id}/licences?statut=failed" in text
        assert len(_lines(member, "licence_needs_action")) == 1
    assert inbox.to(outsider.email) == []


def test_a_failure_the_vendor_reports_itself_is_not_told_back(
    vendor: Vendor, staff: list[User]
) -> None:
    licence = _webhook_licence(vendor)

    licences.fail(licence, "Compte enseignant introuvable chez nous.", None)  # the API's call

    assert _lines(staff[0], "licence_needs_action") == []


def test_a_licence_waiting_a_day_for_confirmation_is_told_once(
    vendor: Vendor, staff: list[User], mailbox: Mailbox
) -> None:
    old = _webhook_licence(vendor)
    old.created_at = datetime.now(PARIS) - timedelta(days=1, hours=1)
    recent = _sold_unprovisioned(old.product)
    db.session.commit()
    _quiet(mailbox)

    assert licences.tell_unconfirmed() == 1
    assert licences.tell_unconfirmed() == 1  # the task run again
    licences.tell_unconfirmed_now()
    db.session.commit()

    inbox = mailbox.deliver()
    for member in staff:
        [message] = inbox.to(member.email)
        assert message["Subject"] == f"Licence n°{old.id} : en attente de votre confirmation"
        assert "confirmez la licence par l’API" in _text(message)
        assert f"/editeur/{vendor.id}/licences?statut=pending" in _text(message)
    assert all(
        line.payload["licence"] != recent.id for line in _lines(staff[0], "licence_needs_action")
    )


# --- the label's end ----------------------------------------------------------------------------


def test_a_label_is_reminded_60_then_15_days_before_its_end_once_each(
    vendor: Vendor, staff: list[User], outsider: User, mailbox: Mailbox
) -> None:
    today = dates.today()
    ends = today + timedelta(days=58)  # the 60 days' mark passed on a day with no run
    product = factories.product(vendor, title="Atlas des océans", label_expires_on=ends)
    factories.product(vendor, title="Loin de la fin", label_expires_on=today + timedelta(days=75))
    db.session.commit()
    _quiet(mailbox)

    assert vetting.remind_label_expiry(today) == 1
    vetting.remind_label_expiry(today)  # run twice
    vetting.remind_label_expiry(today + timedelta(days=1))  # and the next day
    db.session.commit()
    inbox = mailbox.deliver()
    for member in staff:
        [message] = inbox.to(member.email)
        assert message["Subject"] == f"Le label de « Atlas des océans » prend fin le {_day(ends)}"
        text = _text(message)
        assert "dans 58 jours" in text
        assert f"/editeur/{vendor.id}/produits/{product.id}" in text
        assert "List-Unsubscribe" in message
    mailbox.inbox.clear()

    vetting.remind_label_expiry(ends - timedelta(days=15))
    vetting.remind_label_expiry(ends - timedelta(days=15))
    db.session.commit()
    inbox = mailbox.deliver()
    for member in staff:
        [message] = [m for m in inbox.to(member.email) if "Atlas des océans" in m["Subject"]]
        assert "dans 15 jours" in _text(message)
        assert len(_lines(member, "label_expiring")) == 3  # and "Loin de la fin": 60 days
    assert inbox.to(outsider.email) == []


def test_a_label_reminder_is_not_mailed_to_whoever_turned_reminders_off(
    vendor: Vendor, staff: list[User], mailbox: Mailbox
) -> None:
    quiet, other = staff
    notifications.choose(quiet.id, Topic.REMINDERS, False)
    factories.product(vendor, label_expires_on=dates.today() + timedelta(days=10))
    _quiet(mailbox)
    vetting.remind_label_expiry_today()
    db.session.commit()

    inbox = mailbox.deliver()

    assert inbox.to(quiet.email) == []
    assert len(inbox.to(other.email)) == 1
    [line] = _lines(quiet, "label_expiring")
    assert line.key.endswith(":15")


# --- the money --------------------------------------------------------------------------------


@pytest.fixture
def sale(vendor: Vendor, staff: list[User]) -> Product:
    money.with_bank_details(vendor)
    school = factories.SchoolFactory(academy_code="01")
    teacher = factories.teacher(school)
    money.give_credit(teacher, 100_00)
    product = money.on_sale(vendor, "Atlas des océans", 40_00)
    money.buy(teacher, product, money.paris(2026, 9, 10))
    return product


def test_a_manual_payout_is_told_when_the_office_marks_it_paid(
    vendor: Vendor, staff: list[User], outsider: User, sale: Product, mailbox: Mailbox
) -> None:
    money.settle(date(2026, 9, 30), now=money.paris(2026, 10, 5))
    [payout] = money.payouts_of(vendor)
    _quiet(mailbox)
    assert mailbox.deliver().to(staff[0].email) == []  # on the list to pay: not sent yet

    office = factories.with_role(Role.ADMIN)
    payouts.mark_paid(office, payout, "VIR-2026-10-0042")
    db.session.commit()
    payouts._tell_sent(payout)  # a replay
    db.session.commit()

    inbox = mailbox.deliver()
    for member in staff:
        [message] = inbox.to(member.email)
        subject = " ".join(message["Subject"].replace("\u202f", " ").split())
        assert subject == f"Versement {payout.number} envoyé : 40,00 €"
        text = _text(message)
        assert f"/editeur/{vendor.id}/versements/{payout.id}/releve.pdf" in text
        assert "Éditions Tangram SAS" in text
        assert len(_lines(member, "payout_sent")) == 1
    assert inbox.to(outsider.email) == []


def test_a_gateway_payout_is_told_when_transferred(
    vendor: Vendor, staff: list[User], sale: Product, mailbox: Mailbox
) -> None:
    money.settle(date(2026, 9, 30), now=money.paris(2026, 10, 5))
    [payout] = money.payouts_of(vendor)
    _quiet(mailbox)

    class Gateway:
        def transfer(self, payout: object, account: object) -> object:
            return type("Result", (), {"id": "tr_test_1"})()

    payout.gateway = "stripe"
    payouts.transfer(payout, Gateway())  # type: ignore[arg-type]
    db.session.commit()

    [message] = mailbox.deliver().to(staff[0].email)
    assert message["Subject"].startswith(f"Versement {payout.number} envoyé")


# --- the daily digest of orders -----------------------------------------------------------------


def test_the_digest_of_yesterday_s_orders_goes_to_those_who_asked_once(
    vendor: Vendor, staff: list[User], mailbox: Mailbox
) -> None:
    keen, other = staff
    notifications.choose(keen.id, Topic.DIGESTS, True)
    school = factories.SchoolFactory(academy_code="01")
    teacher = factories.teacher(school)
    money.give_credit(teacher, 200_00)
    yesterday = dates.today() - timedelta(days=1)
    at = datetime.combine(yesterday, time(23, 30), tzinfo=PARIS)  # late at night, Paris time
    money.buy(teacher, money.on_sale(vendor, "Atlas des océans", 40_00), at)
    money.buy(
        teacher,
        factories.product(
            vendor, title="Chimie en ligne", plans=[PlanDraft(PlanKind.SCHOOL, 60_00, 2000)]
        ),
        at - timedelta(hours=2),
    )
    money.buy(  # today's order waits for tomorrow's digest
        teacher, money.on_sale(vendor, "Planètes", 25_00), datetime.now(PARIS)
    )

    _quiet(mailbox)

    assert vendor_notices.send_orders_digest(yesterday) == 1
    assert vendor_notices.send_orders_digest(yesterday) == 0  # the task run twice
    vendor_notices.send_yesterdays_orders_digest()
    db.session.commit()

    inbox = mailbox.deliver()
    [message] = inbox.to(keen.email)
    assert message["Subject"] == f"2 commandes de vos produits le {_day(yesterday)}"
    text = _text(message)
    assert "Atlas des océans" in text
    assert "Chimie en ligne" in text
    assert "Planètes" not in text
    assert "100,00" in text
    assert f"du={yesterday.isoformat()}" in text
    assert "List-Unsubscribe" in message
    assert inbox.to(other.email) == []  # digests are opt-in
    assert _lines(other, "orders_digest") == []
    assert vendor_notices.send_orders_digest(yesterday - timedelta(days=1)) == 0  # no orders


def test_nobody_is_told_twice_in_the_jobs_table(vendor: Vendor, staff: list[User]) -> None:
    product = factories.product(vendor, state="in_review")
    review = vetting.decide(
        factories.with_role(Role.REVIEWER), product.latest, Decision.REJECT, comment="Non."
    )
    for _ in range(3):
        notifications.notify(
            "product_decision",
            {"review": review.id},
            users=[m.id for m in staff],
            key=f"product-decision:{review.id}",
        )
    mails = db.session.scalar(
        select(func.count()).select_from(jobs.Job).where(jobs.Job.kind == "mail")
    )
    assert mails == len(staff)
