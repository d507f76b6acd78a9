"""The native line checker: a C extension, optional (without a compiler, the harness does without it)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "harness._speedups",
            ["harness/_speedups.c"],
            depends=[f"harness/_speedups_{part}.h" for part in ("json", "nodes", "strings", "check", "objects")],
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
