"""Storing a batch whose rows the store may refuse one by one: bisect to the refused rows, store the rest.

A store refusal for the data (`RowsRefused`) fails the whole batch's transaction, so a single bad row would make
every retry of its batch fail and stall the events behind it. The batch is split in halves until each refused row
stands alone; those are returned for dead-lettering, everything else is stored. k bad rows in n cost about
2k·log2(n) extra writes. Any other failure (the disk, the database file) is not the rows' fault and propagates, so
the caller retries the batch as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

E = TypeVar("E")


class RowsRefused(Exception):
    """The store refused a batch because of a value in it (out of range, a constraint), not because it is down."""


def store_isolating(insert: Callable[[list[E]], list[E]], rows: Sequence[E]) -> tuple[list[E], list[tuple[E, str]]]:
    """Insert `rows`; returns (what `insert` reported as new, [(refused row, why)])."""
    try:
        return insert(list(rows)), []
    except RowsRefused as error:
        if len(rows) == 1:
            return [], [(rows[0], str(error))]
    middle = len(rows) // 2
    first_new, first_refused = store_isolating(insert, rows[:middle])
    second_new, second_refused = store_isolating(insert, rows[middle:])
    return first_new + second_new, first_refused + second_refused
