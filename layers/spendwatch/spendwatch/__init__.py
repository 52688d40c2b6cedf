"""spendwatch: keeps Amazon SageMaker inference spend honest.

The package is a pure core (inventory, usage and prices in; findings and records out)
surrounded by one adapter per AWS service (``spendwatch.aws``) and the emulated AWS
behind ``--fleet`` (``spendwatch_emulator.emulator``).
"""

__version__ = "0.1.0"
