"""Student families, registered by name; `student_class('mlp')` finds one."""

from .base import (
    STUDENTS,
    Student,
    Tolerance,
    load_student,
    make_params,
    register,
    student_class,
)

__all__ = [
    "STUDENTS",
    "Student",
    "Tolerance",
    "load_student",
    "make_params",
    "register",
    "student_class",
]
