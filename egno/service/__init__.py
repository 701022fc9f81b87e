"""What the app asks of the library: a sample's prediction, equivariance checks, resolution sweeps,
rendered animations, the shipped sweeps and example files.

Layer 4 of egno: may import egno.nn, egno.data and egno.run; never streamlit.
"""
