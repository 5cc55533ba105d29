"""The page assets of steepest's HTML output, kept as package data files beside this module.

* ``explore.html``, ``explore.css``, ``explore.js``: the interactive explorer that
  :func:`steepest.explore.write_explorer` writes (the HTML is a :class:`string.Template`
  whose ``${css}``, ``${js}``, ``${data}``, ``${version}`` and ``${max_steps}`` the
  writer fills in);
* ``report.css``: the style sheet of every :class:`steepest.report.Report`.

They are real files, so an editor, a linter (``eslint explore.js``) and a browser read
them as what they are, and they travel in the wheel as package data
(``[tool.setuptools.package-data]`` in ``pyproject.toml``). :func:`read_asset` reads one
through :mod:`importlib.resources`, which finds it in a checkout, an installed wheel or
a zip alike.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from steepest.errors import SteepestError

__all__ = ["ASSETS", "read_asset"]

ASSETS: tuple[str, ...] = ("explore.css", "explore.html", "explore.js", "report.css")
"""The files of this package's data, each read by :func:`read_asset`."""


@cache
def read_asset(name: str) -> str:
    """The text of the page asset ``name`` (one of :data:`ASSETS`), read once, then cached.

    Parameters
    ----------
    name : str
        The file name, such as ``"explore.js"``.

    Returns
    -------
    str
        Its contents, decoded as UTF-8, without the final newline.

    Raises
    ------
    SteepestError
        When ``name`` is not one of :data:`ASSETS`, or the file is missing from the
        installed package (a broken installation: reinstall steepest).
    """
    if name not in ASSETS:
        raise SteepestError(
            f"{name!r} is not one of steepest's page assets ({', '.join(ASSETS)}); name one "
            "of those."
        )
    resource = resources.files(__name__).joinpath(name)
    try:
        return resource.read_text(encoding="utf-8").removesuffix("\n")
    except FileNotFoundError:
        raise SteepestError(
            f"steepest's page asset {name!r} is missing from the installed package "
            f"({resource}); reinstall steepest, e.g. pip install --force-reinstall steepest."
        ) from None
