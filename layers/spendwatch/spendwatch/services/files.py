"""Files a user names on the command line (fleet, prices, budgets): read whole, as UTF-8, or
refused with one line naming the flag and what is wrong."""

from __future__ import annotations

from pathlib import Path

from spendwatch.core.errors import InputError

MAX_BYTES = 50 * 1024 * 1024


def read_text(path: Path | str, flag: str) -> str:
    where = Path(path)
    try:
        if where.stat().st_size > MAX_BYTES:
            raise InputError(flag, f"{where} is larger than {MAX_BYTES // (1024 * 1024)} MiB")
        return where.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(flag, f"{where} is not UTF-8 text (byte {exc.start}): save it as UTF-8 JSON") from None
    except IsADirectoryError:
        raise InputError(flag, f"{where} is a directory, not a file") from None
    except OSError as exc:
        raise InputError(flag, f"cannot read {where}: {exc.strerror}") from None
