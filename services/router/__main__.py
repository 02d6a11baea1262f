"""python -m services.router: the one service lifecycle (shared.lifecycle) with this service's definition."""

from services.router.api import SERVICE
from shared.lifecycle import main

if __name__ == "__main__":
    main(SERVICE)
