"""One service per job (scan, prices, meter, chargeback, notify): each composes the core
with the adapters of ``spendwatch.aws``, for the CLI and the Lambdas alike."""
