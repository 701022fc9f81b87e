"""EGNO Explorer: entry point (`streamlit run app/main.py`). One file per page in app/views."""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

st.set_page_config(page_title="EGNO Explorer", layout="wide")
pages = [
    st.Page("views/explore.py", title="Explore", icon="🔭", default=True, url_path="explore"),
    st.Page("views/equivariance.py", title="Equivariance", icon="🔄", url_path="equivariance"),
    st.Page("views/resolution.py", title="Resolution", icon="📈", url_path="resolution"),
    st.Page("views/upload.py", title="Upload", icon="📤", url_path="upload"),
]
st.navigation(pages).run()
