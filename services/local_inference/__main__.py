"""python -m services.local_inference: the one service lifecycle (shared.lifecycle) with this service's definition."""

from services.local_inference.api import SERVICE
from shared.lifecycle import main

if __name__ == "__main__":
    main(SERVICE)
