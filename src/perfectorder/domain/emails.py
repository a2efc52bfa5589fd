"""E-mail addresses: one mailbox per field, as the email-validator package reads RFC 5322.

Only the syntax is checked (no DNS: check_deliverability=False), so this stays a pure function.
A display name ("X" <a@b.com>), a list (a@b.com, c@d.com), a quoted local part or an IP literal
is refused: each would turn one customer into other or several recipients.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


def email_problem(address: str) -> str | None:
    """Why the text is not one plain e-mail address, or None when it is one."""
    try:
        validate_email(
            address,
            check_deliverability=False,
            # Our mailer speaks plain SMTP: an address that needs SMTPUTF8 would be accepted here
            # and then fail at every delivery attempt.
            allow_smtputf8=False,
            allow_display_name=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
        )
    except EmailNotValidError as e:
        return str(e)
    return None
