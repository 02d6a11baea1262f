"""python -m services.provider_adapter: the one service lifecycle (shared.lifecycle) with this service's definition."""

from services.provider_adapter.api import SERVICE
from shared.lifecycle import main

if __name__ == "__main__":
    main(SERVICE)
