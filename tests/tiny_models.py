"""Test helpers for the translation systems: the seed's reference set and tiny offline models.

Every model here is built offline: random weights, tokenizers trained on the fly on the corpus
text, saved to a folder and then loaded by evalkit through exactly the path a hub id takes.
Each is tiny (a few hundred vocabulary entries, d_model 16–32) so a test translates the whole
seed in a second or two.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from evalkit.records import ReferenceRecord, read_references

TESTS = Path(__file__).parent
REPO = TESTS.parent
SEED_HYPS = TESTS / "data" / "seed" / "hyps" / "000_53f484adf56f99c2.jsonl"
CORPUS_HYPS = TESTS / "data" / "corpus" / "hyps"
REAL_SEED_REFERENCE = REPO / "reference" / "seed.jsonl"


def seed_lines() -> list[dict]:
    """The seed's Chinese body lines with an independent English translation of each."""
    return [json.loads(line) for line in SEED_HYPS.read_text(encoding="utf-8").splitlines() if line.strip()]


def built_seed_references() -> list[ReferenceRecord]:
    """A reference set built from the seed's lines: one record per Chinese line, the independent
    translation as ``en``, and one ``1-2``-style record joining two lines with ``\\n`` (the
    shape the aligner produces), so that per-line lookups are exercised."""
    rows = seed_lines()
    records = []
    doc = "1958-08-07_p2_seed"
    i = 0
    index = 0
    while i < len(rows):
        if i == 5 and i + 1 < len(rows):
            zh = rows[i]["zh"] + "\n" + rows[i + 1]["zh"]
            en = rows[i]["hyp"] + " " + rows[i + 1]["hyp"]
            bead, step = "1-2", 2
        else:
            zh, en, bead, step = rows[i]["zh"], rows[i]["hyp"], "1-1", 1
        records.append(ReferenceRecord(id=f"{doc}#{index:04d}", doc_id=doc, index=index, zh=zh, en=en,
                                       bead=bead, align_cost=0.0))
        index += 1
        i += step
    return records


def seed_references() -> list[ReferenceRecord]:
    """The real seed reference set once the corpus stage has produced it, else the built one."""
    if REAL_SEED_REFERENCE.exists():
        return read_references(REAL_SEED_REFERENCE)
    return built_seed_references()


# --------------------------------------------------------------------------------------------
# Tiny models. Each builder writes a complete model folder (config, weights, tokenizer files)
# and returns it; evalkit then loads it with ``model: <folder>``.
# --------------------------------------------------------------------------------------------

SPM_VOCAB = 800  # the corpus has ~1400 distinct characters; 98% coverage needs ~670 pieces
TINY = {"d_model": 16, "layers": 1, "heads": 2, "ffn": 32}
TINY_LIMIT = 48  # input limit of every tiny model, in its own tokens


def corpus_text() -> list[str]:
    """Chinese lines and English translations from the seed and corpus hyps files."""
    lines: list[str] = []
    for path in [*sorted(CORPUS_HYPS.glob("*.jsonl")), SEED_HYPS]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                lines += [row["zh"], row["hyp"]]
    return lines


@functools.lru_cache(maxsize=4)
def _sentencepiece_proto(vocab_size: int) -> bytes:
    import io

    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus_text()), model_writer=model, vocab_size=vocab_size,
                                   character_coverage=0.98, model_type="unigram", hard_vocab_limit=False,
                                   minloglevel=2, num_threads=1)
    return model.getvalue()


