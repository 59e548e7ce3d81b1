"""A model and a dataset of your own, registered for a study: `imports: [blobs.py]` in the pre-registration."""
import numpy as np, torch.nn as nn
from unilth_nb.all import register_model, register_dataset

@register_model('blobs_mlp')
def blobs_mlp(input_shape, num_classes, hidden=16):
    "A two-hidden-layer ReLU MLP."
    return nn.Sequential(nn.Linear(input_shape[0], hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, num_classes))

@register_dataset('blobs')
def blobs(seed=0):
    "Three Gaussian blobs in 8 dimensions: 300 training and 200 test examples, the same for every seed."
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 8)) * 2
    def draw(n):
        y = rng.integers(0, 3, n)
        return (centers[y] + rng.normal(size=(n, 8))).astype('float32'), y
    return {'train': draw(300), 'test': draw(200)}
