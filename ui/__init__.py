"""The page's larger panels, kept out of streamlit_app.py so the page itself stays short.
Like the page, these only draw widgets and call into `model`; no arithmetic on arrays."""
