"""`harness.plugin`, the pytest11 entry point: the same module as `harness.testing.plugin`."""

import sys

from harness.testing import plugin

sys.modules[__name__] = plugin
