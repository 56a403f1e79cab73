"""Writes to the asset register and to 清产核资. Every function checks the actor's scope, validates, writes
and records the change in the same transaction.

Who may do what: register writes and counting need ``Action.ASSETS`` on the village (the township admin,
the village secretary and clerk); signing a round off needs ``Action.VERIFY`` on it (station head, district
secretary, township admin) and must be done by someone other than the person who started the round."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from qiangcun.assets.models import (
    Asset,
    AssetFile,
    AssetKind,
    AssetStatus,
    FileKind,
    ItemType,
    LandClass,
    LineResult,
    RoundLine,
    RoundStatus,
    VerificationRound,
)
from qiangcun.core import audit
from qiangcun.core.errors import PermissionDeniedError, ServiceError
from qiangcun.core.files import sniff
from qiangcun.core.money import FEN, MAX_YUAN
from qiangcun.core.scope import Action, Actor, allowed
from qiangcun.core.text import text_problem
from qiangcun.orgs.models import Level, OrgUnit

__all__ = [
    "AssetData",
    "CountData",
    "StaleAssetError",
    "asset_create",
    "asset_file_add",
    "asset_set_status",
    "asset_update",
    "file_type",
    "round_add_found",
    "round_line_count",
    "round_sign",
    "round_start",
]

MAX_AREA = Decimal("9999999999.99")
AREA_STEP = Decimal("0.01")
CODE = re.compile(r"[0-9A-Za-z\-_.]{1,32}", re.ASCII)
ASSET_FIELDS = [
    "village",
    "code",
    "name",
    "kind",
    "land_class",
    "item_type",
    "area_mu",
    "floor_area_m2",
    "value",
    "location",
    "boundaries",
    "status",
    "acquired_on",
    "note",
    "version",
]
#: The prefix of the codes the register gives (a 盘盈 item entering it): 资源 ZY, 经营 JY, 非经营 FJ.
CODE_PREFIX = {AssetKind.RESOURCE: "ZY", AssetKind.OPERATING: "JY", AssetKind.NON_OPERATING: "FJ"}


@dataclass(frozen=True)
class AssetData:
    """What a register form (or an import, or the demo) says about an asset."""

    code: str
    name: str
    kind: str
    land_class: str = ""
    item_type: str = ""
    area_mu: Decimal | None = None
    floor_area_m2: Decimal | None = None
    value: Decimal | None = None
    location: str = ""
    boundaries: str = ""
    status: str = AssetStatus.IN_USE
    acquired_on: datetime.date | None = None
    note: str = ""


@dataclass(frozen=True)
class CountData:
    """What was counted for one line of a round: found or not, and if found its area, value and status."""

    found: bool
    area_mu: Decimal | None = None
    value: Decimal | None = None
    status: str = ""
    note: str = ""


# --------------------------------------------------------------------------------------------- checks


def _text(value: object, label: str, limit: int, field: str, *, required: bool = False) -> str:
    text = (value if isinstance(value, str) else "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if required and not text:
        raise ServiceError(f"请填写{label}", field=field)
    if len(text) > limit:
        raise ServiceError(f"{label}最多 {limit} 个字（现有 {len(text)} 个）", field=field)
    problem = text_problem(text)
    if problem:
        raise ServiceError(f"{label}{problem}", field=field)
    return text


def _area(value: object, label: str, field: str) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ServiceError(f"{label}不是数字", field=field)
    if value < 0:
        raise ServiceError(f"{label}不能为负数", field=field)
    if value > MAX_AREA:
        raise ServiceError(f"{label}超出范围", field=field)
    if value != value.quantize(AREA_STEP):
        raise ServiceError(f"{label}最多两位小数", field=field)
    return value.quantize(AREA_STEP)


def _money(value: object, label: str, field: str) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ServiceError(f"{label}不是金额", field=field)
    if value < 0:
        raise ServiceError(f"{label}不能为负数", field=field)
    if value > MAX_YUAN:
        raise ServiceError(f"{label}超过上限 {MAX_YUAN:,.2f} 元", field=field)
    if value != value.quantize(FEN):
        raise ServiceError(f"{label}最多两位小数（到分）", field=field)
    return value.quantize(FEN)


def _choice(value: object, choices: Any, label: str, field: str, *, blank: bool = False) -> str:
    if blank and value in ("", None):
        return ""
    if value not in choices.values:
        raise ServiceError(f"{label}应为{'、'.join(str(x) for x in choices.labels)}之一", field=field)
    return str(value)


def _may(actor: Actor, action: str, village: OrgUnit, message: str) -> None:
    if not allowed(actor, action, village.path):
        raise PermissionDeniedError(message)


def _is_village(village: OrgUnit) -> None:
    if village.level != Level.VILLAGE:
        raise ServiceError("资产按行政村登记，请选择一个村", field="village")


def _clean(data: AssetData) -> dict[str, Any]:
    """The validated fields of an asset; a Chinese error naming the field otherwise."""
    code = _text(data.code, "资产编号", 32, "code", required=True)
    if not CODE.fullmatch(code):
        raise ServiceError("资产编号只能用字母、数字和 - _ .（如 ZY-001）", field="code")
    kind = _choice(data.kind, AssetKind, "类别", "kind")
    resource = kind == AssetKind.RESOURCE
    land_class = _choice(data.land_class, LandClass, "地类", "land_class", blank=True)
    item_type = _choice(data.item_type, ItemType, "资产类型", "item_type", blank=True)
    if land_class and not resource:
        raise ServiceError("只有资源性资产（土地等）才有地类", field="land_class")
    if item_type and resource:
        raise ServiceError("资源性资产按地类登记，不填资产类型", field="item_type")
    area = _area(data.area_mu, "面积（亩）", "area_mu")
    if resource and not land_class:
        raise ServiceError("请选择地类（耕地、林地、坑塘水面……）", field="land_class")
    if resource and area is None:
        raise ServiceError("资源性资产请填写面积（亩）", field="area_mu")
    if data.acquired_on is not None and not isinstance(data.acquired_on, datetime.date):
        raise ServiceError("取得日期不是日期", field="acquired_on")
    return {
        "code": code,
        "name": _text(data.name, "名称", 100, "name", required=True),
        "kind": kind,
        "land_class": land_class,
        "item_type": item_type,
        "area_mu": area,
        "floor_area_m2": _area(data.floor_area_m2, "建筑面积（平方米）", "floor_area_m2"),
        "value": _money(data.value, "账面价值", "value"),
        "location": _text(data.location, "坐落", 200, "location"),
        "boundaries": _text(data.boundaries, "四至", 200, "boundaries"),
        "status": _choice(data.status, AssetStatus, "状态", "status"),
        "acquired_on": data.acquired_on,
        "note": _text(data.note, "备注", 500, "note"),
    }


def _code_free(village: OrgUnit, code: str, exclude: int | None = None) -> None:
    taken = Asset.objects.filter(village=village, code=code)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ServiceError(f"资产编号 {code} 在{village.name}已经用过，请换一个", field="code")


def snap(asset: Asset) -> dict[str, Any]:
    return audit.snapshot(asset, ASSET_FIELDS)


class StaleAssetError(ServiceError):
    """The asset changed since the form was loaded: nothing was saved."""

    def __init__(self, asset: Asset) -> None:
        super().__init__(
            f"资产“{asset.code} {asset.name}”已被他人修改过（现为第 {asset.version} 版），您的修改没有保存。"
            "请刷新后重新填写。",
            code="stale",
        )
        self.asset = asset


def _lock(asset: Asset) -> Asset:
    return Asset.objects.select_for_update().select_related("village").get(pk=asset.pk)


def _check_version(asset: Asset, expected: int | None) -> None:
    if expected is not None and expected != asset.version:
        raise StaleAssetError(asset)


# ------------------------------------------------------------------------------------------- register


@transaction.atomic
def asset_create(*, actor: Actor, village: OrgUnit, data: AssetData) -> Asset:
    """Enter an asset into the village's register."""
    _may(actor, Action.ASSETS, village, "您没有登记该村资产的权限")
    _is_village(village)
    fields = _clean(data)
    _code_free(village, fields["code"])
    try:
        with transaction.atomic():
            asset = Asset.objects.create(village=village, created_by_id=actor.pk, **fields)
    except IntegrityError:
        raise ServiceError(
            f"资产编号 {fields['code']} 在{village.name}已经用过，请换一个", field="code"
        ) from None
    audit.record(actor=actor, action="asset.create", obj=asset, after=snap(asset), unit_path=village.path)
    return asset


