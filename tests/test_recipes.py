"""Named recipes: resolution, overrides, the record in a saved model, models saved before."""

import doctest
import json
from pathlib import Path

import numpy as np
import pytest

import deepclsmote
from deepclsmote import DeepCLSMOTE, DeepSMOTE, make_sampler, recipes
from deepclsmote.recipes import RECIPES, describe, get_recipe, resolve

from .conftest import TINY

BEFORE_RECIPES = Path(__file__).parent / "data" / "model_before_recipes"


def test_the_module_examples_run():
    assert doctest.testmod(recipes, optionflags=doctest.ELLIPSIS).failed == 0


def test_recommended_is_the_default_and_the_papers_are_their_classes_defaults():
    assert recipes.DEFAULT_RECIPE == "recommended"
    sampler = make_sampler()
    assert type(sampler) is DeepCLSMOTE
    assert (sampler.decoding, sampler.interpolation, sampler.step_scale) == (
        "residual", "transfer", 1.5)
    # the published methods are what their constructors give: a user of imbalanced-learn
    # who writes DeepCLSMOTE() gets the cited method
    assert make_sampler("deepclsmote-paper").get_params() == DeepCLSMOTE().get_params()
    assert make_sampler("deepsmote-paper").get_params() == DeepSMOTE().get_params()
    for recipe in RECIPES.values():
        assert recipe.description and recipe.measured.startswith("docs/results.md#")


def test_overrides_replace_the_recipes_values_and_leave_the_rest():
    sampler = make_sampler("recommended", step_scale=1.0, epochs=7, random_state=3)
    assert (sampler.step_scale, sampler.epochs, sampler.random_state) == (1.0, 7, 3)
    assert sampler.decoding == "residual" and sampler.interpolation == "transfer"
    assert resolve("deepclsmote-paper", {"w_compact": 0.5}) == {"w_compact": 0.5}
    assert make_sampler(recipe="deepsmote-paper").get_params() == DeepSMOTE().get_params()


def test_unknown_names_and_parameters_are_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown recipe 'best'; choose from \['recommended', "
                                         r"'deepclsmote-paper', 'deepsmote-paper'\]"):
        get_recipe("best")
    with pytest.raises(ValueError, match="recipe 'deepsmote-paper' .DeepSMOTE. has no parameter "
                                         "'w_compact'; its parameters are"):
        make_sampler("deepsmote-paper", w_compact=0.1)
    with pytest.raises(ValueError, match="no parameters 'colour', 'size'"):
        make_sampler("recommended", size=3, colour=True)
    # the constructor's own checks still apply to the values
    with pytest.raises(ValueError, match="step_scale"):
        make_sampler("recommended", step_scale=-1).fit(np.zeros((4, 8, 8)), [0, 0, 1, 1])


def test_a_saved_model_records_its_recipe_and_the_parameters_it_resolved_to(
        tmp_path, small_imbalanced):
    sampler = make_sampler("recommended", **TINY, random_state=0).fit(*small_imbalanced)
    sampler.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["recipe"] == {"name": "recommended",
                                "overrides": {"batch_size": 16, "dim_h": 4, "epochs": 1,
                                              "n_z": 8}}
    params = config["params"]
    assert (params["decoding"], params["interpolation"], params["step_scale"]) == (
        "residual", "transfer", 1.5)
    assert params["w_compact"] == 0.02 and params["random_state"] == 0
    loaded = deepclsmote.load(tmp_path / "m")
    assert loaded._recipe == "recommended"
    loaded.save(tmp_path / "again")     # a loaded model keeps its record when saved again
    assert json.loads((tmp_path / "again" / "config.json").read_text())["recipe"] == (
        config["recipe"])


def test_the_record_names_the_recipe_asked_for_even_where_another_is_nearer(tmp_path,
                                                                            small_imbalanced):
    # recommended without its transfer steps is nearer the paper's recipe, but was asked for so
    sampler = make_sampler("recommended", interpolation="smote", step_scale=1.0, **TINY)
    sampler.fit(*small_imbalanced).save(tmp_path / "m")
    record = json.loads((tmp_path / "m" / "config.json").read_text())["recipe"]
    assert record == {"name": "recommended",
                      "overrides": {"batch_size": 16, "dim_h": 4, "epochs": 1, "n_z": 8,
                                    "interpolation": "smote", "step_scale": 1.0}}
    # a sampler built by its constructor is described by the nearest recipe
    DeepSMOTE(**TINY).fit(*small_imbalanced).save(tmp_path / "d")
    assert json.loads((tmp_path / "d" / "config.json").read_text())["recipe"]["name"] == (
        "deepsmote-paper")


def test_a_model_saved_before_recipes_still_loads_and_samples_as_it_did():
    config = json.loads((BEFORE_RECIPES / "config.json").read_text())
    assert "recipe" not in config       # written by the library before this change
    loaded = deepclsmote.load(BEFORE_RECIPES, device="cpu")
    expected = np.load(BEFORE_RECIPES / "expected_sample.npz")
    X_new, y_new = loaded.sample({"two": 5}, random_state=3)
    np.testing.assert_array_equal(X_new, expected["images"])
    np.testing.assert_array_equal(y_new, expected["labels"])
    # described by the recipe nearest its parameters: it was trained as the transfer recipe
    assert describe(config["estimator"], config["params"]) == {
        "name": "recommended", "overrides": {"batch_size": 16, "dim_h": 4, "epochs": 1,
                                             "n_z": 8}}
