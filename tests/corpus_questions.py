"""Corpus cases for the question audit: wrong answers the hidden tests now catch, and valid
alternatives that a hidden requirement used to fail. For the lead to add to the grading corpus.

Each case is (file name, notebook, assignment, expected): the notebook is the answered student
notebook with one answer cell replaced; `expected["lost"]` lists the questions whose points are
lost, `expected["message"]` (when present) is a substring of the grader's message and
`expected["review"]` (when present) the review flag the submission raises.
"""

from __future__ import annotations

import nbformat
from checkout import COURSE

from coursekit import grading


def answered(assignment: str, language: str, skip: tuple = ()) -> nbformat.NotebookNode:
    """An answered student notebook of this checkout's assignment."""
    return grading.answered(assignment, language, skip, source=COURSE.solutions,
                            exercises=COURSE.exercises)

CH01, CH02, CH03 = "ch01_module_basics", "ch02_builtin_layers", "ch03_custom_layers"
CH06, CH08 = "ch06_hooks", "ch08_cnn"

# ---------------------------------------------------------------- ch01 q4: train_step

OWN_OPTIMIZER = '''def train_step(model, X, y, optimizer, loss_fn):
    """Ignores the given optimizer: creates its own SGD(lr=0.1) at every call."""
    model.train()
    own = torch.optim.SGD(model.parameters(), lr=0.1)
    own.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    own.step()
    return loss.item()
'''
SWAPPED_LOSS_ARGS = '''def train_step(model, X, y, optimizer, loss_fn):
    """loss_fn(y, output): MSELoss and L1Loss are symmetric, so only the order gives it away."""
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(y, model(X))
    loss.backward()
    optimizer.step()
    return loss.item()
'''
TRAIN_STEP_ALTERNATIVE = '''def train_step(model, X, y, optimizer, loss_fn):
    """Valid: model.zero_grad() instead of optimizer.zero_grad(), float() instead of .item()."""
    model.train()
    model.zero_grad()
    output = model(X)
    loss = loss_fn(output, y.view(-1, 1))
    loss.backward()
    optimizer.step()
    return float(loss)
'''

# ---------------------------------------------------------------- ch02 q1: conv_output_shape

RUNS_F_CONV2D = '''import torch.nn.functional as F


def conv_output_shape(conv, input_shape):
    """Runs the convolution through F.conv2d / F.conv_transpose2d instead of the formulas."""
    x = torch.zeros(tuple(input_shape))
    if isinstance(conv, nn.ConvTranspose2d):
        out = F.conv_transpose2d(x, conv.weight, None, conv.stride, conv.padding,
                                 conv.output_padding, conv.groups, conv.dilation)
    elif conv.padding_mode != "zeros":
        padded = F.pad(x, conv._reversed_padding_repeated_twice, mode=conv.padding_mode)
        out = F.conv2d(padded, conv.weight, None, conv.stride, 0, conv.dilation, conv.groups)
    else:
        out = F.conv2d(x, conv.weight, None, conv.stride, conv.padding, conv.dilation,
                       conv.groups)
    return tuple(int(v) for v in out.shape)
'''
SHAPE_EQUALS_ANYTHING = '''class Shape(tuple):
    def __eq__(self, other):
        return True

    __hash__ = tuple.__hash__


def conv_output_shape(conv, input_shape):
    return Shape((1, 1, 1, 1))
'''
FORMULAS = '''def conv_output_shape(conv, input_shape):
    n, _, h, w = input_shape
    sizes = []
    for i, size in enumerate((int(h), int(w))):
        k, s, d = conv.kernel_size[i], conv.stride[i], conv.dilation[i]
        if isinstance(conv, nn.ConvTranspose2d):
            p, extra = conv.padding[i], conv.output_padding[i]
            sizes.append((size - 1) * s - 2 * p + d * (k - 1) + extra + 1)
        elif conv.padding == "same":
            sizes.append(size)
        else:
            p = 0 if conv.padding == "valid" else conv.padding[i]
            sizes.append((size + 2 * p - d * (k - 1) - 1) // s + 1)
    return torch.Size([int(n), conv.out_channels, sizes[0], sizes[1]])  # valid: a tuple of ints
'''

# ---------------------------------------------------------------- ch03 q3: MyLinear

BIAS_BEFORE_WEIGHT = '''class MyLinear(nn.Module):
    """Valid: registers bias before weight (the question asks for no order)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        else:
            self.register_parameter("bias", None)
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))

    def forward(self, x):
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
'''
TEXT_EQUALS_ANYTHING = BIAS_BEFORE_WEIGHT.replace(
    '''        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")''',
    '''        return AnyText(f"in_features={self.in_features}, out_features={self.out_features}")


class AnyText(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__''').replace("Valid: registers bias before weight (the question asks "
                                         "for no order).", "extra_repr without bias=...")

# ---------------------------------------------------------------- ch06 q5: DeadReLUCounter