@transaction.atomic
def asset_update(
    *, actor: Actor, asset: Asset, data: AssetData, expected_version: int | None = None
) -> Asset:
    """Change an asset. ``expected_version``: the version the form was loaded from; if the asset has
    changed since, :class:`StaleAssetError` and nothing saved."""
    asset = _lock(asset)
    _may(actor, Action.ASSETS, asset.village, "您没有修改该村资产的权限")
    _check_version(asset, expected_version)
    fields = _clean(data)
    _code_free(asset.village, fields["code"], exclude=asset.pk)
    before = snap(asset)
    for name, value in fields.items():
        setattr(asset, name, value)
    asset.version += 1
    asset.save()
    audit.record(
        actor=actor,
        action="asset.update",
        obj=asset,
        before=before,
        after=snap(asset),
        unit_path=asset.village.path,
    )
    return asset


@transaction.atomic
def asset_set_status(
    *, actor: Actor, asset: Asset, status: str, note: str = "", expected_version: int | None = None
) -> Asset:
    """Change only the status of an asset (闲置 → 出租, → 待处置 …), with a reason for the change log."""
    asset = _lock(asset)
    _may(actor, Action.ASSETS, asset.village, "您没有修改该村资产的权限")
    _check_version(asset, expected_version)
    status = _choice(status, AssetStatus, "状态", "status")
    note = _text(note, "说明", 200, "note")
    if status == asset.status:
        raise ServiceError(f"该资产已经是“{asset.get_status_display()}”", field="status")
    before = snap(asset)
    asset.status = status
    asset.version += 1
    asset.save(update_fields=["status", "version", "updated_at"])
    audit.record(
        actor=actor,
        action="asset.status",
        obj=asset,
        before=before,
        after=snap(asset),
        unit_path=asset.village.path,
        note=note,
    )
    return asset


