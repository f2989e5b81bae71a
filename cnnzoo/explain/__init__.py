"""What a network looks at: heat maps over the input, one per image, in [0, 1].

- :func:`gradcam`: Grad-CAM (Selvaraju et al. 2017), a layer's maps weighted by the class
  score's gradient (default layer: the last ``stage{i}_out``).
- :func:`saliency`: the input gradient (Simonyan et al. 2014), or SmoothGrad's average
  over noisy copies (Smilkov et al. 2017).
- :func:`occlusion`: the drop in the class probability when a patch is hidden (Zeiler and
  Fergus 2014).

Gradients go through the Keras backend in use (TensorFlow, JAX or PyTorch), and every
function takes 1-D, 2-D and 3-D inputs, models reloaded from ``.keras``, nested models,
models with augmentation layers and models with auxiliary heads.
:func:`cnnzoo.viz.heatmap_overlay` draws a map over its image; ``cnnzoo explain`` does it
for a run's model on image files.
"""

from cnnzoo.explain.gradcam import gradcam
from cnnzoo.explain.graph import default_layer
from cnnzoo.explain.occlusion import occlusion
from cnnzoo.explain.saliency import saliency

METHODS = {"gradcam": gradcam, "saliency": saliency, "occlusion": occlusion}

__all__ = ["METHODS", "default_layer", "gradcam", "occlusion", "saliency"]
