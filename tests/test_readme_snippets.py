"""The README's Python snippets run as written, with tiny stand-ins for their inputs."""
import json
import re

import numpy as np
import open_clip
import pytest
import torch
import torch.nn.functional as F
from open_clip.model import CLIP
from PIL import Image

from conftest import REPO_ROOT

HEADING = '## Use a SparseFormer inside open_clip'
EMBED = 16
TEXT_CFG = dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=1)
VISION_CFG = dict(image_size=32, layers=1, width=32, patch_size=16, head_width=16)
SF_ARCH = dict(focus_dims=64, embed_dims=32, num_layers=2, num_heads=2, act='quick_gelu',
               proj_dims=EMBED)


def _snippet(heading: str) -> str:
    with open(f'{REPO_ROOT}/README.md') as f:
        readme = f.read()
    assert readme.count(heading) == 1, f'README.md needs one "{heading}" section'
    section = readme.split(heading, 1)[1].split('\n## ', 1)[0]
    blocks = re.findall(r'```python\n(.*?)```', section, re.S)
    assert len(blocks) == 1, f'the "{heading}" section holds one python block'
    return blocks[0]


def _substitute(code: str, values: dict) -> str:
    """Replace each ``NAME = ...`` line of the snippet by ``NAME = repr(value)``."""
    for name, value in values.items():
        code, n = re.subn(rf'^{name} = .*$', f'{name} = {value!r}', code, flags=re.M)
        assert n == 1, f'the snippet no longer assigns {name} on one line'
    return code


def test_open_clip_drop_in_snippet_runs(tmp_path, capsys):
    # a tiny open_clip model registered under its own name, with weights on disk
    name = 'sfmm-readme-tiny'
    (tmp_path / f'{name}.json').write_text(json.dumps(
        dict(embed_dim=EMBED, vision_cfg=VISION_CFG, text_cfg=TEXT_CFG)))
    open_clip.add_model_config(tmp_path / f'{name}.json')
    torch.manual_seed(0)
    clip = CLIP(EMBED, VISION_CFG, TEXT_CFG, quick_gelu=True)
    torch.save(clip.state_dict(), tmp_path / 'clip.bin')
    # a "bootstrapped" tiny SparseFormer checkpoint, as sfmm writes it (backbone.* keys)
    from sfmm.models.backbones import SparseFormer
    torch.manual_seed(1)
    sf = SparseFormer(arch=SF_ARCH, num_latent_tokens=8).eval()
    torch.save(dict(state_dict={'backbone.' + k: v for k, v in sf.state_dict().items()}),
               tmp_path / 'sf.pth')
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (40, 52, 3), np.uint8)).save(
        tmp_path / 'demo.png')

    code = _substitute(_snippet(HEADING), dict(
        CLIP_NAME=name, CLIP_WEIGHTS=str(tmp_path / 'clip.bin'), SF_ARCH=SF_ARCH,
        SF_TOKENS=8, SF_CHECKPOINT=str(tmp_path / 'sf.pth'),
        IMAGE=str(tmp_path / 'demo.png'), LABELS=['a red box', 'a dog', 'noise']))
    namespace = {}
    exec(compile(code, 'README.md', 'exec'), namespace)  # noqa: S102

    probs, image = namespace['probs'], namespace['image']
    assert probs.shape == (1, 3) and float(probs.sum()) == pytest.approx(1., abs=1e-5)
    assert image.shape == (1, 3, 32, 32)  # open_clip's own preprocessing of the CLIP config
    with torch.no_grad():  # the drop-in's embedding is the SparseFormer's
        expected = F.normalize(sf(image)[-1], dim=-1)
        text = clip.eval().encode_text(open_clip.get_tokenizer(name)(namespace['LABELS']),
                                       normalize=True)
    torch.testing.assert_close(namespace['image_features'], expected)
    torch.testing.assert_close(probs, (100. * expected @ text.t()).softmax(-1))
    assert 'a red box' in capsys.readouterr().out


def test_inference_snippet_runs(tmp_path, capsys):
    from sfmm.apis import init_model
    cfg = f'{REPO_ROOT}/tests/data/configs/tiny_sf_classifier.py'
    torch.save(dict(state_dict=init_model(cfg).state_dict()), tmp_path / 'tiny.pth')
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (40, 52, 3), np.uint8)).save(
        tmp_path / 'demo.jpg')
    code = _substitute(_snippet('## Inference from Python'), dict(
        CONFIG=cfg, CHECKPOINT=str(tmp_path / 'tiny.pth'), IMAGE=str(tmp_path / 'demo.jpg')))
    exec(compile(code, 'README.md', 'exec'), {})
    out = capsys.readouterr().out
    assert re.search(r'^class [01] score 0\.\d+', out, re.M)
    assert 'embedding (64,)' in out
    assert 'RoIs (5, 8, 4)' in out and 'points (8, 4, 2)' in out


def test_timm_snippet_runs(tmp_path, capsys):
    from mmengine.config import Config

    from sfmm.utils.model_builder import build_model_from_cfg
    torch.manual_seed(0)
    model = build_model_from_cfg(
        Config.fromfile(f"{REPO_ROOT}/configs/demo/sf-demo_fashion-canvas.py"))
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'student.pth')
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (64, 64, 3), np.uint8)).save(
        tmp_path / 'canvas.png')
    code = _substitute(_snippet('## Use a SparseFormer in timm'), dict(
        CHECKPOINT=str(tmp_path / 'student.pth'), IMAGE=str(tmp_path / 'canvas.png')))
    exec(compile(code, 'README.md', 'exec'), {})
    out = capsys.readouterr().out
    match = re.search(r'^class (\d) of 10$', out, re.M)
    assert match
    # the class the sfmm model predicts for the same image through its own pipeline
    from sfmm.apis import inference_model, init_model
    sfmm_model = init_model(f'{REPO_ROOT}/configs/demo/sf-demo_fashion-canvas.py',
                            str(tmp_path / 'student.pth'))
    result = inference_model(sfmm_model, str(tmp_path / "canvas.png"))[0]
    assert int(match.group(1)) == int(result["pred_label"])
