"""The org-unit tree: county 县 > township 镇 > grid station 网格站 > district 管区 > village 行政村."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from qiangcun.core.scope import ScopedQuerySet


class Level(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    COUNTY = "county", _("县")
    TOWNSHIP = "township", _("镇")
    STATION = "station", _("网格站")
    DISTRICT = "district", _("管区")
    VILLAGE = "village", _("行政村")


#: Which level may sit directly under which.
CHILD_LEVEL = {
    Level.PROVINCE: Level.CITY,
    Level.CITY: Level.COUNTY,
    Level.COUNTY: Level.TOWNSHIP,
    Level.TOWNSHIP: Level.STATION,
    Level.STATION: Level.DISTRICT,
    Level.DISTRICT: Level.VILLAGE,
}

#: The levels above the townships: each township ranks its own villages (its 擂台); above it, a table
#: gathers several townships' boards and is seen only by those granted there.
ABOVE_TOWNSHIP = frozenset({Level.PROVINCE, Level.CITY, Level.COUNTY})


class Tag(models.Model):
    """A cross-cutting set of units: 省级重点贫困村, 软弱涣散村, …"""

    name = models.CharField(_("名称"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("标签")
        verbose_name_plural = _("标签")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrgUnitQuerySet(ScopedQuerySet):
    scope_path_field = "path"

    def under(self, unit: OrgUnit) -> OrgUnitQuerySet:
        """The whole subtree of ``unit``, itself included, in one query."""
        return self.filter(path__startswith=unit.path)


class OrgUnit(models.Model):
    """A unit of the tree. ``path`` is materialized (``/371422/371422106/…/``) so a subtree is one
    ``LIKE 'prefix%'`` on either database."""

    level = models.CharField(_("层级"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    name = models.CharField(_("名称"), max_length=64)
    code = models.CharField(_("代码"), max_length=24, unique=True)
    path = models.CharField(_("路径"), max_length=255, unique=True, editable=False)
    tags = models.ManyToManyField(Tag, verbose_name=_("标签"), blank=True, related_name="units")
    illustrative = models.BooleanField(_("演示虚构"), default=False)

    objects = OrgUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("组织单位")
        verbose_name_plural = _("组织单位")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="orgunit_unique_name_under_parent"),
            models.CheckConstraint(
                condition=models.Q(parent__isnull=False)
                | models.Q(level__in=["province", "city", "county", "township"]),
                name="orgunit_root_is_township_or_above",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1

    def ancestor_codes(self) -> list[str]:
        return [part for part in self.path.split("/") if part]


class GeometryKind(models.TextChoices):
    POLYGON = "polygon", _("边界")
    POINT = "point", _("位置点")


class VillageGeometry(models.Model):
    """A village's shape on the map: a GeoJSON geometry (Polygon, MultiPolygon or Point, longitude and
    latitude in WGS 84) as JSON text, replaced township by township by ``geometry_import``.
    ``illustrative`` marks generated shapes (the demo's), shown as 示意."""

    village = models.OneToOneField(
        OrgUnit, verbose_name=_("村"), on_delete=models.CASCADE, related_name="geometry"
    )
    kind = models.CharField(_("类型"), max_length=16, choices=GeometryKind.choices)
    geometry = models.TextField(_("GeoJSON 几何"))
    illustrative = models.BooleanField(_("示意"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("村界")
        verbose_name_plural = _("村界")
        ordering = ["village__path"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["polygon", "point"]), name="villagegeometry_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village_id} {self.kind}"
