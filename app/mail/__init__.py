"""E-mail: every message is a job of the outbox, rendered and sent after commit.

A feature declares each of its messages once, next to its services::

    @mail.message("account_activation")
    def account_activation(payload):  # runs in the worker, just before sending
        user = db.session.get(User, payload["user"])
        return mail.Letter(to=user.email, name=user.name, context={...})

with one template, `mail/account_activation.html`, holding the blocks `subject`,
`text` (the plain-text part) and `body` (the HTML part, inside `mail/layout.html`).
Then one call sends it, in the business transaction: ``mail.send("account_activation",
{"user": user.id}, key=...)``; `send_many` queues one per row of a SELECT, in one
statement (an allocation registering 870,000 teachers).

The letter is built when the job runs, not when it is queued: it reads the data as it is
then, and a builder returns None when there is nothing to say any more (the teacher has
activated their account meanwhile). Links are built from `PUBLIC_URL`, never from a
request's Host header. The transport (`MAIL_URL`) is SMTP, or `.eml` files in
development, readable at `/demo/courriels`.
"""

from app.mail.messages import Letter, message, public_url, send, send_many, subject

__all__ = ["Letter", "message", "public_url", "send", "send_many", "subject"]
