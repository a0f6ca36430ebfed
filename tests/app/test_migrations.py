"""Alembic migrations build exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from app.db.migrate import current, ensure_schema, head, upgrade
from app.db.session import make_engine
from app.db.tables import Base


def _diff(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def test_sqlite_migrates_itself_at_start_to_the_declared_tables(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert current(engine) is None
    ensure_schema(engine)
    assert current(engine) == head() and _diff(engine) == []
    ensure_schema(engine)  # idempotent
    engine.dispose()


def test_postgres_needs_an_explicit_upgrade_then_matches(postgres_url):
    engine = make_engine(postgres_url)
    with pytest.raises(RuntimeError, match="deepclsmote db upgrade"):
        ensure_schema(engine)
    upgrade(engine)
    ensure_schema(engine)
    assert current(engine) == head() and _diff(engine) == []
    engine.dispose()


def test_db_upgrade_command(postgres_url, monkeypatch, capsys):
    from app.cli import main

    monkeypatch.setenv("DEEPCLSMOTE_DATABASE_URL", postgres_url)
    assert main(["db", "upgrade"]) == 0
    assert f"empty -> {head()}" in capsys.readouterr().out


def test_a_database_of_the_first_schema_keeps_its_models_and_gains_their_recipe(tmp_path):
    import sqlalchemy as sa

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO models (id, tenant, dataset_id, job_id, method, params, fingerprint, "
            "library_version, classes, image_shape, created_at) VALUES ('m1', 't', NULL, NULL, "
            "'deepclsmote', '{\"epochs\": 3}', NULL, '0.1.0', '[]', '[8, 8]', 1.0)"))
    ensure_schema(engine)
    assert current(engine) == head() and _diff(engine) == []
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT method, recipe, params FROM models")).one()
    assert (row.method, row.recipe) == ("deepclsmote", None) and "epochs" in row.params
    engine.dispose()


def test_datasets_stored_before_conversions_were_recorded_say_null(tmp_path):
    import sqlalchemy as sa

    from app.schemas import DatasetPublic

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO datasets (id, tenant, name, sha256, source_format, n_images, "
            "image_shape, classes, imbalance_ratio, upload_bytes, builtin, created_at) VALUES "
            "('d1', 't', 'old', 'x', 'zip', 2, '[8, 8]', "
            "'[{\"name\": \"a\", \"count\": 1}, {\"name\": \"b\", \"count\": 1}]', 1.0, 10, 0, "
            "1.0)"))
    ensure_schema(engine)
    assert current(engine) == head() and _diff(engine) == []
    from sqlalchemy.orm import Session

    from app.db.tables import Dataset

    with Session(engine) as s:
        row = s.get(Dataset, "d1")
        assert row is not None and row.conversions is None
        assert DatasetPublic.model_validate(row).conversions is None
    engine.dispose()
