"""Export jobs: a large export written by the background worker, downloaded by whoever asked for it."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportJob(models.Model):
    """One large export (too many rows to write within a request): written by the background worker into
    ``$QIANGCUN_HOME/media/private/exports`` with a progress bar, downloaded by its requester only."""

    class Kind(models.TextChoices):
        LEDGER = "ledger", _("台账")

    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("进行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("出错")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("导出人"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    options = models.JSONField(_("筛选条件"), default=dict)
    file_name = models.CharField(_("文件名"), max_length=255)
    state = models.CharField(_("状态"), max_length=8, choices=State.choices, default=State.QUEUED)
    rows_total = models.PositiveIntegerField(_("总行数"), default=0)
    rows_done = models.PositiveIntegerField(_("已写行数"), default=0)
    #: The unit paths whose rows the file may hold: the requester's scope when it was written (and the
    #: filter's unit). Its download needs the requester's scope to still cover every one of them.
    scope = models.JSONField(_("写入时的范围"), default=list)
    error = models.TextField(_("出错原因"), blank=True, default="")
    #: The process writing the file (``core.serving.process_label``): a job whose process is gone died with it.
    runner = models.CharField(_("运行进程"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("导出时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} {self.get_state_display()}"

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(self.rows_done * 100 / self.rows_total))

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)
