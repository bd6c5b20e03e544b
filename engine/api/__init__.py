"""HTTP interface: the FastAPI app, its dependencies and error rendering."""
