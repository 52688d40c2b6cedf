"""One adapter per AWS service. Each takes an injected boto3 client, pages and retries
inside, and returns domain values or raises domain errors. Nothing outside this package
(and the emulator) talks to AWS."""
