from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from troubleshooter.legacy_tables import copy_old_rows, forget_old_app


def bring_runs_across(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    copy_old_rows(
        apps, schema_editor, [("troubleshooter_run", "runs.Run"), ("troubleshooter_runevents", "runs.RunEvents")]
    )


class Migration(migrations.Migration):
    dependencies = [("runs", "0001_initial"), ("guides", "0002_rows_from_the_old_app")]

    operations = [
        migrations.RunPython(bring_runs_across, migrations.RunPython.noop),
        migrations.RunPython(forget_old_app, migrations.RunPython.noop),
    ]
