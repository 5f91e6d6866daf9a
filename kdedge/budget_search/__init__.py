"""`kdedge search`: which student to ship under a device budget (Optuna over distill -> export -> bench)."""
