"""Import jobs: one upload on the import page, checked and then imported."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    """One upload on the import page: checked (a dry run) and then, once confirmed, imported.
    Small files run inside the request; large ones in the background worker with a progress bar."""

    class Stage(models.TextChoices):
        CHECK = "check", _("检查")
        IMPORT = "import", _("导入")

    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("进行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("出错")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("类型"), max_length=16)
    file_name = models.CharField(_("文件名"), max_length=255)
    options = models.JSONField(_("选项"), default=dict)
    stage = models.CharField(_("阶段"), max_length=8, choices=Stage.choices, default=Stage.CHECK)
    state = models.CharField(_("状态"), max_length=8, choices=State.choices, default=State.QUEUED)
    rows_total = models.PositiveIntegerField(_("总行数"), default=0)
    rows_read = models.PositiveIntegerField(_("已读行数"), default=0)
    result = models.JSONField(_("结果"), default=dict)
    #: The process running the job (``core.serving.process_label``): a job whose process is gone died with
    #: it — a server killed or restarted mid-way — and is failed at once instead of after a timeout.
    runner = models.CharField(_("运行进程"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} {self.get_stage_display()} {self.get_state_display()}"

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(self.rows_read * 100 / self.rows_total))

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)
