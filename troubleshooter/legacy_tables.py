"""Moving rows out of the tables of the app this project used to be.

Until the guides, runs and lab became apps of their own, every model lived in one app
labelled "troubleshooter" (tables troubleshooter_feedback, troubleshooter_run and
troubleshooter_runevents). The new apps' migrations create their own tables and call this
to bring the old rows across, so an upgraded deployment keeps its feedback and saved runs.
A database created after the move has no old tables, and nothing happens.
"""

from __future__ import annotations

from django.core.management.color import no_style
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

OLD_APP_LABEL = "troubleshooter"


def copy_old_rows(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor, moves: list[tuple[str, str]]) -> None:
    """For each (old table, "app.Model"), in order: copy every row into the model's table,
    keeping its primary key, then drop the old tables in reverse order (children first)."""
    connection = schema_editor.connection
    existing = set(connection.introspection.table_names())
    moved = []
    quote = schema_editor.quote_name
    for old_table, model_name in moves:
        if old_table not in existing:
            continue
        model = apps.get_model(model_name)
        columns = ", ".join(quote(field.column) for field in model._meta.concrete_fields)
        schema_editor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) SELECT {columns} FROM {quote(old_table)}"
        )
        moved.append((old_table, model))
    if not moved:
        return
    # Copied ids must not be handed out again: move each id sequence past them.
    for statement in connection.ops.sequence_reset_sql(no_style(), [model for _, model in moved]):
        schema_editor.execute(statement)
    for old_table, _ in reversed(moved):
        schema_editor.execute(f"DROP TABLE {quote(old_table)}")


def forget_old_app(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """The old app's applied migrations no longer exist as files; their records would only
    confuse `showmigrations`."""
    schema_editor.execute("DELETE FROM django_migrations WHERE app = %s", [OLD_APP_LABEL])
