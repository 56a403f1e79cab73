"""三资 (资金、资产、资源): the collective asset register of each village, and 清产核资 — dated
verification rounds that freeze a snapshot of the register, record what was counted, and, once signed
off by a second person, write the differences (盘盈 / 盘亏 / 变动) back to the register."""

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


class AssetKind(models.TextChoices):
    RESOURCE = "resource", _("资源性资产")
    OPERATING = "operating", _("经营性资产")
    NON_OPERATING = "non_operating", _("非经营性资产")


class LandClass(models.TextChoices):
    """First-level classes of GB/T 21010-2017 (plus 坑塘水面, which villages let out on its own)."""

    ARABLE = "arable", _("耕地")
    GARDEN = "garden", _("园地")
    FOREST = "forest", _("林地")
    GRASS = "grass", _("草地")
    POND = "pond", _("坑塘水面")
    FACILITY = "facility", _("设施农用地")
    ROAD = "road", _("农村道路")
    CONSTRUCTION = "construction", _("建设用地")
    UNUSED = "unused", _("未利用地")
    OTHER = "other", _("其他")


class ItemType(models.TextChoices):
    """What an operating or non-operating asset is."""

    BUILDING = "building", _("房屋建筑物")
    EQUIPMENT = "equipment", _("机器设备")
    PV = "pv", _("光伏电站")
    EQUITY = "equity", _("对外投资（股权）")
    INFRASTRUCTURE = "infrastructure", _("基础设施")
    OTHER = "other", _("其他")


class AssetStatus(models.TextChoices):
    IN_USE = "in_use", _("在用")
    IDLE = "idle", _("闲置")
    LEASED = "leased", _("出租")
    CONTRACTED = "contracted", _("发包")
    INVESTED = "invested", _("入股")
    PENDING = "pending", _("待处置")
    DISPOSED = "disposed", _("已处置")


class AssetQuerySet(ScopedQuerySet):
    scope_path_field = "village__path"


