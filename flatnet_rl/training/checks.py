"""What a training report must say besides its numbers: accuracy that means nothing."""

from __future__ import annotations

import numpy as np

#: Test accuracy within this share of the way from chance to perfect counts as near chance.
NEAR_CHANCE = 0.1


def accuracy_warnings(accuracy: float, y_test: np.ndarray, num_classes: int) -> list[str]:
    """A warning when test accuracy is near chance: the rate of always answering the most
    common test class (a model that learned nothing must not be reported as a success)."""
    if not len(y_test):
        return []
    chance = float(np.bincount(y_test, minlength=num_classes).max() / len(y_test))
    if accuracy >= chance + NEAR_CHANCE * (1.0 - chance):
        return []
    return [
        f"test accuracy {accuracy:.3f} is near chance ({chance:.3f}, always answering the most "
        "common class): the model has not learned to tell the classes apart (more epochs, "
        "more or more distinct images, or labels the images show)"
    ]
