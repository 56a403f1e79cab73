# The import job belongs to the imports app now (imports.0001 takes over the same table).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("targets", "0002_import_job")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="ImportJob")]),
    ]
