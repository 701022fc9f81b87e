"""EGNO Explorer, the Streamlit app: `streamlit run app/main.py` (pages in app/views)."""
