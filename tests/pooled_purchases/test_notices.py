"""The mails of a pooled purchase, in French, to the right people: started (the school's
teachers), joined (the starter and earlier contributors), completed, refunded."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.pooled_purchases import services
from tests.conftest import Mailbox
from tests.pooled_purchases.conftest import Staff


def _subjects(mailbox: Mailbox, address: str) -> list[str]:
    """The subjects of the pooled purchase mails `address` received."""
    subjects = [str(message["Subject"]) for message in mailbox.inbox.to(address)]
    return [subject for subject in subjects if "crédit" not in subject]


def test_the_mails_of_a_completed_purchase(staff: Staff, mailbox: Mailbox) -> None:
    deadline = services.today() + timedelta(days=10)
    pooled = services.start(staff.camille, staff.atlas.id, deadline=deadline, share_cents=10_00)
    services.join(staff.dominique, pooled.id, 10_00)
    services.join(staff.sacha, pooled.id, 20_00)
    db.session.commit()
    mailbox.deliver()

    assert _subjects(mailbox, staff.camille.email) == [
        "Achat groupé lancé : Atlas des océans",
        "Nouvelle participation : Atlas des océans",
        "Nouvelle participation : Atlas des océans",
        "Achat groupé financé : Atlas des océans",
    ]
    assert _subjects(mailbox, staff.sacha.email) == [
        "Achat groupé lancé : Atlas des océans",
        "Achat groupé financé : Atlas des océans",
    ]
    assert _subjects(mailbox, staff.outsider.email) == []
    (started,) = [
        m for m in mailbox.inbox.to(staff.dominique.email) if "lancé" in str(m["Subject"])
    ]
    text = started.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Camille Durand a lancé un achat groupé de « Atlas des océans »" in text


def test_the_mail_of_an_expired_purchase(staff: Staff, mailbox: Mailbox) -> None:
    deadline = services.today() + timedelta(days=10)
    pooled = services.start(staff.camille, staff.atlas.id, deadline=deadline, share_cents=12_50)
    db.session.commit()
    services.end_due(deadline + timedelta(days=1))
    db.session.commit()
    mailbox.deliver()

    (refunded,) = [
        m for m in mailbox.inbox.to(staff.camille.email) if "rendue" in str(m["Subject"])
    ]
    text = refunded.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Votre participation de 12,50\u00a0€ a été rendue à votre crédit." in text
    assert pooled.id
