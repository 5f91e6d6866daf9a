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

# The built-in teacher's training by the size of the data, first match wins. Small sets (digits: 1,797 images)
# keep the small CNN above. From ten thousand training images on, a wider VGG-style CNN (two 3x3 convs per
# block, BatchNorm, 288,618 parameters on 28x28) with AdamW, a cosine schedule after one warm-up epoch, label
# smoothing and random shifts of ~7.5 % of each axis (online: new shifts every batch); flips are never a default,
# they break digits and text. 12 epochs: ~17 minutes for 35,700 28x28 images on 2 CPU cores (84 s an epoch).
# Sequences keep the small recipe until a benchmark on real sequences says otherwise. Evidence:
# benchmarks/fashion_mnist.py (Fashion-MNIST, 60,000 real photos) and the digits-shift teacher in
# benchmarks/results/fashion_mnist.md.
LARGE_DATA_ROWS = 10_000
TEACHER_RECIPES = (
    {
        "name": "large",
        "when": f"images with {LARGE_DATA_ROWS:,}+ training rows",
        "layouts": ("image",),
        "min_train_rows": LARGE_DATA_ROWS,
        "arch": "cnn",
        "options": {
            "channels": (32, 64, 128),
            "convs": 2,
            "pool_after": (1, 2),
            "epochs": 12,
            "patience": 12,
            "batch_size": 128,
            "lr": 3e-3,
            "optimizer": "adamw",
            "weight_decay": 0.01,
            "schedule": "cosine",
            "warmup_epochs": 1,
            "label_smoothing": 0.05,
        },
        "augment": "shift",
    },
    {
        "name": "small",
        "when": f"fewer than {LARGE_DATA_ROWS:,} training images, sequences or vectors",
        "layouts": ("image", "sequence", "vector"),
        "min_train_rows": 0,
        "arch": None,  # TEACHER_ARCH_BY_LAYOUT
        "options": TEACHER_TRAINING,
        "augment": "none",
    },
)
TEACHER_AUGMENTS = ("shift", "none")


def teacher_recipe(layout: str, n_train: int) -> dict:
    """The first row of TEACHER_RECIPES that fits this data's layout and training-split size."""
    return next(r for r in TEACHER_RECIPES if layout in r["layouts"] and n_train >= r["min_train_rows"])


def teacher_max_shift(sample_shape) -> int:
    """Shifts for the teacher's augmentation: 7.5 % of the shortest spatial axis, at least 1 (28 px -> 2)."""
    return max(1, round(0.075 * min(sample_shape[1:])))
