"""open_clip's CLIP towers built from its public classes (one adapter for both sides).

open_clip builds a CLIP's towers with the private ``open_clip.model._build_text_tower`` and
``_build_vision_tower``. sfmm needs a single tower (the visual one for a teacher, the text one
for zero-shot classification and retrieval) without the other, so these two functions pass the
same ``CLIPTextCfg`` / ``CLIPVisionCfg`` fields to the public ``open_clip.transformer
.TextTransformer`` / ``VisionTransformer`` (float32-style ``LayerNorm``; ``QuickGELU`` for the
OpenAI weights). Written against open_clip 3.3.0; tests/test_models/test_utils/
test_open_clip_towers.py checks that they build what the private builders build (module types,
keys, shapes and outputs), so a change in open_clip shows there.
"""
from functools import partial

from torch import nn


def _act_norm(cfg, quick_gelu: bool):
    from open_clip.transformer import LayerNorm, QuickGELU
    act_layer = QuickGELU if quick_gelu else nn.GELU
    norm_layer = LayerNorm
    if cfg.norm_kwargs:
        norm_layer = partial(norm_layer, **cfg.norm_kwargs)
    if cfg.act_kwargs is not None:
        act_layer = partial(act_layer, **cfg.act_kwargs)
    return act_layer, norm_layer


def build_text_tower(embed_dim: int, text_cfg: dict, quick_gelu: bool) -> nn.Module:
    """open_clip's ``TextTransformer`` for a CLIP ``text_cfg``.

    Args:
        embed_dim (int): The joint embedding width (the tower's output).
        text_cfg (dict): Fields of ``open_clip.model.CLIPTextCfg``.
        quick_gelu (bool): QuickGELU (OpenAI weights) instead of exact GELU.

    Returns:
        nn.Module: The tower, randomly initialised as open_clip does.
    """
    from open_clip.model import CLIPTextCfg
    from open_clip.transformer import TextTransformer
    cfg = CLIPTextCfg(**text_cfg)
    act_layer, norm_layer = _act_norm(cfg, quick_gelu)
    return TextTransformer(
        context_length=cfg.context_length, vocab_size=cfg.vocab_size, width=cfg.width,
        heads=cfg.heads, layers=cfg.layers, mlp_ratio=cfg.mlp_ratio,
        ls_init_value=cfg.ls_init_value, output_dim=embed_dim, embed_cls=cfg.embed_cls,
        no_causal_mask=cfg.no_causal_mask, pad_id=cfg.pad_id, eos_id=cfg.eos_id,
        pool_type=cfg.pool_type, proj_type=cfg.proj_type, proj_bias=cfg.proj_bias,
        output_tokens=cfg.output_tokens, act_layer=act_layer, norm_layer=norm_layer,
        block_type=cfg.block_type, qk_norm=cfg.qk_norm,
        scaled_cosine_attn=cfg.scaled_cosine_attn, scale_heads=cfg.scale_heads,
        scale_attn_inner=cfg.scale_attn_inner, scale_attn=cfg.scale_attn,
        scale_fc=cfg.scale_fc)


def build_vision_tower(embed_dim: int, vision_cfg: dict, quick_gelu: bool) -> nn.Module:
    """open_clip's ``VisionTransformer`` for a CLIP ``vision_cfg`` (ViT towers only).

    Args:
        embed_dim (int): The joint embedding width (the tower's output).
        vision_cfg (dict): Fields of ``open_clip.model.CLIPVisionCfg``.
        quick_gelu (bool): QuickGELU (OpenAI weights) instead of exact GELU.

    Returns:
        nn.Module: The tower, randomly initialised as open_clip does.

    Raises:
        ValueError: For a timm-model or ModifiedResNet tower (not a ViT teacher).
    """
    from open_clip.model import CLIPVisionCfg
    from open_clip.transformer import VisionTransformer
    cfg = CLIPVisionCfg(**vision_cfg)
    if cfg.timm_model_name or isinstance(cfg.layers, (tuple, list)):
        raise ValueError('only ViT CLIP towers can be built (no timm_model_name, integer '
                         f'layers); got {vision_cfg}')
    act_layer, norm_layer = _act_norm(cfg, quick_gelu)
    return VisionTransformer(
        image_size=cfg.image_size, patch_size=cfg.patch_size, width=cfg.width,
        layers=cfg.layers, heads=cfg.width // cfg.head_width, mlp_ratio=cfg.mlp_ratio,
        ls_init_value=cfg.ls_init_value, patch_dropout=cfg.patch_dropout,
        attentional_pool=cfg.attentional_pool, attn_pooler_queries=cfg.attn_pooler_queries,
        attn_pooler_heads=cfg.attn_pooler_heads, pos_embed_type=cfg.pos_embed_type,
        no_ln_pre=cfg.no_ln_pre, final_ln_after_pool=cfg.final_ln_after_pool,
        pool_type=cfg.pool_type, output_tokens=cfg.output_tokens, output_dim=embed_dim,
        act_layer=act_layer, norm_layer=norm_layer, block_type=cfg.block_type,
        qk_norm=cfg.qk_norm, scaled_cosine_attn=cfg.scaled_cosine_attn,
        scale_heads=cfg.scale_heads, scale_attn_inner=cfg.scale_attn_inner,
        scale_attn=cfg.scale_attn, scale_fc=cfg.scale_fc)
