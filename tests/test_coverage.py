"""Syllabus coverage: every API a chapter must execute appears in its code cells."""

from __future__ import annotations

import re

import pytest
from checkout import COURSE

from coursekit.notebooks import read_source, source_path

# From ../shared/SYLLABUS.md, per chapter. A regex per API, matched against the code cells.
SYLLABUS_APIS = {
    "ch01_module_basics": [
        r"nn\.Module\b", r"nn\.Linear\(", r"nn\.ReLU\(", r"torch\.relu\(", r"nn\.Sigmoid\(",
        r"nn\.Sequential\(", r"\.named_parameters\(", r"\.parameters\(", r"\.named_modules\(",
        r"\.named_children\(", r"\.children\(", r"\.modules\(", r"\.requires_grad_\(",
        r"\.train\(", r"\.eval\(", r"\.to\(device\)", r"torch\.device\(",
        r"torch\.cuda\.is_available\(", r"torch\.optim\.SGD\(", r"nn\.BCEWithLogitsLoss\(",
        r"nn\.MSELoss\(", r"\.zero_grad\(", r"\.backward\(", r"\.step\(", r"super\(\)\.__init__\(",
    ],
    "ch02_builtin_layers": [
        r"nn\.Linear\(", r"nn\.Conv1d\(", r"nn\.Conv2d\(", r"nn\.Conv3d\(",
        r"nn\.ConvTranspose2d\(", r"nn\.MaxPool2d\(", r"nn\.AvgPool2d\(",
        r"nn\.AdaptiveAvgPool2d\(", r"nn\.BatchNorm1d\(", r"nn\.BatchNorm2d\(",
        r"nn\.LayerNorm\(", r"nn\.GroupNorm\(", r"nn\.Dropout\(",
        r"nn\.Dropout2d\(", r"nn\.ReLU\(", r"nn\.LeakyReLU\(", r"nn\.Sigmoid\(", r"nn\.Tanh\(",
        r"nn\.GELU\(", r"nn\.SiLU\(", r"nn\.Softmax\(", r"F\.relu\(", r"F\.softmax\(",
        r"nn\.Flatten\(", r"nn\.Identity\(", r"nn\.Embedding\(", r"padding_idx", r"nn\.RNN\(",
        r"nn\.LSTM\(", r"nn\.GRU\(", r"batch_first", r"bidirectional", r"nn\.MultiheadAttention\(",
        r"key_padding_mask", r"attn_mask", r"nn\.CrossEntropyLoss\(", r"padding=.same.",
        r"dilation=", r"groups=",
    ],
    "ch03_custom_layers": [
        r"nn\.Parameter\(", r"\.register_parameter\(", r"\.register_buffer\(", r"persistent=False",
        r"\.named_buffers\(", r"nn\.ParameterList\(", r"nn\.ParameterDict\(", r"def extra_repr\(",
        r"nn\.LazyLinear\(", r"\.chunk\(", r"\.state_dict\(",
    ],
    "ch04_initialisation": [
        r"nn\.init\.uniform_\(", r"nn\.init\.normal_\(", r"nn\.init\.constant_\(",
        r"nn\.init\.zeros_\(", r"nn\.init\.ones_\(", r"nn\.init\.eye_\(",
        r"nn\.init\.xavier_uniform_\(", r"nn\.init\.xavier_normal_\(",
        r"nn\.init\.kaiming_uniform_\(", r"nn\.init\.kaiming_normal_\(",
        r"nn\.init\.orthogonal_\(", r"nn\.init\.calculate_gain\(", r"\.apply\(",
        r"torch\.no_grad\(",
    ],
    "ch05_containers": [
        r"nn\.Sequential\(", r"OrderedDict\(", r"\.add_module\(", r"nn\.ModuleList\(",
        r"nn\.ModuleDict\(", r"nn\.ParameterList\(",
        # a container's own methods, given a module (a list's .append(x) would not do)
        r"\.append\(nn\.\w+\(", r"\.extend\(\[nn\.\w+\(", r"\.insert\(-?\d+, nn\.\w+\(",
    ],
    "ch06_hooks": [
        r"\.register_forward_hook\(", r"\.register_forward_pre_hook\(",
        r"\.register_full_backward_hook\(", r"\.register_full_backward_pre_hook\(",
        r"\.register_hook\(", r"\.remove\(\)", r"\.register_backward_hook\(",
    ],
    "ch07_serialisation_modes": [
        r"\.state_dict\(", r"\.load_state_dict\(", r"torch\.save\(", r"torch\.load\(",
        r"map_location", r"weights_only", r"strict=False", r"optimizer\.state_dict\(",
        r"torch\.inference_mode\(", r"\.requires_grad_\(", r"torch\.no_grad\(",
    ],
    "ch08_cnn": [
        r"nn\.Conv2d\(", r"bias=False", r"nn\.BatchNorm2d\(", r"nn\.ModuleList\(",
        r"nn\.Sequential\(", r"nn\.AdaptiveAvgPool2d\(", r"nn\.Flatten\(", r"nn\.Dropout\(",
        r"\.apply\(", r"DataLoader\(", r"Dataset\b", r"nn\.CrossEntropyLoss\(",
        r"torch\.optim\.AdamW\(", r"torch\.optim\.Adam\(", r"CosineAnnealingLR\(",
        r"clip_grad_norm_\(", r"\btqdm\((?!\))", r"\.register_forward_hook\(",
        r"torch\.amp\.autocast\(",
        r"torch\.amp\.GradScaler\(", r"torch\.save\(", r"torch\.load\(", r"\.eval\(\)",
        r"load_digits\(",
    ],
}


@pytest.mark.parametrize("page", COURSE.chapter_files())
def test_chapter_executes_every_syllabus_api(page):
    assert page in SYLLABUS_APIS, f"add {page}'s syllabus API list to this test"
    code = "\n".join(c.source for c in read_source(source_path(COURSE.editions()[0], page)).cells
                     if c.cell_type == "code")
    missing = [api for api in SYLLABUS_APIS[page] if not re.search(api, code)]
    assert missing == [], f"{page} never runs {missing}"


@pytest.mark.parametrize(("api", "decoy"), [
    (r"\.append\(nn\.\w+\(", "losses.append(loss.item())"),
    (r"\.extend\(\[nn\.\w+\(", "names.extend(more)"),
    (r"\.insert\(-?\d+, nn\.\w+\(", 'as_list.insert(5, "Dropout")'),
    (r"\btqdm\((?!\))", "from tqdm.auto import tqdm"),
])
def test_syllabus_patterns_are_not_met_by_lookalikes(api, decoy):
    """Positive control: an import or a plain list method does not count as using the API."""
    assert any(api in apis for apis in SYLLABUS_APIS.values()), f"{api} left the syllabus"
    assert not re.search(api, decoy)
