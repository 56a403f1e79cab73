"""Today for the platform: the local date in Asia/Shanghai, or ``QIANGCUN_TODAY`` when pinned (the demo)."""

import datetime

from django.conf import settings
from django.utils import timezone


def today() -> datetime.date:
    pinned: datetime.date | None = getattr(settings, "TODAY", None)
    return pinned or timezone.localdate()