class Asset(models.Model):
    """One item of a village's register: a piece of land (资源性资产, area in 亩), a building, a machine, a PV
    station, a share (经营性资产) or a public-welfare facility (非经营性资产). ``version`` goes up with each
    write, so that an edit made from a stale form is refused."""

    village = models.ForeignKey(
        OrgUnit, verbose_name=_("村"), on_delete=models.PROTECT, related_name="assets"
    )
    code = models.CharField(_("资产编号"), max_length=32)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类别"), max_length=16, choices=AssetKind.choices)
    land_class = models.CharField(_("地类"), max_length=16, choices=LandClass.choices, blank=True)
    item_type = models.CharField(_("资产类型"), max_length=16, choices=ItemType.choices, blank=True)
    area_mu = models.DecimalField(_("面积（亩）"), max_digits=12, decimal_places=2, null=True, blank=True)
    floor_area_m2 = models.DecimalField(
        _("建筑面积（平方米）"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    value = MoneyField(_("账面价值（元）"), null=True, blank=True)
    location = models.CharField(_("坐落"), max_length=200, blank=True)
    boundaries = models.CharField(_("四至"), max_length=200, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=AssetStatus.choices, default=AssetStatus.IN_USE
    )
    acquired_on = models.DateField(_("取得日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)
    version = models.PositiveIntegerField(_("版本"), default=1)

    objects = AssetQuerySet.as_manager()

    class Meta:
        verbose_name = _("集体资产")
        verbose_name_plural = _("集体资产")
        ordering = ["village__path", "code", "id"]
        constraints = [
            models.UniqueConstraint(fields=["village", "code"], name="asset_code_unique_per_village"),
            models.CheckConstraint(
                condition=Q(kind__in=["resource", "operating", "non_operating"]), name="asset_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in AssetStatus]), name="asset_status_known"
            ),
            models.CheckConstraint(
                condition=Q(area_mu__isnull=True) | Q(area_mu__gte=Decimal("0")),
                name="asset_area_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(floor_area_m2__isnull=True) | Q(floor_area_m2__gte=Decimal("0")),
                name="asset_floor_area_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=Decimal("0")), name="asset_value_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(land_class="") | Q(kind="resource"), name="asset_land_class_only_resource"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def type_label(self) -> str:
        """The land class of a resource, the item type of anything else ("" when not given)."""
        if self.kind == AssetKind.RESOURCE:
            return self.get_land_class_display() if self.land_class else ""
        return self.get_item_type_display() if self.item_type else ""


class FileKind(models.TextChoices):
    PHOTO = "photo", _("照片")
    DOCUMENT = "document", _("文件")


def asset_upload_to(instance: AssetFile, filename: str) -> str:
    return f"assets/{instance.asset.village.code}/{instance.asset_id}/{filename}"


class AssetFileQuerySet(ScopedQuerySet):
    scope_path_field = "asset__village__path"


class AssetFile(models.Model):
    """A photo of an asset or a document about it (a title deed, a survey, an appraisal)."""

    asset = models.ForeignKey(Asset, verbose_name=_("资产"), on_delete=models.PROTECT, related_name="files")
    file = models.FileField(_("文件"), upload_to=asset_upload_to)
    kind = models.CharField(_("类型"), max_length=16, choices=FileKind.choices, default=FileKind.PHOTO)
    original_name = models.CharField(_("原文件名"), max_length=200)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    objects = AssetFileQuerySet.as_manager()

    class Meta:
        verbose_name = _("资产附件")
        verbose_name_plural = _("资产附件")
        ordering = ["asset", "uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class RoundStatus(models.TextChoices):
    OPEN = "open", _("清查中")
    SIGNED = "signed", _("已签字确认")


class RoundQuerySet(ScopedQuerySet):
    scope_path_field = "village__path"


class VerificationRound(models.Model):
    """A 清产核资 round of a village at a base date (清查基准日). One round of a village is open at a time;
    a signed round is read-only."""

    village = models.ForeignKey(
        OrgUnit, verbose_name=_("村"), on_delete=models.PROTECT, related_name="verification_rounds"
    )
    base_date = models.DateField(_("清查基准日"))
    status = models.CharField(_("状态"), max_length=16, choices=RoundStatus.choices, default=RoundStatus.OPEN)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发起人"), on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("发起时间"), default=timezone.now)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核确认人"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    signed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)

    objects = RoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("清产核资")
        verbose_name_plural = _("清产核资")
        ordering = ["village__path", "-base_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["open", "signed"]), name="round_status_known"),
            models.UniqueConstraint(
                fields=["village"], condition=Q(status="open"), name="round_one_open_per_village"
            ),
            models.CheckConstraint(
                condition=(Q(status="signed") & Q(signed_by__isnull=False) & Q(signed_at__isnull=False))
                | (Q(status="open") & Q(signed_by__isnull=True) & Q(signed_at__isnull=True)),
                name="round_signed_iff_signer",
            ),
            models.CheckConstraint(
                condition=Q(signed_by__isnull=True) | ~Q(signed_by=models.F("started_by")),
                name="round_signer_not_starter",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village.name} {self.base_date:%Y-%m-%d} 清产核资"

    @property
    def is_open(self) -> bool:
        return self.status == RoundStatus.OPEN


class LineResult(models.TextChoices):
    PENDING = "", _("未清查")
    SAME = "same", _("一致")
    SURPLUS = "surplus", _("盘盈")
    LOSS = "loss", _("盘亏")
    CHANGED = "changed", _("变动")


class RoundLineQuerySet(ScopedQuerySet):
    scope_path_field = "round__village__path"


class RoundLine(models.Model):
    """One line of a round: the asset as the register had it when the round started (the snapshot, never
    changed afterwards) and what was counted. ``asset`` is empty for an item found that the register did not
    have (盘盈, ``added``); it is filled in when the round is signed and the item enters the register."""

    round = models.ForeignKey(
        VerificationRound, verbose_name=_("清查"), on_delete=models.CASCADE, related_name="lines"
    )
    asset = models.ForeignKey(
        Asset,
        verbose_name=_("资产"),
        on_delete=models.PROTECT,
        related_name="round_lines",
        null=True,
        blank=True,
    )
    position = models.PositiveIntegerField(_("序号"), default=0)
    added = models.BooleanField(_("清查新增（盘盈）"), default=False)
    # the snapshot (账面数)
    code = models.CharField(_("资产编号"), max_length=32, blank=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类别"), max_length=16, choices=AssetKind.choices)
    land_class = models.CharField(_("地类"), max_length=16, choices=LandClass.choices, blank=True)
    item_type = models.CharField(_("资产类型"), max_length=16, choices=ItemType.choices, blank=True)
    location = models.CharField(_("坐落"), max_length=200, blank=True)
    area_mu = models.DecimalField(_("账面面积（亩）"), max_digits=12, decimal_places=2, null=True, blank=True)
    value = MoneyField(_("账面价值（元）"), null=True, blank=True)
    status = models.CharField(_("账面状态"), max_length=16, choices=AssetStatus.choices, blank=True)
    # what was counted (清查数)
    counted = models.BooleanField(_("已清查"), default=False)
    found = models.BooleanField(_("实存"), default=True)
    counted_area_mu = models.DecimalField(
        _("清查面积（亩）"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    counted_value = MoneyField(_("清查价值（元）"), null=True, blank=True)
    counted_status = models.CharField(_("清查状态"), max_length=16, choices=AssetStatus.choices, blank=True)
    counted_note = models.CharField(_("差异说明"), max_length=500, blank=True)
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("清查人"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    result = models.CharField(_("清查结果"), max_length=16, choices=LineResult.choices, blank=True)

    objects = RoundLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("清查明细")
        verbose_name_plural = _("清查明细")
        ordering = ["round", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(result__in=["", "same", "surplus", "loss", "changed"]),
                name="roundline_result_known",
            ),
            models.CheckConstraint(
                condition=Q(counted_area_mu__isnull=True) | Q(counted_area_mu__gte=Decimal("0")),
                name="roundline_area_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(counted_value__isnull=True) | Q(counted_value__gte=Decimal("0")),
                name="roundline_value_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}·{self.position} {self.name}"

    @property
    def area_diff(self) -> Decimal | None:
        if not self.counted:
            return None
        book = Decimal("0") if self.added else (self.area_mu or Decimal("0"))
        have = (self.counted_area_mu or Decimal("0")) if self.found else Decimal("0")
        return have - book

    @property
    def value_diff(self) -> Decimal | None:
        if not self.counted:
            return None
        book = Decimal("0") if self.added else (self.value or Decimal("0"))
        have = (self.counted_value or Decimal("0")) if self.found else Decimal("0")
        return have - book
