#!/usr/bin/env python3
"""Write a tiny, randomly initialised OpenAudio S1-mini in S1-mini's own file formats.

For the CPU test of the training entrypoint (tests/integration/701-train-cpu.sh): the real
model is gated and 3.6 GB, so the test builds a stand-in with fish-speech's own classes and
savers, run with the fish-speech environment's Python and the fish-speech checkout on
sys.path:

    python make_tiny_s1.py FISH_SPEECH_DIR OUT_DIR [--codec CACHED_CODEC_PTH]

OUT_DIR receives exactly the five files the Hub repo has:
  config.json, model.pth           a dual-AR transformer (DualARModelArgs, BaseTransformer's
                                   save_pretrained), 2 slow + 1 fast layer of width 64
  tokenizer.tiktoken,              FishTokenizer.save_pretrained: the 256 single bytes as the
  special_tokens.json              BPE ranks, then fish-speech's special and 4096 semantic tokens
  codec.pth                        the full-size modded_dac_vq codec (fish_speech/configs/
                                   modded_dac_vq.yaml, 391 M parameters, 1.9 GB like the real
                                   file), random weights; --codec reuses a cached copy (hard
                                   link, else copy) because building it takes about 15 s

Random weights are the point: the entrypoint's loss guard must see them for what they are.
"""

import argparse
import os
import shutil
import sys


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("fish_speech_dir")
    p.add_argument("out_dir")
    p.add_argument("--codec", help="cached codec.pth to reuse, written when missing")
    p.add_argument("--seed", type=int, default=1234)
    a = p.parse_args(argv)

    sys.path.insert(0, os.path.abspath(a.fish_speech_dir))
    import torch

    from fish_speech.models.text2semantic.llama import DualARModelArgs, DualARTransformer
    from fish_speech.tokenizer import ALL_SPECIAL_TOKENS, FishTokenizer

    torch.manual_seed(a.seed)
    os.makedirs(a.out_dir, exist_ok=True)

    # The tokenizer: byte-level ranks only (no merges), fish-speech's special tokens after them.
    bpe = os.path.join(a.out_dir, "tokenizer.tiktoken")
    import base64
    with open(bpe, "w") as f:
        for i in range(256):
            f.write("%s %d\n" % (base64.b64encode(bytes([i])).decode(), i))
    tokenizer = FishTokenizer(bpe, ALL_SPECIAL_TOKENS)
    vocab = tokenizer.vocab_size + tokenizer.num_special_tokens  # 256 + 15 + 4096

    config = DualARModelArgs(
        vocab_size=vocab, n_layer=2, n_head=2, dim=64, intermediate_size=128,
        n_local_heads=2, head_dim=32, rope_base=1000000, norm_eps=1e-6, max_seq_len=4096,
        tie_word_embeddings=False, attention_qkv_bias=False, codebook_size=4096,
        num_codebooks=10, use_gradient_checkpointing=False, n_fast_layer=1,
        fast_dim=64, fast_n_head=2, fast_n_local_heads=2, fast_head_dim=32,
        fast_intermediate_size=128,
    )
    model = DualARTransformer(config, tokenizer=tokenizer)
    model.save_pretrained(a.out_dir)  # config.json, model.pth, tokenizer.tiktoken, special_tokens.json

    codec_out = os.path.join(a.out_dir, "codec.pth")
    if a.codec and os.path.isfile(a.codec):
        try:
            os.link(a.codec, codec_out)
        except OSError:
            shutil.copyfile(a.codec, codec_out)
    else:
        from hydra import compose, initialize_config_dir
        from hydra.utils import instantiate
        cfgdir = os.path.join(os.path.abspath(a.fish_speech_dir), "fish_speech", "configs")
        with initialize_config_dir(version_base="1.3", config_dir=cfgdir):
            cfg = compose(config_name="modded_dac_vq")
        codec = instantiate(cfg)
        torch.save(codec.state_dict(), codec_out + ".tmp")
        os.replace(codec_out + ".tmp", codec_out)
        if a.codec:
            os.makedirs(os.path.dirname(os.path.abspath(a.codec)), exist_ok=True)
            try:
                os.link(codec_out, a.codec + ".tmp")
            except OSError:
                shutil.copyfile(codec_out, a.codec + ".tmp")
            os.replace(a.codec + ".tmp", a.codec)
    names = sorted(os.listdir(a.out_dir))
    print("make_tiny_s1: %s (vocab %d)" % (", ".join(names), vocab))
    return 0


if __name__ == "__main__":
    sys.exit(main())
