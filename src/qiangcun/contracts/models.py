"""Contracts on the collective's assets (合同) and the money they bring (应收尽收).

A contract — a lease, a contracting-out (发包), a transfer of use rights, a share-in — fixes its rent and
its payment schedule; from them the contract's receivables (应收) are made once, when it is recorded. A
payment is recorded against the contract and posts exactly one ledger row (``ledger.Entry`` with
``source="contract"``): the village never types the income twice. What a payment pays is worked out
first in, first out over the receivables (``contracts.selectors``); a payment beyond everything due is
held as paid in advance (预收)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from qiangcun.assets.models import Asset, LandClass
from qiangcun.core.money import MoneyField
from qiangcun.core.scope import ScopedQuerySet
from qiangcun.ledger.models import Category, DevelopmentPath, Entry
from qiangcun.orgs.models import OrgUnit


class Kind(models.TextChoices):
    LEASE = "lease", _("租赁")
    CONTRACTING = "contracting", _("发包")
    TRANSFER = "transfer", _("有偿转让（经营权流转）")
    SHARE = "share", _("入股")


class PriceMode(models.TextChoices):
    PER_MU_YEAR = "per_mu_year", _("按亩每年")
    PER_YEAR = "per_year", _("每年固定金额")
    LUMP_SUM = "lump_sum", _("全期一次总价")


class Schedule(models.TextChoices):
    ANNUAL = "annual", _("每年一付")
    HALF_YEARLY = "half_yearly", _("半年一付")
    UPFRONT = "upfront", _("全期一次付清")


class Method(models.TextChoices):
    TENDER = "tender", _("公开招标")
    AUCTION = "auction", _("竞价")
    NEGOTIATION = "negotiation", _("协商")


class PartyKind(models.TextChoices):
    PERSON = "person", _("个人")
    COMPANY = "company", _("单位")


class ContractStatus(models.TextChoices):
    ACTIVE = "active", _("履行中")
    TERMINATED = "terminated", _("已解除")


class ContractSettings(models.Model):
    """A township's rules for contract income: where a payment is posted in the ledger and whether a lump
    sum for several years counts toward each year's target only for that year's share (分年确认)."""

    township = models.OneToOneField(
        OrgUnit, verbose_name=_("乡镇"), on_delete=models.PROTECT, related_name="contract_settings"
    )
    spread_lump_sums = models.BooleanField(
        _("多年租金分年计入目标"),
        default=True,
        help_text=_("一次收取多年的租金，每年只按当年应得的份额计入目标任务"),
    )
    category = models.ForeignKey(
        Category, verbose_name=_("收款计入的收入类别"), on_delete=models.PROTECT, related_name="+"
    )
    path = models.ForeignKey(
        DevelopmentPath, verbose_name=_("收款计入的增收路子"), on_delete=models.PROTECT, related_name="+"
    )
    #: A rent per 亩 below this share of the township's median for the same land class is flagged.
    low_rent_ratio = models.DecimalField(
        _("租金偏低预警线（占中位数）"), max_digits=4, decimal_places=2, default=Decimal("0.60")
    )
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("合同收入设置")
        verbose_name_plural = _("合同收入设置")

    def __str__(self) -> str:
        return f"{self.township} 合同收入设置"


class ContractQuerySet(ScopedQuerySet):
    scope_path_field = "village__path"


class Contract(models.Model):
    village = models.ForeignKey(
        OrgUnit, verbose_name=_("村"), on_delete=models.PROTECT, related_name="contracts"
    )
    code = models.CharField(_("合同编号"), max_length=40)
    title = models.CharField(_("合同名称"), max_length=100)
    kind = models.CharField(_("合同类型"), max_length=16, choices=Kind.choices)
    #: The register items let (土地, 坑塘, 房屋 …); they are 出租 / 发包 / 入股 while the contract runs.
    assets = models.ManyToManyField(Asset, verbose_name=_("标的资产"), blank=True, related_name="contracts")
    land_class = models.CharField(_("地类"), max_length=16, blank=True, choices=LandClass.choices)
    area_mu = models.DecimalField(_("面积（亩）"), max_digits=12, decimal_places=2, null=True, blank=True)
    party_kind = models.CharField(_("承租方类型"), max_length=8, choices=PartyKind.choices)
    party_name = models.CharField(_("承租方"), max_length=100)
    #: 居民身份证号码 of a person (checked by ``core.pii``), 统一社会信用代码 of a company; shown masked.
    party_id_number = models.CharField(_("证件号码"), max_length=18, blank=True)
    party_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    start = models.DateField(_("起始日期"))
    end = models.DateField(_("终止日期"))
    price_mode = models.CharField(_("计价方式"), max_length=16, choices=PriceMode.choices)
    price = MoneyField(_("单价或总价（元）"))
    escalation_percent = models.DecimalField(
        _("递增比例（%）"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    escalation_every = models.PositiveSmallIntegerField(_("每几年递增一次"), default=0)
    schedule = models.CharField(_("付款方式"), max_length=16, choices=Schedule.choices)
    due_days = models.PositiveSmallIntegerField(_("每期开始后几日内交清"), default=30)
    deposit = MoneyField(_("保证金（元）"), default=Decimal("0.00"))
    method = models.CharField(_("发包方式"), max_length=16, choices=Method.choices)
    signed_on = models.DateField(_("签订日期"), null=True, blank=True)
    scan = models.FileField(_("合同扫描件"), upload_to="contracts/%Y/", blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=ContractStatus.choices, default=ContractStatus.ACTIVE
    )
    terminated_on = models.DateField(_("解除日期"), null=True, blank=True)
    termination_reason = models.CharField(_("解除原因"), max_length=200, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    objects = ContractQuerySet.as_manager()

    class Meta:
        verbose_name = _("合同")
        verbose_name_plural = _("合同")
        ordering = ["village__path", "code"]
        constraints = [
            models.UniqueConstraint(fields=["village", "code"], name="contract_code_once_per_village"),
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="contract_ends_after_start"),
            models.CheckConstraint(condition=Q(price__gt=Decimal("0")), name="contract_price_positive"),
            models.CheckConstraint(
                condition=Q(deposit__gte=Decimal("0")), name="contract_deposit_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Receivable(models.Model):
    """One instalment the contract says is due (应收): the period it pays for, its due date, its amount."""

    contract = models.ForeignKey(
        Contract, verbose_name=_("合同"), on_delete=models.CASCADE, related_name="receivables"
    )
    seq = models.PositiveSmallIntegerField(_("期次"))
    period_start = models.DateField(_("所属期起"))
    period_end = models.DateField(_("所属期止"))
    due_date = models.DateField(_("应收日期"))
    amount = MoneyField(_("应收金额（元）"))
    #: Instalments after the day a contract was ended are no longer owed.
    cancelled = models.BooleanField(_("已随合同解除取消"), default=False)

    class Meta:
        verbose_name = _("应收款")
        verbose_name_plural = _("应收款")
        ordering = ["contract", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "seq"], name="receivable_seq_once"),
            models.CheckConstraint(condition=Q(amount__gt=Decimal("0")), name="receivable_amount_positive"),
        ]
        indexes = [models.Index(fields=["due_date"])]

    def __str__(self) -> str:
        return f"{self.contract_id} 第{self.seq}期 {self.amount}"


class PaymentQuerySet(ScopedQuerySet):
    scope_path_field = "contract__village__path"


class Payment(models.Model):
    """Money received on a contract (a refund: a negative amount), and the one ledger row it posted."""

    contract = models.ForeignKey(
        Contract, verbose_name=_("合同"), on_delete=models.PROTECT, related_name="payments"
    )
    date = models.DateField(_("收款日期"))
    amount = MoneyField(_("金额（元）"))
    entry = models.OneToOneField(
        Entry, verbose_name=_("台账记录"), on_delete=models.PROTECT, related_name="contract_payment"
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("合同收款")
        verbose_name_plural = _("合同收款")
        ordering = ["contract", "date", "id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=Decimal("0")), name="payment_not_zero")]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.date} {self.amount}"

    @property
    def is_refund(self) -> bool:
        return self.amount < 0
