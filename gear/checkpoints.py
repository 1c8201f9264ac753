"""What is wrong with a weights file, in words, from the error its loader raised.

Shared by :mod:`gear.hear` (a model's ``load_model`` failed) and the
PyTorch wrappers' helpers (:mod:`gear.models._torch_utils`); it needs
neither torch nor any model.
"""

import pickle
import re

__all__ = ["checkpoint_error_detail"]


def checkpoint_error_detail(error):
    """What is wrong with a weights file, from the error torch.load raised; None if unrelated.

    torch's own messages for these errors advise re-running ``torch.load``
    with ``weights_only=False``, which would execute whatever code the file
    carries; GEAR never passes that advice on. The error's causes are
    searched too (a wrapper may have re-raised it).

    Parameters
    ----------
    error : BaseException

    Returns
    -------
    detail : str or None
        A short reason, e.g. ``"not a PyTorch checkpoint"``.
    """
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        text = str(error)
        if isinstance(error, pickle.UnpicklingError) or "Weights only load failed" in text:
            unsupported = re.search(r"Unsupported global: GLOBAL (\S+)", text)
            if unsupported:
                return (
                    f"it holds pickled Python objects ({unsupported[1]}), not only tensors; "
                    "save the model's state_dict instead"
                )
            return "not a PyTorch checkpoint"
        if "PytorchStreamReader failed" in text:
            return "not a PyTorch checkpoint, or a damaged one"
        if type(error).__name__ == "SafetensorError":
            return "not a safetensors file, or a damaged one"
        error = error.__cause__ or error.__context__
    return None
