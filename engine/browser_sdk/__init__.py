"""parcours.js, the browser SDK: its built file (from browser/) and the route serving it."""