#: Files accepted for an asset, recognised by their first bytes (never by name or declared type).
FILE_TYPES = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WebP",
    "image/heic": "HEIC",
}


def file_type(head: bytes) -> str | None:
    """The content type of a file from its first 16 bytes, or None if it is not one of :data:`FILE_TYPES`."""
    kind = sniff(head)
    return kind if kind in FILE_TYPES else None


def _head(upload: UploadedFile) -> bytes:
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    return bytes(head)


@transaction.atomic
def asset_file_add(
    *, actor: Actor, asset: Asset, files: Iterable[UploadedFile], kind: str = FileKind.PHOTO
) -> list[AssetFile]:
    """Attach photos or documents (PDF, JPEG, PNG, WebP, HEIC) to an asset. Every file is checked before
    any is written."""
    asset = _lock(asset)
    _may(actor, Action.ASSETS, asset.village, "您没有为该村资产上传附件的权限")
    kind = _choice(kind, FileKind, "附件类型", "kind")
    uploads = list(files)
    if not uploads:
        raise ServiceError("请选择要上传的文件", field="files")
    for upload in uploads:
        name = (upload.name or "附件")[:200]
        if upload.size and upload.size > settings.EVIDENCE_MAX_BYTES:
            raise ServiceError(f"文件“{name}”超过 10 MB", field="files")
        if file_type(_head(upload)) is None:
            raise ServiceError(
                f"文件“{name}”不是 PDF 或照片（JPEG、PNG、WebP、HEIC），不能上传", field="files"
            )
    added = []
    for upload in uploads:
        name = (upload.name or "附件")[:200]
        made = AssetFile(asset=asset, kind=kind, original_name=name, uploaded_by_id=actor.pk)
        made.file.save(upload.name or "file", upload, save=True)
        audit.record(
            actor=actor,
            action="asset.file_add",
            obj=made,
            after={"asset": asset.pk, "name": name, "kind": kind},
            unit_path=asset.village.path,
        )
        added.append(made)
    return added


