"""EGNO Explorer: entry point (`streamlit run app/main.py`). One file per page in app/views."""
from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="EGNO Explorer", page_icon="⚛️", layout="wide")
pages = [
    st.Page("views/explore.py", title="Explore", icon=":material/explore:", default=True),
    st.Page("views/equivariance.py", title="Equivariance", icon=":material/3d_rotation:",
            url_path="equivariance"),
    st.Page("views/resolution.py", title="Resolution", icon=":material/show_chart:",
            url_path="resolution"),
    st.Page("views/long_horizon.py", title="Long horizon", icon=":material/timeline:",
            url_path="long_horizon"),
    st.Page("views/upload.py", title="Upload", icon=":material/upload_file:", url_path="upload"),
]
st.navigation(pages).run()
