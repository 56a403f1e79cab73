from typing import Any

from django.conf import settings
from django.http import HttpRequest

from qiangcun.core.clock import today


def site(request: HttpRequest) -> dict[str, Any]:
    return {"DEMO": settings.DEMO, "TODAY": today()}