def train_sentencepiece(path: Path, vocab_size: int = SPM_VOCAB) -> Path:
    """A unigram SentencePiece model trained on the corpus text (once per session), written to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_sentencepiece_proto(vocab_size))
    return path


def sentencepiece_pieces(path: Path) -> list[tuple[str, float]]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(path))
    return [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]


def _seed_torch() -> None:
    import torch

    torch.manual_seed(0)


def build_marian(folder: Path, *, vocab_size: int | None = None, d_model: int = TINY["d_model"],
                 layers: int = TINY["layers"], heads: int = TINY["heads"], ffn: int = TINY["ffn"],
                 positions: int = TINY_LIMIT) -> Path:
    """A Marian model (tiny by default). ``vocab_size`` pads the vocabulary with unused pieces and
    the other sizes scale the network, so the same builder gives opus-mt-zh-en's shapes
    (vocab 65001, d_model 512, 6+6 layers, 8 heads, ffn 2048, 512 positions) for benchmarks."""
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    work = folder / "_spm"
    work.mkdir(exist_ok=True)
    spm_file = train_sentencepiece(work / "sp.model")
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spm_file))
    vocab = {"</s>": 0, "<unk>": 1}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    while vocab_size is not None and len(vocab) < vocab_size - 1:
        vocab[f"<unused{len(vocab)}>"] = len(vocab)
    vocab["<pad>"] = len(vocab)
    (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = MarianTokenizer(str(spm_file), str(spm_file), str(work / "vocab.json"),
                                source_lang="zh", target_lang="en", model_max_length=positions)
    _seed_torch()
    config = MarianConfig(vocab_size=len(vocab), d_model=d_model, encoder_layers=layers, decoder_layers=layers,
                          encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=ffn,
                          decoder_ffn_dim=ffn, max_position_embeddings=positions, pad_token_id=vocab["<pad>"], eos_token_id=0,
                          decoder_start_token_id=vocab["<pad>"], forced_eos_token_id=0)
    MarianMTModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _bart_like(config_cls, vocab_size: int, **ids):
    return config_cls(vocab_size=vocab_size, d_model=TINY["d_model"], encoder_layers=TINY["layers"],
                      decoder_layers=TINY["layers"], encoder_attention_heads=TINY["heads"],
                      decoder_attention_heads=TINY["heads"], encoder_ffn_dim=TINY["ffn"], decoder_ffn_dim=TINY["ffn"],
                      max_position_embeddings=TINY_LIMIT, **ids)


def build_nllb(folder: Path) -> Path:
    """NLLB: model_type m2m_100 with an NllbTokenizer (BPE built from the SentencePiece pieces;
    protobuf is not installed, so not converted from the .model file)."""
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer
    from transformers.tokenization_utils_base import generate_merges

    folder.mkdir(parents=True, exist_ok=True)
    pieces = sentencepiece_pieces(train_sentencepiece(folder / "_spm" / "sp.model"))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for piece, _ in pieces:
        vocab.setdefault(piece, len(vocab))
    scores = dict(pieces)
    tokenizer = NllbTokenizer(vocab=vocab, merges=generate_merges(vocab, scores), src_lang="zho_Hans",
                              tgt_lang="eng_Latn", model_max_length=TINY_LIMIT)
    _seed_torch()
    config = _bart_like(M2M100Config, len(tokenizer), pad_token_id=tokenizer.pad_token_id, bos_token_id=0,
                        eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.eos_token_id)
    M2M100ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_m2m100(folder: Path) -> Path:
    """M2M100: len(tokenizer) omits the language tokens, so the vocabulary is sized by hand."""
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    spm_file = train_sentencepiece(folder / "_spm" / "sp.model")
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for piece, _ in sentencepiece_pieces(spm_file):
        vocab.setdefault(piece, len(vocab))
    (folder / "_spm" / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = M2M100Tokenizer(str(folder / "_spm" / "vocab.json"), str(spm_file), src_lang="zh", tgt_lang="en",
                                model_max_length=TINY_LIMIT)
    size = tokenizer.encoder_size + len(tokenizer.lang_code_to_id) + tokenizer.num_madeup_words
    _seed_torch()
    config = _bart_like(M2M100Config, size, pad_token_id=tokenizer.pad_token_id, bos_token_id=0,
                        eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.eos_token_id)
    M2M100ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_mbart50(folder: Path) -> Path:
    from transformers import MBart50Tokenizer, MBartConfig, MBartForConditionalGeneration

    folder.mkdir(parents=True, exist_ok=True)
    pieces = sentencepiece_pieces(train_sentencepiece(folder / "_spm" / "sp.model"))
    tokenizer = MBart50Tokenizer(vocab=pieces, src_lang="zh_CN", tgt_lang="en_XX", model_max_length=TINY_LIMIT)
    _seed_torch()
    config = _bart_like(MBartConfig, len(tokenizer), pad_token_id=tokenizer.pad_token_id, bos_token_id=0,
                        eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.eos_token_id)
    MBartForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_t5(folder: Path) -> Path:
    """A ByT5-style model: T5 over UTF-8 bytes (no tokenizer training needed)."""
    from transformers import ByT5Tokenizer, T5Config, T5ForConditionalGeneration

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = ByT5Tokenizer(model_max_length=TINY_LIMIT * 4)  # bytes: a Chinese character is 3
    _seed_torch()
    config = T5Config(vocab_size=len(tokenizer), d_model=TINY["d_model"], d_kv=8, d_ff=TINY["ffn"],
                      num_layers=TINY["layers"], num_decoder_layers=TINY["layers"], num_heads=TINY["heads"],
                      pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=0)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_causal_lm(folder: Path, context: int = 512) -> Path:
    """A Qwen2-style chat model: a byte-level BPE trained on the corpus with a ChatML template.

    The folder is saved, its tokenizer reloaded through AutoTokenizer (which rebuilds it as a
    Qwen2Tokenizer, with its own ids) and the model sized from the reloaded tokenizer, so that
    the ids evalkit sees are the ids the model was built for.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(corpus_text(), trainers.BpeTrainer(vocab_size=600, special_tokens=specials,
                                                               initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                               show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        chat_template=QWEN_CHAT_TEMPLATE, model_max_length=context)
    _seed_torch()
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=context,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    reloaded = AutoTokenizer.from_pretrained(folder)
    if len(reloaded) != config.vocab_size or reloaded.eos_token_id != config.eos_token_id:
        config = Qwen2Config(**{**config.to_dict(), "vocab_size": len(reloaded), "eos_token_id": reloaded.eos_token_id,
                                "pad_token_id": reloaded.pad_token_id})
        _seed_torch()
        Qwen2ForCausalLM(config).save_pretrained(folder)
    return folder


# --------------------------------------------------------------------------------------------
# Tiny neural metrics (issue 12): an XLM-R-shaped encoder, COMET / CometKiwi checkpoints in
# unbabel-comet's own layout built on it, and a sentence-transformers (LaBSE-shaped) model.
# --------------------------------------------------------------------------------------------

TINY_ENCODER_POSITIONS = 64  # COMET's limit is then 62 tokens per text: the seed's long paragraphs split


def build_xlmr_encoder(folder: Path, positions: int = TINY_ENCODER_POSITIONS) -> Path:
    """An XLM-RoBERTa encoder (2 layers, hidden 32) with a unigram tokenizer trained on the corpus
    (XLM-R's special tokens and order), saved as a transformers folder. ``positions``: the
    input limit in tokens (XLM-R's 512 is ``positions=512``); max_position_embeddings is 2 more."""
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    pieces = sentencepiece_pieces(train_sentencepiece(folder / "_spm" / "sp.model"))
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = [(t, 0.0) for t in specials] + [p for p in pieces if p[0] not in specials] + [("<mask>", 0.0)]
    tokenizer = XLMRobertaTokenizer(vocab=vocab, model_max_length=positions)
    tokenizer.save_pretrained(folder)
    _seed_torch()
    config = XLMRobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                              intermediate_size=64, max_position_embeddings=positions + 2,
                              pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                              eos_token_id=tokenizer.eos_token_id)
    XLMRobertaModel(config, add_pooling_layer=False).save_pretrained(folder)
    return folder


