"""The request a page or API call has once it is signed in: ``require`` (pages) and the API's
authentication let no anonymous request through, so views can hand ``request.user`` to services
that take a :class:`User`."""

from __future__ import annotations

from django.http import HttpRequest

from qiangcun.accounts.models import User


class AuthedRequest(HttpRequest):
    user: User