# ------------------------------------------------------------------------------------------ 清产核资


def _round_snap(r: VerificationRound) -> dict[str, Any]:
    return audit.snapshot(
        r, ["village", "base_date", "status", "started_by", "signed_by", "signed_at", "note"]
    )


def _line_snap(line: RoundLine) -> dict[str, Any]:
    return audit.snapshot(
        line,
        [
            "round",
            "asset",
            "added",
            "name",
            "kind",
            "area_mu",
            "value",
            "status",
            "counted",
            "found",
            "counted_area_mu",
            "counted_value",
            "counted_status",
            "counted_note",
            "result",
        ],
    )


def _lock_round(r: VerificationRound) -> VerificationRound:
    return VerificationRound.objects.select_for_update().select_related("village").get(pk=r.pk)


def _open(r: VerificationRound) -> None:
    if r.status != RoundStatus.OPEN:
        raise ServiceError("该次清产核资已签字确认，不能再修改", code="state")


@transaction.atomic
def round_start(
    *,
    actor: Actor,
    village: OrgUnit,
    base_date: datetime.date,
    note: str = "",
    started_at: datetime.datetime | None = None,
) -> VerificationRound:
    """Open a 清产核资 round: a line for every asset of the village not yet disposed of, holding the register
    as it stands now (the snapshot, never changed by later edits of the assets). ``started_at``: when, if
    not now (a round recorded afterwards, the demo)."""
    _may(actor, Action.ASSETS, village, "您没有在该村开展清产核资的权限")
    _is_village(village)
    if not isinstance(base_date, datetime.date):
        raise ServiceError("请填写清查基准日", field="base_date")
    note = _text(note, "说明", 500, "note")
    OrgUnit.objects.select_for_update().filter(pk=village.pk).first()  # one round at a time per village
    if VerificationRound.objects.filter(village=village, status=RoundStatus.OPEN).exists():
        raise ServiceError(f"{village.name}已有一次清产核资正在进行，请先完成并签字确认", field="base_date")
    try:
        with transaction.atomic():
            r = VerificationRound.objects.create(
                village=village,
                base_date=base_date,
                started_by_id=actor.pk,
                note=note,
                started_at=started_at or timezone.now(),
            )
    except IntegrityError:
        raise ServiceError(f"{village.name}已有一次清产核资正在进行", field="base_date") from None
    kinds = list(AssetKind.values)  # the form's order: 资源性, 经营性, 非经营性
    assets = sorted(
        Asset.objects.filter(village=village).exclude(status=AssetStatus.DISPOSED),
        key=lambda a: (kinds.index(a.kind), a.code, a.pk),
    )
    lines = [
        RoundLine(
            round=r,
            asset=a,
            position=i,
            code=a.code,
            name=a.name,
            kind=a.kind,
            land_class=a.land_class,
            item_type=a.item_type,
            location=a.location,
            area_mu=a.area_mu,
            value=a.value,
            status=a.status,
        )
        for i, a in enumerate(assets, start=1)
    ]
    RoundLine.objects.bulk_create(lines)
    audit.record(
        actor=actor,
        action="round.start",
        obj=r,
        after={**_round_snap(r), "lines": len(lines)},
        unit_path=village.path,
    )
    return r


def compute_result(line: RoundLine) -> str:
    """一致, 盘盈, 盘亏 or 变动 for a counted line: an added item is 盘盈, one not found 盘亏; otherwise the
    differences of area and value decide (all up: 盘盈, all down: 盘亏, mixed or only the status: 变动)."""
    if not line.counted:
        return LineResult.PENDING
    if line.added:
        return LineResult.SURPLUS
    if not line.found:
        return LineResult.LOSS
    diffs = [d for d in (line.area_diff, line.value_diff) if d]
    if not diffs:
        return (
            LineResult.CHANGED
            if line.counted_status and line.counted_status != line.status
            else LineResult.SAME
        )
    if all(d > 0 for d in diffs):
        return LineResult.SURPLUS
    if all(d < 0 for d in diffs):
        return LineResult.LOSS
    return LineResult.CHANGED


