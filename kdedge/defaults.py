"""Defaults shared by the CLI and recipes (imports nothing, so the CLI can read them without torch)."""

# Built-in teachers train on labels only: val accuracy on digits plateaus by ~40 epochs, while distilled students
# need ~200 for the KD gain to show. `kdedge teacher train` and recipes both use these, so they train the same teacher.
TEACHER_TRAINING = {"epochs": 60, "patience": 20}

# The built-in teacher for each data layout when `--arch` is not given: convolutions where there is a spatial or
# temporal axis (2-D for images, 1-D for sequences, chosen by the shape), an MLP for plain vectors.
TEACHER_ARCHES = ("cnn", "resnet", "mlp")
TEACHER_ARCH_BY_LAYOUT = {"image": "cnn", "sequence": "cnn", "vector": "mlp"}
# A teacher is worth more capacity than a student of the same family: `--arch resnet` trains width 16 unless told.
TEACHER_ARCH_OPTIONS = {"resnet": {"width": 16}}
