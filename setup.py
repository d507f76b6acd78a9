"""The native line checker: a C extension, optional (without a compiler, the harness does without it)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "harness.contract._speedups",
            ["harness/contract/_speedups.c"],
            depends=[
                f"harness/contract/_speedups_{part}.h"
                for part in ("json", "nodes", "strings", "mask", "check", "objects")
            ],
            optional=True,
            extra_compile_args=[
                "-O2",
                "-std=c11",
                "-Wall",
                "-Wextra",
                "-Wno-unused-parameter",
                "-Wno-missing-field-initializers",
                "-Wno-cast-function-type",
            ],
        )
    ]
)
