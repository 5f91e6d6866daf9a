"""Student families, registered by name; `student_class('mlp')` finds one."""

from .base import (
    STUDENTS,
    Student,
    check_method,
    load_student,
    make_params,
    methods_for,
    register,
    student_class,
)

__all__ = [
    "STUDENTS",
    "Student",
    "check_method",
    "load_student",
    "make_params",
    "methods_for",
    "register",
    "student_class",
]
