"""CLIP as a classifier: zero-shot classes from text prompts (open_clip or Hugging Face).

>>> clf = Classifier.from_clip("weights/clip-vit-base-patch32", class_names=["ring", "cross"],
...                            templates=["a drawing of a {}."])          # doctest: +SKIP

One class per name: each template (``"a drawing of a {}."``) is filled with the name, the
prompts are embedded, L2-normalised, averaged and normalised again (CLIP's zero-shot recipe);
the logits are ``logit_scale * cos(image embedding, class embedding)``. The network
(:class:`ClipNet`) is the frozen CLIP image tower under a small trainable head
(:class:`ClipHead`): the class text embeddings (part ``"text"``, prompt learning) or a linear
head on the image features initialised at the zero-shot classifier (part ``"head"``).
Flattening (``train-classifier --init``) trains only that head; a checkpoint holds only the
head, and its metadata names the base model and the SHA-256 of its weights file.

Weights come from local files only, never a silent download: a Hugging Face folder
(``from_pretrained(DIR, local_files_only=True)``), a repository already in the Hugging Face
cache (``hf:openai/clip-vit-base-patch32``), an open_clip folder (``open_clip_config.json`` +
weights), or an open_clip weights file with its architecture (``ViT-B-32:FILE``). Weights
must be safetensors: nothing is unpickled.

The image goes through the model's own preprocessing, declared in the classifier's
:class:`~flatnet_rl.data.images.InputSpec`: bicubic resize of the shortest side, centre crop,
the model's mean/std; one-channel canvases are upscaled by nearest neighbour and drawn as
dark ink on white paper in three channels.
"""

from flatnet_rl.clip.build import (
    build_clip_classifier,
    describe,
    is_clip_spec,
    rebuild_clip_net,
    spec_source,
)
from flatnet_rl.clip.goal import GoalBaseline, goal_baseline_reference
from flatnet_rl.clip.net import (
    BACKENDS,
    CLIP_ARCH,
    CLIP_PREFIX,
    DEFAULT_TEMPLATES,
    PARTS,
    ClipError,
    ClipHead,
    ClipNet,
    ClipTower,
    backend_of,
    class_prompts,
    clip_input_spec,
    prompt_embedding,
)
from flatnet_rl.clip.weights import load_clip, parse_clip_source

__all__ = [
    "BACKENDS",
    "CLIP_ARCH",
    "CLIP_PREFIX",
    "DEFAULT_TEMPLATES",
    "PARTS",
    "ClipError",
    "ClipHead",
    "ClipNet",
    "ClipTower",
    "GoalBaseline",
    "backend_of",
    "build_clip_classifier",
    "class_prompts",
    "clip_input_spec",
    "describe",
    "goal_baseline_reference",
    "is_clip_spec",
    "load_clip",
    "parse_clip_source",
    "prompt_embedding",
    "rebuild_clip_net",
    "spec_source",
]
