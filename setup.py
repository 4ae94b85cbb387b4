"""The optional C extension; everything else about the package is in pyproject.toml.

``otelagents._speedups`` (otelagents/_speedups.c) counts a stream's chunk gaps into histogram buckets in one
pass. It is optional: without a C compiler the build goes on without it and otelagents uses the pure-Python
path, which gives the same figures, only slower.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("otelagents._speedups", ["otelagents/_speedups.c"], optional=True,
                             extra_compile_args=["-O2"])])
