"""Dataset and model rows: the catalogue of what each tenant has stored."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from .tables import Dataset, Model


def model_name(*, dataset_name: str | None, dataset_id: str | None, recipe: str | None,
               method: str) -> str:
    """A model's name (models have none of their own): its dataset's name and its recipe,
    ``"digits · recommended"``; ``uploaded`` or ``deleted dataset`` where there is none."""
    source = dataset_name or ("uploaded" if dataset_id is None else "deleted dataset")
    return f"{source} · {recipe or method}"


@dataclass
class Names:
    """Names of datasets and models by id, for answers that list ids."""

    datasets: dict[str, str] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)


class Catalog:
    """Reads and writes dataset and model rows (never job rows)."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def add(self, row: Dataset | Model) -> None:
        with self.sessions() as s, s.begin():
            s.add(row)

    def dataset(self, dataset_id: str, *, tenant: str) -> Dataset | None:
        with self.sessions() as s:
            row = s.get(Dataset, dataset_id)
        return row if row is not None and row.tenant == tenant else None

    def count(self, table: type[Dataset] | type[Model], *, tenant: str,
              dataset_id: str | None = None) -> int:
        """How many rows :meth:`datasets` or :meth:`models` would list without a limit."""
        q = select(func.count()).select_from(table).where(table.tenant == tenant)
        if dataset_id and table is Model:
            q = q.where(Model.dataset_id == dataset_id)
        with self.sessions() as s:
            return int(s.scalar(q) or 0)

    def datasets(self, *, tenant: str, limit: int = 100, offset: int = 0) -> list[Dataset]:
        q = (select(Dataset).where(Dataset.tenant == tenant)
             .order_by(Dataset.created_at, Dataset.id).limit(limit).offset(offset))
        with self.sessions() as s:
            return list(s.scalars(q))

    def builtin_dataset(self, *, tenant: str, name: str) -> Dataset | None:
        q = select(Dataset).where(Dataset.tenant == tenant, Dataset.builtin.is_(True),
                                  Dataset.name == name)
        with self.sessions() as s:
            return s.scalars(q).first()

    def dataset_by_content(self, *, tenant: str, sha256: str) -> Dataset | None:
        """The tenant's oldest dataset whose canonical arrays have this hash."""
        q = (select(Dataset).where(Dataset.tenant == tenant, Dataset.sha256 == sha256)
             .order_by(Dataset.created_at, Dataset.id))
        with self.sessions() as s:
            return s.scalars(q).first()

    def model(self, model_id: str, *, tenant: str) -> Model | None:
        with self.sessions() as s:
            row = s.get(Model, model_id)
        return row if row is not None and row.tenant == tenant else None

    def models(self, *, tenant: str, dataset_id: str | None = None, limit: int = 100,
               offset: int = 0) -> list[Model]:
        q = select(Model).where(Model.tenant == tenant)
        if dataset_id:
            q = q.where(Model.dataset_id == dataset_id)
        q = q.order_by(Model.created_at.desc(), Model.id).limit(limit).offset(offset)
        with self.sessions() as s:
            return list(s.scalars(q))

    def model_by_fingerprint(self, *, tenant: str, fingerprint: str) -> Model | None:
        q = (select(Model).where(Model.tenant == tenant, Model.fingerprint == fingerprint)
             .order_by(Model.created_at.desc()))
        with self.sessions() as s:
            return s.scalars(q).first()

    def names(self, *, tenant: str, dataset_ids: Iterable[str | None] = (),
              model_ids: Iterable[str | None] = ()) -> Names:
        """The names of these datasets and models (two queries, whatever their number)."""
        wanted_models = {i for i in model_ids if i}
        with self.sessions() as s:
            models = list(s.execute(
                select(Model.id, Model.dataset_id, Model.recipe, Model.method).where(
                    Model.tenant == tenant, Model.id.in_(wanted_models)))) if wanted_models else []
            wanted = {i for i in dataset_ids if i} | {m.dataset_id for m in models if m.dataset_id}
            datasets = {i: name for i, name in s.execute(select(Dataset.id, Dataset.name).where(
                Dataset.tenant == tenant, Dataset.id.in_(wanted)))} if wanted else {}
        return Names(datasets=datasets, models={
            m.id: model_name(dataset_name=datasets.get(m.dataset_id or ""),
                             dataset_id=m.dataset_id, recipe=m.recipe, method=m.method)
            for m in models})

    def delete(self, row: Dataset | Model) -> None:
        with self.sessions() as s, s.begin():
            obj = s.get(type(row), row.id)
            if obj is not None:
                s.delete(obj)


__all__ = ["Catalog", "Names", "model_name"]
