"""py3Dmol views that work offline: the vendored 3Dmol.js (assets/vendor, BSD-3) is inlined before
py3Dmol's HTML, and `$3Dmolpromise` is pre-resolved so py3Dmol never fetches 3Dmol.js from its CDN.
Used by the families drawn with py3Dmol (molecules, proteins)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import py3Dmol
import streamlit as st

VENDORED = Path(__file__).resolve().parents[1] / "assets" / "vendor" / "3Dmol-min.js"


@lru_cache(maxsize=1)
def _library() -> str:
    return VENDORED.read_text(encoding="utf-8")


def offline_html(view: py3Dmol.view) -> str:
    """The view's HTML preceded by the inlined library."""
    return (f"<script>{_library()}</script>"
            "<script>var $3Dmolpromise = Promise.resolve();</script>" + view._make_html())


def show(view: py3Dmol.view, height: int = 500) -> None:
    html = offline_html(view)
    if hasattr(st, "iframe"):
        st.iframe(html, height=height)
    else:  # Streamlit before st.iframe
        import streamlit.components.v1 as components

        components.html(html, height=height)