COUNTS_EQUAL_ANYTHING = '''class DeadReLUCounter:
    """Counts zero entries of the last batch, behind a dict that equals anything."""

    def __init__(self, model):
        self.model = model
        self.zeros = {}
        self.handles = []

    def __enter__(self):
        for name, module in self.model.named_modules():
            if isinstance(module, nn.ReLU):
                self.handles.append(module.register_forward_hook(self._make_hook(name)))
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        for handle in self.handles:
            handle.remove()
        self.handles = []
        return False

    def dead_units(self):
        return Counts(self.zeros)

    def _make_hook(self, name):
        def hook(module, args, output):
            self.zeros[name] = int((output.detach() == 0).sum())
        return hook


class Counts(dict):
    def __eq__(self, other):
        return True

    __hash__ = None
'''

# ---------------------------------------------------------------- ch08 q5: fit


def _fit_solution() -> str:
    """The reference answer of ch08's fit, without its solution markers."""
    cell = next(c for c in answered(CH08, "en").cells
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "q5_answer")
    return cell.source


def _fit_variant(old: str, new: str) -> str:
    source = _fit_solution()
    assert source.count(old) == 1, old
    return source.replace(old, new)


ADAMW_PER_EPOCH = ("""    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
""", """    history = []
    for _ in range(epochs):
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)  # wrong: a new one every epoch
""")
ADAM_NOT_ADAMW = ("torch.optim.AdamW(model.parameters(), lr=lr)",
                  "torch.optim.Adam(model.parameters(), lr=lr)")
ZERO_GRAD_AFTER_STEP = ("""            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
""", """            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()  # valid here: the model arrives without gradients
""")


# ---------------------------------------------------------------- the cases


def with_answer(assignment: str, grade_id: str, source: str) -> nbformat.NotebookNode:
    """The answered English notebook with one answer cell's source replaced."""
    nb = answered(assignment, "en")
    cell = next(c for c in nb.cells
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)
    cell.source = source
    return nb


def cases() -> list[tuple[str, nbformat.NotebookNode, str, dict]]:
    """(file name, notebook, assignment, expected) for every case of the audit."""
    return [
        ("ch01_own_optimizer.ipynb", with_answer(CH01, "q4_answer", OWN_OPTIMIZER), CH01,
         {"lost": ["q4"], "message": "q4 (AssertionError: take exactly one step of the optimizer "
                                     "you are given"}),
        ("ch01_loss_arguments_swapped.ipynb", with_answer(CH01, "q4_answer", SWAPPED_LOSS_ARGS),
         CH01, {"lost": ["q4"], "message": "q4 (AssertionError: call loss_fn(model(X), y) once"}),
        ("ch01_train_step_alternative.ipynb",
         with_answer(CH01, "q4_answer", TRAIN_STEP_ALTERNATIVE), CH01, {"lost": []}),
        ("ch02_shape_through_f_conv2d.ipynb", with_answer(CH02, "q1_answer", RUNS_F_CONV2D), CH02,
         {"lost": ["q1"], "message": "q1 (AssertionError: compute the shape from the layer's "
                                     "attributes, do not run the layer"}),
        ("ch02_shape_equals_anything.ipynb",
         with_answer(CH02, "q1_answer", SHAPE_EQUALS_ANYTHING), CH02,
         {"lost": ["q1"], "message": "q1 (AssertionError: Conv2d(3, 8, 3) maps",
          "review": "overrides equality"}),
        ("ch02_shape_as_torch_size.ipynb", with_answer(CH02, "q1_answer", FORMULAS), CH02,
         {"lost": []}),
        ("ch03_bias_before_weight.ipynb", with_answer(CH03, "q3_answer", BIAS_BEFORE_WEIGHT), CH03,
         {"lost": []}),
        ("ch03_extra_repr_equals_anything.ipynb",
         with_answer(CH03, "q3_answer", TEXT_EQUALS_ANYTHING), CH03,
         {"lost": ["q3"], "message": "q3 (AssertionError: extra_repr must match nn.Linear's",
          "review": "overrides equality"}),
        ("ch06_counts_equal_anything.ipynb",
         with_answer(CH06, "q5_answer", COUNTS_EQUAL_ANYTHING), CH06,
         {"lost": ["q5"], "message": "q5 (AssertionError: expected {'1': 3, '3': 1} dead units",
          "review": "overrides equality"}),
        ("ch08_adamw_every_epoch.ipynb",
         with_answer(CH08, "q5_answer", _fit_variant(*ADAMW_PER_EPOCH)), CH08,
         {"lost": ["q5"], "message": "q5 (AssertionError: create the optimizer once"}),
        ("ch08_adam_not_adamw.ipynb",
         with_answer(CH08, "q5_answer", _fit_variant(*ADAM_NOT_ADAMW)), CH08,
         {"lost": ["q5"], "message": "q5 (AssertionError: use torch.optim.AdamW"}),
        ("ch08_zero_grad_after_step.ipynb",
         with_answer(CH08, "q5_answer", _fit_variant(*ZERO_GRAD_AFTER_STEP)), CH08,
         {"lost": []}),
    ]
