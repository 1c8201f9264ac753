"""A HEAR module that raises when asked for embeddings."""

import torch


class Model(torch.nn.Module):
    sample_rate = 16000
    scene_embedding_size = 8
    timestamp_embedding_size = 8


def load_model(model_file_path=""):
    return Model()


def get_scene_embeddings(audio, model):
    raise RuntimeError("simulated out-of-memory in the model")


def get_timestamp_embeddings(audio, model):
    raise RuntimeError("simulated out-of-memory in the model")
