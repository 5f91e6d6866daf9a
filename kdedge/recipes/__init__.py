"""Recipes: one TOML file declares data, teacher, students, export target and bench settings; `run_recipe` runs it.

Schema and validation: `schema.py`; finding, parsing and overriding: `loader.py` and `address.py`; running:
`runner.py`. The shipped recipes live in `shipped/` (the repo's `recipes/` points there).
"""

from .loader import Recipe, from_record, load_recipe, shipped_names, shipped_recipes
from .runner import is_done, run_recipe
from .schema import RecipeError

__all__ = [
    "Recipe",
    "RecipeError",
    "from_record",
    "is_done",
    "load_recipe",
    "run_recipe",
    "shipped_names",
    "shipped_recipes",
]
