"""Pricing: the model manifest's types, price schedules, cost in micro-dollars, price updates and price maps.

One module for the router (selection and charging), the ledger (counterfactual spend) and the CLI. Plain code:
it imports neither grpc, nats, aiohttp nor prometheus_client.
"""
