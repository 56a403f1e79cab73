# The import job moves from the targets app to the imports app: the table is kept (state only), then
# renamed to the imports app's own name.

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("targets", "0003_move_importjob"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ImportJob",
                    fields=[
                        (
                            "id",
                            models.UUIDField(
                                default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                            ),
                        ),
                        ("kind", models.CharField(max_length=16, verbose_name="类型")),
                        ("file_name", models.CharField(max_length=255, verbose_name="文件名")),
                        ("options", models.JSONField(default=dict, verbose_name="选项")),
                        (
                            "stage",
                            models.CharField(
                                choices=[("check", "检查"), ("import", "导入")],
                                default="check",
                                max_length=8,
                                verbose_name="阶段",
                            ),
                        ),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("queued", "排队中"),
                                    ("running", "进行中"),
                                    ("done", "已完成"),
                                    ("failed", "出错"),
                                ],
                                default="queued",
                                max_length=8,
                                verbose_name="状态",
                            ),
                        ),
                        ("rows_total", models.PositiveIntegerField(default=0, verbose_name="总行数")),
                        ("rows_read", models.PositiveIntegerField(default=0, verbose_name="已读行数")),
                        ("result", models.JSONField(default=dict, verbose_name="结果")),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="上传时间")),
                        ("updated_at", models.DateTimeField(auto_now=True, verbose_name="更新时间")),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="上传人",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "导入任务",
                        "verbose_name_plural": "导入任务",
                        "ordering": ["-created_at"],
                        "db_table": "targets_importjob",
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name="importjob", table=None),
    ]
