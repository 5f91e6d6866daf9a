"""Defaults shared by the CLI and recipes (imports nothing, so the CLI can read them without torch)."""

# Built-in teachers train on labels only: val accuracy on digits plateaus by ~40 epochs, while distilled students
# need ~200 for the KD gain to show. `kdedge teacher train` and recipes both use these, so they train the same teacher.
TEACHER_TRAINING = {"epochs": 60, "patience": 20}
