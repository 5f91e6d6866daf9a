"""Overrides that make the shipped `quick` recipe tiny: a 4-8-8 CNN teacher and 8-unit MLPs, 2 epochs each, a short
bench without memory probes. Shared by the recipe, sweep and report tests."""

TINY = [
    "teacher.epochs=2",
    "teacher.channels=[4, 8, 8]",
    "student.epochs=2",
    "student.hidden=[8]",
    "bench.min_runs=5",
    "bench.min_seconds=0",
    "bench.memory=false",
    "bench.threads=1",
    "bench.batch=1",
]
