"""In-app tutorials and tips: the browser-facing API that shows them and records outcomes."""
