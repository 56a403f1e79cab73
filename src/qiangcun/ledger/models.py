"""The income work ledger (《村级集体经济增收工作台账》): one row per collective income item."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qiangcun.core.money import MoneyField
from qiangcun.core.scope import ScopedQuerySet
from qiangcun.orgs.models import OrgUnit


class AccountLine(models.TextChoices):
    """Income lines of 《农村集体经济组织会计制度》."""

    OPERATING = "operating", _("经营收入")
    CONTRACTING = "contracting", _("发包及上交收入")
    INVESTMENT = "investment", _("投资收益")
    SUBSIDY = "subsidy", _("补助收入")
    OTHER = "other", _("其他收入")


class Category(models.Model):
    """An income category. Which categories count toward targets is a setting of each year (kept by
    the year's campaign); ``counts_toward_target`` is the installation's default for a new year."""

    line = models.CharField(_("会计科目"), max_length=16, choices=AccountLine.choices, unique=True)
    name = models.CharField(_("名称"), max_length=32, unique=True)
    counts_toward_target = models.BooleanField(
        _("新年度默认计入目标"),
        default=True,
        help_text=_("只决定新建年度的默认选择；已建立的年度各有自己的“计入目标的类别”"),
    )
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("收入类别")
        verbose_name_plural = _("收入类别")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class DevelopmentPath(models.Model):
    """A development path (增收路子): 土地流转, 现代农业, 光伏发电 …"""

    name = models.CharField(_("名称"), max_length=32, unique=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("增收路子")
        verbose_name_plural = _("增收路子")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class Status(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审核")
    VERIFIED = "verified", _("已审核")
    RETURNED = "returned", _("已退回")


EDITABLE_STATUSES = (Status.DRAFT, Status.RETURNED)


class Source(models.TextChoices):
    TYPED = "", _("录入")
    CONTRACT = "contract", _("合同收款")


class EntryQuerySet(ScopedQuerySet):
    scope_path_field = "village__path"


class Entry(models.Model):
    """One income item of a village. Verified rows are frozen (the database refuses to change them);
    a mistake is corrected by a reversing row that points at the original."""

    village = models.ForeignKey(
        OrgUnit, verbose_name=_("村"), on_delete=models.PROTECT, related_name="ledger_entries"
    )
    date = models.DateField(_("收入日期"))
    amount = MoneyField(_("金额（元）"))
    category = models.ForeignKey(Category, verbose_name=_("收入类别"), on_delete=models.PROTECT)
    path = models.ForeignKey(DevelopmentPath, verbose_name=_("增收路子"), on_delete=models.PROTECT)
    summary = models.CharField(_("摘要"), max_length=200)
    counterparty = models.CharField(_("付款单位"), max_length=100, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("冲销原记录"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversal",
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    return_reason = models.CharField(_("退回原因"), max_length=200, blank=True)
    #: Bumped by every service write of the row. An edit form (and an API client) carries the version it
    #: was shown; a save whose version is no longer the row's is refused (two people editing one draft).
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    import_batch = models.ForeignKey(
        "ImportBatch",
        verbose_name=_("导入批次"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    #: Where the row came from when no one typed it: "contract" — posted by recording a contract's payment
    #: (the contracts app); such a row is changed, deleted or reversed through its payment, not by hand.
    source = models.CharField(
        _("来源"), max_length=16, blank=True, default="", db_default="", choices=Source.choices
    )
    #: A lump sum spread over its years (分年确认): the row is the receipt; what counts toward each year's
    #: target is its :class:`Recognition` lines, not its amount.
    spread = models.BooleanField(_("分年确认"), default=False, db_default=False)

    objects = EntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("台账记录")
        verbose_name_plural = _("台账记录")
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["village", "date"]),
            models.Index(fields=["status", "date"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=Decimal("0")), name="entry_amount_not_zero"),
            models.CheckConstraint(
                condition=~Q(status="returned") | ~Q(return_reason=""), name="entry_returned_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(status="verified") | Q(reviewed_by__isnull=False, reviewed_at__isnull=False),
                name="entry_verified_has_reviewer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village} {self.date} {self.amount}"

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


def evidence_upload_to(instance: Evidence, filename: str) -> str:
    return f"evidence/{instance.entry.village.code}/{instance.entry_id}/{filename}"


class Evidence(models.Model):
    """A file backing an entry: a receipt, a contract page, a photo."""

    entry = models.ForeignKey(
        Entry, verbose_name=_("台账记录"), on_delete=models.PROTECT, related_name="evidence"
    )
    file = models.FileField(_("文件"), upload_to=evidence_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("凭证")
        verbose_name_plural = _("凭证")

    def __str__(self) -> str:
        return self.original_name


class ImportBatch(models.Model):
    """One imported workbook: who, which file (by its SHA-256), how many rows came in or were skipped."""

    class Kind(models.TextChoices):
        LEDGER = "ledger", _("台账")
        UNITS = "units", _("组织")
        TARGETS = "targets", _("目标")

    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    file_name = models.CharField(_("文件名"), max_length=255)
    sha256 = models.CharField(_("文件摘要"), max_length=64, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("导入人"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("导入时间"), auto_now_add=True)
    rows_imported = models.PositiveIntegerField(_("导入行数"), default=0)
    rows_duplicate = models.PositiveIntegerField(_("重复跳过"), default=0)
    rows_skipped = models.PositiveIntegerField(_("空行合计行跳过"), default=0)
    as_verified = models.BooleanField(_("按已审核导入"), default=False)

    class Meta:
        verbose_name = _("导入记录")
        verbose_name_plural = _("导入记录")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"


class RequestKey(models.Model):
    """A one-time key of an entry form (hidden field) or of an API request (``Idempotency-Key``).

    The first write with a key records it here with the row it made (and, for the API, the answer it
    gave); the same key again from the same person within a day gets that row — or that answer —
    instead of a second row. ``fingerprint`` tells a repeat (same content) from a misuse (other content)."""

    class Kind(models.TextChoices):
        FORM = "form", _("录入表单")
        API = "api", _("接口请求")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("来源"), max_length=8, choices=Kind.choices)
    key = models.CharField(_("键"), max_length=128)
    fingerprint = models.CharField(_("内容摘要"), max_length=64)
    entry = models.ForeignKey(
        Entry, verbose_name=_("台账记录"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.PositiveSmallIntegerField(_("应答状态"), null=True, blank=True)
    answer = models.JSONField(_("应答内容"), null=True, blank=True)
    created_at = models.DateTimeField(_("使用时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("防重复提交键")
        verbose_name_plural = _("防重复提交键")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "key"], name="requestkey_once_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key}"


class MonthIncome(models.Model):
    """The roll-up the progress table reads: verified income of one village, in one category, in one
    month — the sum of its verified ledger rows and how many there are.

    Kept by the services in the same transaction as the rows it adds up (a row counts here the moment
    it is verified: ``entry_verify``, a verified import); never written by hand. ``qiangcun rollup
    --check`` compares it with the ledger and ``--rebuild`` makes it again from the ledger. A month,
    not a day: at the ledger's pace (about 15 rows a village a month) a table per day is as long as the
    ledger itself; the progress table adds the rows of the last few weeks from the ledger."""

    village = models.ForeignKey(OrgUnit, verbose_name=_("村"), on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(
        Category, verbose_name=_("收入类别"), on_delete=models.PROTECT, related_name="+"
    )
    month = models.DateField(_("月份（当月1日）"))
    amount = MoneyField(_("已审核收入（元）"))
    rows = models.PositiveIntegerField(_("记录条数"))

    class Meta:
        verbose_name = _("月度收入汇总")
        verbose_name_plural = _("月度收入汇总")
        constraints = [
            models.UniqueConstraint(fields=["village", "category", "month"], name="monthincome_once"),
        ]
        indexes = [models.Index(fields=["month", "village"])]

    def __str__(self) -> str:
        return f"{self.village_id} {self.month:%Y-%m} {self.amount}"


class YearIncome(models.Model):
    """The year's running total beside the monthly lines: verified income of one village, in one
    category, in one year. A table "as of today" — no verified row of the year dated after it — reads
    these (a province: 70,000 × 5 lines) instead of every month's; kept, checked and rebuilt with
    :class:`MonthIncome` (``ledger.rollup``)."""

    village = models.ForeignKey(OrgUnit, verbose_name=_("村"), on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(
        Category, verbose_name=_("收入类别"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    amount = MoneyField(_("已审核收入（元）"))
    rows = models.PositiveIntegerField(_("记录条数"))

    class Meta:
        verbose_name = _("年度收入汇总")
        verbose_name_plural = _("年度收入汇总")
        constraints = [
            models.UniqueConstraint(fields=["village", "category", "year"], name="yearincome_once"),
        ]
        indexes = [models.Index(fields=["year", "village"])]

    def __str__(self) -> str:
        return f"{self.village_id} {self.year} {self.amount}"


class RecognitionQuerySet(ScopedQuerySet):
    scope_path_field = "village__path"


class Recognition(models.Model):
    """One year's share of a lump sum spread over its years (分年确认): a rent paid for five years up front
    counts one fifth toward each year's target. The lines of a row add up to its amount; they are made with
    the row and frozen with it (a reversal has the opposite lines). The receipt year's share (and any share
    for an earlier year: money for a past year counts when it arrives) is dated on the row's date; a later
    year's share on 1 January of that year. ``village`` and ``category`` repeat the row's, so the progress
    table reads the shares as it reads ledger rows."""

    entry = models.ForeignKey(
        Entry, verbose_name=_("台账记录"), on_delete=models.CASCADE, related_name="recognitions"
    )
    village = models.ForeignKey(OrgUnit, verbose_name=_("村"), on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(
        Category, verbose_name=_("收入类别"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("计入年度"))
    date = models.DateField(_("计入日期"))
    amount = MoneyField(_("计入金额（元）"))

    objects = RecognitionQuerySet.as_manager()

    class Meta:
        verbose_name = _("分年确认")
        verbose_name_plural = _("分年确认")
        ordering = ["entry", "year"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "year"], name="recognition_once_a_year"),
            models.CheckConstraint(condition=~Q(amount=Decimal("0")), name="recognition_amount_not_zero"),
        ]
        indexes = [models.Index(fields=["date"])]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.year} {self.amount}"
