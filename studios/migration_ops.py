"""Operations that migrations share. Applied migrations import them: keep their behaviour."""

from django.db import migrations


def drop_indexes(indexes: dict[str, tuple[str, str]]) -> migrations.RunPython:
    """Drop single-column indexes by name ({name: (table, column)}); reversed, create them again.

    For a foreign key's own index that a composite index or unique constraint of the same model
    already leads with: every write updated both, and the composite one serves the same lookups
    (tests/test_project.py holds the models to it). Only the index goes: the migration sets
    db_index=False in its state alone, since Django's own AlterField would drop and re-add the
    foreign key constraint, checking every row under a lock. On PostgreSQL the index is dropped
    concurrently (the migration needs atomic = False), so that writes go on meanwhile."""
    concurrently = {"postgresql": "CONCURRENTLY "}

    def drop(apps, schema_editor):
        how = concurrently.get(schema_editor.connection.vendor, "")
        for name in indexes:
            schema_editor.execute(f'DROP INDEX {how}IF EXISTS "{name}"')

    def create(apps, schema_editor):
        how = concurrently.get(schema_editor.connection.vendor, "")
        for name, (table, column) in indexes.items():
            schema_editor.execute(
                f'CREATE INDEX {how}IF NOT EXISTS "{name}" ON "{table}" ("{column}")'
            )

    return migrations.RunPython(drop, create)
