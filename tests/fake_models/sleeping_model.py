"""A HEAR module whose get_scene_embeddings never returns (a hung model)."""

import threading

import torch


class Model(torch.nn.Module):
    sample_rate = 16000
    scene_embedding_size = 8
    timestamp_embedding_size = 8


def load_model(model_file_path=""):
    return Model()


def get_scene_embeddings(audio, model):
    # Blocks in a lock acquisition (C code), as a model stuck in a native
    # library would: no Python-level alarm gets it out.
    threading.Event().wait()


def get_timestamp_embeddings(audio, model):
    threading.Event().wait()
