"""Build the optional C scanner; everything else is in pyproject.toml.

The extension is optional: without a compiler the install still succeeds and vaultsync uses its
pure-Python scanner (same results, slower cold scans).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "vaultsync._cscan",
            sources=["vaultsync/_cscan.c"],
            depends=["vaultsync/_cscan_tokens.h"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
