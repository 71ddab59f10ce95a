"""Builds lossviz's one C extension, CTC's forward-backward (lossviz/train/_ctc.c).

Everything else about the package is in pyproject.toml. The extension is optional: where no C
compiler is at hand the install still succeeds, and lossviz runs the same algorithm in numpy.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("lossviz.train._ctc", ["lossviz/train/_ctc.c"], optional=True,
                             extra_compile_args=["-O3"])])
