from __future__ import annotations

import pytest

from sharestack.auth.passwords import check, problem
from sharestack.email import EmailMessage
from sharestack.email.smtp import SmtpMailer
from sharestack.errors import InvalidInput


@pytest.mark.parametrize("common", ["password", "PASSWORD", "123456789", "qwerty123", "iloveyou"])
def test_the_most_common_passwords_are_refused(common: str) -> None:
    assert problem(common.ljust(8, "1") if len(common) < 8 else common) is not None


def test_length_bounds() -> None:
    assert problem("x7!kq2") == "at least 8 characters"
    assert problem("x" * 129) == "at most 128 characters"
    assert problem("正确的马电池订书钉") is None


def test_the_own_email_is_refused() -> None:
    assert problem("Writer@Example.com", email="writer@example.com") is not None
    assert problem("writer42", email="writer42@example.com") is not None
    assert problem("writer42", email="someone@example.com") is None


def test_check_names_the_field() -> None:
    with pytest.raises(InvalidInput) as raised:
        check("password1", field="new_password")
    assert raised.value.fields is not None
    assert "new_password" in raised.value.fields


def test_smtp_message_headers() -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=25, sender="ShareStack <no-reply@example.com>")
    message = EmailMessage(to="a@example.com", subject="重置密码 reset", text="链接 link")
    mime = mailer._mime(message)
    assert mime["To"] == "a@example.com"
    assert mime["From"] == "ShareStack <no-reply@example.com>"
    assert mime["Message-ID"].endswith("@example.com>")
    assert "链接 link" in mime.get_content()
