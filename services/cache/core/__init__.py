"""The cache's logic: namespaces, the entry store, the vector index, reranking. Imports neither grpc nor nats."""