@transaction.atomic
def round_line_count(*, actor: Actor, line: RoundLine, data: CountData) -> RoundLine:
    """Record what was counted for one line. A value left empty is taken as the book value (counted the
    same); an item not found is 盘亏."""
    line = RoundLine.objects.select_for_update().select_related("round__village").get(pk=line.pk)
    r = _lock_round(line.round)
    _may(actor, Action.ASSETS, r.village, "您没有在该村清查资产的权限")
    _open(r)
    if not isinstance(data.found, bool):
        raise ServiceError("请选择是否实存", field="found")
    note = _text(data.note, "差异说明", 500, "note")
    before = _line_snap(line)
    line.counted = True
    line.found = data.found
    line.counted_by_id = actor.pk
    line.counted_note = note
    if data.found:
        area = _area(data.area_mu, "清查面积（亩）", "area_mu")
        value = _money(data.value, "清查价值", "value")
        # Left empty: the book figure — for an item added in the round (盘盈, no book figure), what it was
        # counted at before.
        book_area = line.counted_area_mu if line.added else line.area_mu
        book_value = line.counted_value if line.added else line.value
        line.counted_area_mu = book_area if area is None else area
        line.counted_value = book_value if value is None else value
        status = _choice(data.status, AssetStatus, "清查状态", "status", blank=True)
        if status == AssetStatus.DISPOSED:
            raise ServiceError("实存的资产不能是“已处置”；已不在的请选“未找到”", field="status")
        line.counted_status = status or line.status
    else:
        if line.added:
            raise ServiceError("清查中新增的资产一定是实存的", field="found")
        if not note:
            raise ServiceError("资产未找到（盘亏）时请填写差异说明", field="note")
        line.counted_area_mu = None
        line.counted_value = None
        line.counted_status = AssetStatus.DISPOSED
    line.result = compute_result(line)
    line.save()
    audit.record(
        actor=actor,
        action="round.count",
        obj=line,
        before=before,
        after=_line_snap(line),
        unit_path=r.village.path,
    )
    return line


