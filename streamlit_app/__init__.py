"""Pipeline Pulse's Streamlit trends app: `pulse streamlit` runs `streamlit_app/app.py`."""
