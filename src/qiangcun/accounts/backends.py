"""Sign-in by username without regard to case or width (NFKC, as usernames are stored): usernames are unique without case (``check_username``),
so ``LiSi`` and ``lisi`` are one person and either spelling signs them in."""

from __future__ import annotations

import unicodedata
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from qiangcun.accounts.models import User


class CaseInsensitiveModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None or password is None:
            return None
        username = unicodedata.normalize("NFKC", username).strip()
        matches = list(User.objects.filter(username__iexact=username)[:2])
        if len(matches) != 1:  # none, or two left from before the rule: only the exact spelling counts
            matches = [u for u in matches if u.username == username]
        if not matches:
            User().set_password(password)  # same time as a real check: no hint that the name exists
            return None
        user = matches[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, first in line for every sign-in from a request (the login page,
    re-authentication). A call without a request — the test client's ``login``, a management command —
    has no address to count and is not a sign-in from the network; it passes on to the password check."""

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        super().authenticate(request, username, password, **kwargs)
        return None
