"""Babel Search indexer: loaders, chunking, embedding, storage and vector index."""
