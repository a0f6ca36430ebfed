"""/v1/recipes: the named recipes a train job can ask for, with every parameter they resolve to."""

from __future__ import annotations

from fastapi import APIRouter

from deepclsmote.recipes import DEFAULT_RECIPE, RECIPES, resolve

from ..schemas import RecipePublic

router = APIRouter(prefix="/v1/recipes", tags=["recipes"])


@router.get("", response_model=list[RecipePublic])
def list_recipes() -> list[RecipePublic]:
    """The recipes, the default first; the same for every key (nothing here is a tenant's)."""
    return [RecipePublic(name=r.name, description=r.description, estimator=r.estimator,
                         params=resolve(r.name, complete=True), measured=r.measured,
                         default=r.name == DEFAULT_RECIPE)
            for r in sorted(RECIPES.values(), key=lambda r: r.name != DEFAULT_RECIPE)]