@transaction.atomic
def round_add_found(
    *,
    actor: Actor,
    round: VerificationRound,
    name: str,
    kind: str,
    land_class: str = "",
    item_type: str = "",
    location: str = "",
    area_mu: Decimal | None = None,
    value: Decimal | None = None,
    status: str = AssetStatus.IN_USE,
    note: str = "",
) -> RoundLine:
    """An item found in the count that the register does not have (盘盈). It enters the register when the
    round is signed."""
    r = _lock_round(round)
    _may(actor, Action.ASSETS, r.village, "您没有在该村清查资产的权限")
    _open(r)
    placeholder = AssetData(
        code="NEW",
        name=name,
        kind=kind,
        land_class=land_class,
        item_type=item_type,
        area_mu=area_mu,
        value=value,
        location=location,
        status=status or AssetStatus.IN_USE,
        note=note,
    )
    fields = _clean(placeholder)
    if fields["status"] == AssetStatus.DISPOSED:
        raise ServiceError("盘盈的资产不能是“已处置”", field="status")
    if not fields["note"]:
        raise ServiceError("请在差异说明中写明盘盈的来由（如：历年未入账的坑塘）", field="note")
    position = (r.lines.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    line = RoundLine.objects.create(
        round=r,
        asset=None,
        added=True,
        position=position,
        name=fields["name"],
        kind=fields["kind"],
        land_class=fields["land_class"],
        item_type=fields["item_type"],
        location=fields["location"],
        counted=True,
        found=True,
        counted_area_mu=fields["area_mu"],
        counted_value=fields["value"],
        counted_status=fields["status"],
        counted_note=fields["note"],
        counted_by_id=actor.pk,
    )
    line.result = compute_result(line)
    line.save(update_fields=["result"])
    audit.record(
        actor=actor, action="round.add_found", obj=line, after=_line_snap(line), unit_path=r.village.path
    )
    return line


def next_code(village: OrgUnit, kind: str) -> str:
    prefix = CODE_PREFIX.get(AssetKind(kind), "ZC")
    codes = Asset.objects.filter(village=village, code__startswith=f"{prefix}-").values_list(
        "code", flat=True
    )
    numbers = [int(c[len(prefix) + 1 :]) for c in codes if c[len(prefix) + 1 :].isdigit()]
    return f"{prefix}-{max(numbers, default=0) + 1:03d}"


@transaction.atomic
def round_sign(
    *,
    actor: Actor,
    round: VerificationRound,
    note: str = "",
    signed_at: datetime.datetime | None = None,
) -> VerificationRound:
    """Sign a round off (审核确认): by a second person, holding ``VERIFY`` on the village, once every line is
    counted. The counted figures go back to the register as recorded changes: a found item takes its counted
    area, value and status; one not found is marked 已处置; an added item (盘盈) enters the register.
    ``signed_at``: when, if not now (the demo)."""
    r = _lock_round(round)
    village = r.village
    _may(actor, Action.VERIFY, village, "您没有审核确认该村清产核资的权限")
    _open(r)
    if r.started_by_id == actor.pk:
        raise PermissionDeniedError("清产核资须由发起人以外的另一人审核确认")
    note = _text(note, "审核意见", 500, "note")
    lines = list(r.lines.select_for_update().order_by("position", "pk"))
    pending = [line for line in lines if not line.counted]
    if pending:
        names = "、".join(line.name for line in pending[:3])
        more = f"等 {len(pending)} 项" if len(pending) > 3 else ""
        raise ServiceError(f"还有资产未清查：{names}{more}。请全部清查后再确认", code="state")
    where = f"{village.name} {r.base_date:%Y-%m-%d} 清产核资"
    for line in lines:
        if line.added:
            asset = Asset.objects.create(
                village=village,
                code=next_code(village, line.kind),
                name=line.name,
                kind=line.kind,
                land_class=line.land_class,
                item_type=line.item_type,
                area_mu=line.counted_area_mu,
                value=line.counted_value,
                location=line.location,
                status=line.counted_status or AssetStatus.IN_USE,
                note=f"{where}盘盈：{line.counted_note}"[:500],
                created_by_id=actor.pk,
            )
            audit.record(
                actor=actor,
                action="asset.create",
                obj=asset,
                after=snap(asset),
                unit_path=village.path,
                note=where,
            )
            line.asset = asset
            line.save(update_fields=["asset"])
            continue
        if line.result == LineResult.SAME or line.asset_id is None:
            continue
        asset = _lock(Asset(pk=line.asset_id))
        before = snap(asset)
        if line.found:
            # Only what the count found different from the round's snapshot: an edit made to the register
            # while the round was open (a parcel let meanwhile) is not undone by a line counted the same.
            if line.counted_area_mu != line.area_mu:
                asset.area_mu = line.counted_area_mu
            if line.counted_value != line.value:
                asset.value = line.counted_value
            if line.counted_status and line.counted_status != line.status:
                asset.status = line.counted_status
        else:
            asset.status = AssetStatus.DISPOSED
        if before == snap(asset):
            continue
        asset.version += 1
        asset.save()
        audit.record(
            actor=actor,
            action="asset.verify",
            obj=asset,
            before=before,
            after=snap(asset),
            unit_path=village.path,
            note=f"{where}{line.get_result_display()}：{line.counted_note}"[:500],
        )
    before_round = _round_snap(r)
    r.status = RoundStatus.SIGNED
    r.signed_by_id = actor.pk
    r.signed_at = signed_at or timezone.now()
    if note:
        r.note = (f"{r.note}\n审核意见：{note}" if r.note else f"审核意见：{note}")[:500]
    r.save()
    audit.record(
        actor=actor,
        action="round.sign",
        obj=r,
        before=before_round,
        after=_round_snap(r),
        unit_path=village.path,
    )
    return r
