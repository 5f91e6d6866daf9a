"""Distillation: losses, methods, teacher targets, the training loop and the run writer."""
