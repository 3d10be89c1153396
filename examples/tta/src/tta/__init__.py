"""TTA: a therapeutic text adventure (the pytest-phase7 example project)."""
