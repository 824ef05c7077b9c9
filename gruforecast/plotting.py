"""Plot helpers built on matplotlib's object API (no pyplot): they work headless.

``save_figure`` writes atomically, so an interrupted save never leaves a broken image
where a good one was.
"""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure

from ._io import atomic_path

__all__ = ["save_figure"]


def save_figure(figure: Figure, path: str | os.PathLike, *, dpi: int = 110) -> Path:
    """Save ``figure`` to ``path`` atomically; the format follows the file's suffix.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    image_format = path.suffix.lstrip(".").lower() or "png"
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=image_format, dpi=dpi)
    return path