# The shapes of Unbabel/wmt22-comet-da and Unbabel/wmt22-cometkiwi-da's hparams.yaml, sized down.
COMET_HPARAMS = {"encoder_model": "XLM-RoBERTa", "hidden_sizes": [32], "activations": "Tanh", "final_activation": None,
                 "layer_transformation": "sparsemax", "layer_norm": False, "dropout": 0.1}


def build_comet(folder: Path, encoder: Path, kind: str = "comet") -> Path:
    """A COMET checkpoint in unbabel-comet's layout — ``checkpoints/model.ckpt`` (a Lightning
    checkpoint: state_dict, hyper_parameters, version) and ``hparams.yaml`` — whose
    ``pretrained_model`` is the local ``encoder`` folder and ``load_pretrained_weights`` false, so
    that ``comet.load_from_checkpoint`` builds it offline. ``kind``: ``comet`` (regression_metric,
    src+mt+ref) or ``cometkiwi`` (unified_metric, input_segments [mt, src]). Random weights."""
    import torch
    import yaml

    from evalkit.metrics.neural import _pkg_resources_available, _quiet, import_comet

    import_comet()  # before pytorch_lightning: supplies pkg_resources where setuptools no longer has it
    import pytorch_lightning
    from comet.models import RegressionMetric, UnifiedMetric

    common = dict(COMET_HPARAMS, pretrained_model=str(encoder), load_pretrained_weights=False, local_files_only=True)
    _seed_torch()
    with _pkg_resources_available(), _quiet():
        if kind == "comet":
            model = RegressionMetric(**common, pool="avg", layer="mix")
        elif kind == "cometkiwi":
            model = UnifiedMetric(**common, sent_layer="mix", word_layer=2, input_segments=["mt", "src"],
                                  word_level_training=False)
        else:
            raise ValueError(kind)
    hparams = dict(model.hparams)
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": hparams, "epoch": 0, "global_step": 0,
                "pytorch-lightning_version": pytorch_lightning.__version__}, folder / "checkpoints" / "model.ckpt")
    (folder / "hparams.yaml").write_text(yaml.safe_dump(hparams, sort_keys=True), encoding="utf-8")
    return folder


def build_sentence_transformer(folder: Path, encoder: Path, max_seq_length: int = TINY_ENCODER_POSITIONS) -> Path:
    """A LaBSE-shaped sentence-transformers model on the tiny encoder (CLS pooling, a tanh Dense
    layer, normalisation), saved with ``SentenceTransformer.save``."""
    import torch
    from sentence_transformers import SentenceTransformer

    try:  # newer sentence-transformers; ``sentence_transformers.models`` before (now deprecated)
        from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer
    except ImportError:
        from sentence_transformers.models import Dense, Normalize, Pooling, Transformer

    _seed_torch()
    transformer = Transformer(str(encoder), max_seq_length=max_seq_length)
    dim = transformer.auto_model.config.hidden_size
    modules = [transformer, Pooling(dim, pooling_mode="cls"), Dense(dim, dim, activation_function=torch.nn.Tanh()),
               Normalize()]
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    return folder
