"""Notifications: what the service tells people, in their list (`/notifications`, the bell
of the header) and by e-mail. See `services` for how a feature declares and sends one."""

from app.notifications.models import Topic
from app.notifications.services import Notice, event, notify, notify_many

__all__ = ["Notice", "Topic", "event", "notify", "notify_many"]
