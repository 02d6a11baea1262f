"""python -m services.cache: the one service lifecycle (shared.lifecycle) with this service's definition."""

from services.cache.api import SERVICE
from shared.lifecycle import main

if __name__ == "__main__":
    main(SERVICE)
