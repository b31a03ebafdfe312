"""The course of this checkout, built once for the tests that check its real files."""

from pathlib import Path

from coursekit.project import Course

COURSE = Course.at(Path(__file__).resolve().parent.parent)
ROOT = COURSE.root
