from django.db import migrations

from troubleshooter.legacy_tables import copy_old_rows


def bring_feedback_across(apps, schema_editor):
    copy_old_rows(apps, schema_editor, [("troubleshooter_feedback", "guides.Feedback")])


class Migration(migrations.Migration):
    dependencies = [("guides", "0001_initial")]

    operations = [migrations.RunPython(bring_feedback_across, migrations.RunPython.noop)]
