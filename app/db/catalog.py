"""Dataset and model rows: the catalogue of what each tenant has stored."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .tables import Dataset, Model


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

    def delete(self, row: Dataset | Model) -> None:
        with self.sessions() as s, s.begin():
            obj = s.get(type(row), row.id)
            if obj is not None:
                s.delete(obj)


__all__ = ["Catalog"]
