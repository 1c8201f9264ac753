"""Built-in HEAR-API wrappers, one module per model.

Each module exposes the HEAR 2021 API (``load_model``,
``get_scene_embeddings``, ``get_timestamp_embeddings``; the model object
carries ``sample_rate``, ``scene_embedding_size`` and
``timestamp_embedding_size``), so that any of them can be named in
``config.yaml`` exactly like a third-party HEAR module.
"""
