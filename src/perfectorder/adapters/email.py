"""Email over SMTP (plain, STARTTLS or TLS), one connection per message: simple and robust."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from perfectorder.services.outbox_ports import DeliveryFailed, Email


class SmtpMailer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        security: str = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._security, self._username, self._password, self._timeout = security, username, password, timeout

    def send(self, email: Email) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self._sender, email.to, email.subject
        # The outbox id, so a mail client (or a test) sees a retried email as the same message.
        message["Message-ID"] = f"<{email.message_id}@perfectorder>"
        message["Date"] = formatdate(localtime=False)
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        try:
            with self._connect() as smtp:
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as e:
            raise DeliveryFailed(f"SMTP {type(e).__name__}: {e}") from e

    def _connect(self) -> smtplib.SMTP:
        if self._security == "tls":
            return smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        if self._security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp
