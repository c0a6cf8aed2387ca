"""Mail through the outbox, against a real SMTP server (aiosmtpd on 127.0.0.1): both parts,
headers, links from PUBLIC_URL, retries on 4xx, death on 5xx, one connection per batch."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app, mail
from app.accounts import services as accounts
from app.accounts.models import Role
from app.core import jobs
from app.core.db import utcnow
from app.core.jobs import Job, JobStatus
from app.extensions import db
from tests import factories
from tests.conftest import AuthActions, Mailbox
from tests.helpers import page_text
from tests.smtp import link, parts


def mail_jobs() -> list[Job]:
    return list(db.session.scalars(select(Job).where(Job.kind == "mail").order_by(Job.id)))


def make_ready(job: Job) -> None:
    """Skip the backoff wait of a job the test wants to run again now."""
    job.run_after = utcnow() - timedelta(seconds=1)
    db.session.commit()


def test_a_message_has_both_parts_its_headers_and_links_to_the_public_address(
    app: Flask, client: FlaskClient, session: Session, mailbox: Mailbox
) -> None:
    user = factories.teacher(email="anne.martin@ac-lyon.fr", name="Anne Martin")
    # A request whose Host header lies: the link still points at PUBLIC_URL.
    client.post(
        "/mot-de-passe-oublie", data={"email": user.email}, headers={"Host": "pirate.example"}
    )
    (message,) = mailbox.deliver().messages
    assert message["Subject"] == "Choisir un nouveau mot de passe"
    assert message["To"].addresses[0].addr_spec == "anne.martin@ac-lyon.fr"
    assert message["To"].addresses[0].display_name == "Anne Martin"
    assert "ne-pas-repondre@" in message["From"]
    message_id = str(message["Message-ID"]).strip()
    assert message_id.startswith("<")
    assert message_id.endswith(">")
    assert "@" in message_id
    assert message["Date"].datetime is not None
    text, html = parts(message)
    assert "Bonjour Anne Martin," in text
    assert "<" not in text.replace("<http", "")
    assert "Bonjour Anne Martin," in html
    assert "<a href=" in html
    assert "src=" not in html  # no remote (nor any) image
    path = link(message, "/mot-de-passe/")
    assert f"{app.config['PUBLIC_URL']}{path}" in text
    assert "pirate.example" not in text + html


def test_a_message_is_queued_with_its_transaction_and_lost_with_its_rollback(
    app: Flask, session: Session, mailbox: Mailbox
) -> None:
    user = factories.teacher()
    nested = db.session.begin_nested()
    accounts.request_password_reset(user.email)
    nested.rollback()
    assert mail_jobs() == []
    accounts.request_password_reset(user.email)
    assert mailbox.inbox.messages == []  # nothing leaves before the worker runs it
    db.session.commit()
    assert len(mailbox.deliver().messages) == 1


def test_a_temporary_refusal_is_retried_and_the_message_arrives_once(
    app: Flask, session: Session, mailbox: Mailbox
) -> None:
    user = factories.teacher()
    mailbox.inbox.answers.append("451 4.7.1 Greylisted, try again later")
    accounts.request_password_reset(user.email)
    db.session.commit()
    assert mailbox.deliver().messages == []
    (job,) = mail_jobs()
    assert job.status is JobStatus.QUEUED
    assert job.attempts == 1
    assert "réessayer plus tard" in (job.last_error or "")
    assert "451" in (job.last_error or "")
    assert job.run_after > utcnow()  # backoff
    make_ready(job)
    assert len(mailbox.deliver().messages) == 1
    db.session.refresh(job)
    assert job.status is JobStatus.DONE
    assert job.attempts == 2
    assert len(mailbox.deliver().messages) == 1  # not sent again


def test_a_permanent_refusal_kills_the_job_at_once_and_the_admin_sees_why(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session, mailbox: Mailbox
) -> None:
    user = factories.teacher(email="parti@ac-lyon.fr")
    mailbox.inbox.answers.append("550 5.1.1 No such user here")
    accounts.request_password_reset(user.email)
    db.session.commit()
    assert mailbox.deliver().messages == []
    (job,) = mail_jobs()
    assert job.status is JobStatus.DEAD
    assert job.attempts == 1
    admin = factories.with_role(Role.ADMIN)
    auth.login(admin.email)
    page = page_text(client.get("/admin/taches"))
    assert "Courriel « Nouveau mot de passe » à parti@ac-lyon.fr" in page
    assert "refusé définitivement" in page
    assert "550 5.1.1 No such user here" in page


def test_an_unreachable_server_is_retried(app: Flask, session: Session, mailbox: Mailbox) -> None:
    user = factories.teacher()
    accounts.request_password_reset(user.email)
    db.session.commit()
    app.config["MAIL_URL"] = "smtp://127.0.0.1:9"  # nothing listens there (mailbox restores)
    jobs.work(once=True, kinds=["mail"])
    (job,) = mail_jobs()
    assert job.status is JobStatus.QUEUED
    assert "injoignable" in (job.last_error or "")


def test_one_worker_sends_a_batch_over_one_connection(
    app: Flask, session: Session, mailbox: Mailbox
) -> None:
    users = [factories.teacher() for _ in range(5)]
    for user in users:
        accounts.request_password_reset(user.email)
    db.session.commit()
    inbox = mailbox.deliver()
    assert len(inbox.messages) == 5
    assert inbox.sessions == 1


def test_a_refused_message_does_not_stop_the_batch(
    app: Flask, session: Session, mailbox: Mailbox
) -> None:
    users = [factories.teacher() for _ in range(3)]
    mailbox.inbox.answers += ["250", "550 5.1.1 Unknown"]
    for user in users:
        accounts.request_password_reset(user.email)
    db.session.commit()
    inbox = mailbox.deliver()
    assert len(inbox.messages) == 2
    assert [job.status for job in mail_jobs()] == [JobStatus.DONE, JobStatus.DEAD, JobStatus.DONE]


def test_a_message_with_nothing_left_to_say_is_not_sent(
    app: Flask, session: Session, mailbox: Mailbox
) -> None:
    waiting = accounts.create_user("nouvelle@ac-lyon.fr", "Nouvelle")
    accounts.send_activation(waiting)
    waiting.password_hash = factories.PASSWORD_HASH  # activated meanwhile (ProConnect, say)
    db.session.commit()
    assert mailbox.deliver().messages == []
    assert [job.status for job in mail_jobs()] == [JobStatus.DONE]


def test_send_many_queues_one_job_per_row_and_never_twice(
    app: Flask, session: Session, mailbox: Mailbox
) -> None:
    from app.accounts.models import User

    for n in range(3):
        accounts.create_user(f"lot{n}@ac-lyon.fr", f"Lot {n}")
    waiting = select(User.id.label("user"), User.email.label("to")).where(
        User.email.like("lot%"), User.password_hash.is_(None)
    )
    assert mail.send_many("account_activation", waiting, key="user") == 3
    assert mail.send_many("account_activation", waiting, key="user") == 0
    db.session.commit()
    inbox = mailbox.deliver()
    assert sorted(str(m["To"]) for m in inbox.messages) == [
        "Lot 0 <lot0@ac-lyon.fr>",
        "Lot 1 <lot1@ac-lyon.fr>",
        "Lot 2 <lot2@ac-lyon.fr>",
    ]


def test_development_writes_eml_files_and_lists_them_at_demo_courriels(
    tmp_path: Path, app: Flask, session: Session
) -> None:
    dev = create_app(
        "test",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        DEMO_PEERS=True,
        MAIL_URL=f"file://{tmp_path}",
    )
    dev.test_client_class = type(app.test_client())
    with dev.app_context():
        user = factories.teacher(email="camille.dev@ac-lyon.fr")
        accounts.request_password_reset(user.email)
        db.session.commit()
        jobs.work(once=True, kinds=["mail"])
    (eml,) = tmp_path.glob("*.eml")
    client = dev.test_client()
    inbox = page_text(client.get("/demo/courriels"))
    assert "camille.dev@ac-lyon.fr" in inbox
    assert "Choisir un nouveau mot de passe" in inbox
    letter = client.get(f"/demo/courriels/{eml.name}")
    assert letter.status_code == 200
    body = letter.get_data(as_text=True)
    assert "/mot-de-passe/" in body
    assert "Version texte" in page_text(letter)
    assert client.get("/demo/courriels/..%2Fconfig.py").status_code == 404


def test_the_mail_page_is_not_there_outside_development(client: FlaskClient) -> None:
    assert client.get("/demo/courriels").status_code == 404


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://relais.example:2525", ("smtp", "relais.example", 2525, None, None)),
        ("smtps://u%40x:p%3Aw@smtp.example", ("smtps", "smtp.example", 465, "u@x", "p:w")),
        ("smtp+starttls://smtp.example", ("smtp+starttls", "smtp.example", 587, None, None)),
    ],
)
def test_mail_url_forms(url: str, expected: tuple[object, ...]) -> None:
    from app.mail.transport import parse

    server = parse(url)
    assert not isinstance(server, Path)
    assert (server.scheme, server.host, server.port, server.user, server.password) == expected


def test_an_unknown_mail_url_is_refused_clearly() -> None:
    from app.mail.transport import parse

    with pytest.raises(ValueError, match="MAIL_URL non reconnue"):
        parse("imap://serveur")
