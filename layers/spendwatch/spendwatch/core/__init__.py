"""The pure core: inventory, usage and prices go in as values; findings, ledger records and
messages come out. Nothing here imports boto3, reads the clock or the environment."""
