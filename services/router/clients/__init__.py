"""gRPC clients of the services the router calls: provider-adapter, cache, local-inference."""
