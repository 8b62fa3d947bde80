"""The project index: what the other modules of a project export, for rules that follow imports."""
