"""python -m services.ledger: the one service lifecycle (shared.lifecycle) with this service's definition."""

from services.ledger.api import SERVICE
from shared.lifecycle import main

if __name__ == "__main__":
    main(SERVICE)
