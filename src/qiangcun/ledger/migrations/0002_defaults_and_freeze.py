from django.db import migrations


def seed(apps, schema_editor):
    from qiangcun.ledger.defaults import CATEGORIES, PATHS

    Category = apps.get_model("ledger", "Category")
    DevelopmentPath = apps.get_model("ledger", "DevelopmentPath")
    for order, (line, name, counts) in enumerate(CATEGORIES, start=1):
        Category.objects.get_or_create(
            line=line, defaults={"name": name, "counts_toward_target": counts, "order": order}
        )
    for order, name in enumerate(PATHS, start=1):
        DevelopmentPath.objects.get_or_create(name=name, defaults={"order": order})


def freeze(apps, schema_editor):
    from qiangcun.ledger import freeze as triggers

    triggers.install(schema_editor.connection)


def unfreeze(apps, schema_editor):
    from qiangcun.ledger import freeze as triggers

    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(freeze, unfreeze),
    ]
