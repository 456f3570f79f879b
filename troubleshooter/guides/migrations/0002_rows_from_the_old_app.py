from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from troubleshooter.legacy_tables import copy_old_rows


def bring_feedback_across(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    copy_old_rows(apps, schema_editor, [("troubleshooter_feedback", "guides.Feedback")])


class Migration(migrations.Migration):
    dependencies = [("guides", "0001_initial")]

    operations = [migrations.RunPython(bring_feedback_across, migrations.RunPython.noop)]
