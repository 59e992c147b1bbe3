"""``ct2``: Marian, NLLB, M2M100 and mBART models run by CTranslate2 (int8 on CPU, fp16/bf16 on GPU).

The model is converted once from a hub id or a local folder with CTranslate2's
``TransformersConverter`` and kept on disk, keyed by the model's identity (hub id + revision,
or a digest of the folder), the quantization and the CTranslate2 version; later runs and other
processes (Ray actors) load the converted copy. Everything else is ``hf-seq2seq``'s: the same
chunking to the model's input limit, the same length-sorted batches, the same family language
handling (NLLB/M2M100/mBART get their target language as CTranslate2's ``target_prefix``, the
way ``forced_bos_token_id`` gives it to ``generate``), the same caching by fingerprint.

Options
-------
``model``, ``revision``, ``tokenizer``, ``family``, ``src_lang``, ``tgt_lang``, ``prefix``,
``batch_size``, ``max_input_tokens``, ``device``  as for ``hf-seq2seq`` (``device``: auto, cpu, cuda, cuda:N).
``generation``     decoding settings, in ``generate``'s names (``num_beams``, ``max_new_tokens``,
                   ``min_new_tokens``, ``length_penalty``, ``repetition_penalty``,
                   ``no_repeat_ngram_size``) or CTranslate2's own (``beam_size``, ``max_decoding_length``…).
                   Default ``num_beams: 4`` and ``max_new_tokens`` 1.5 × the input limit, as hf-seq2seq.
``compute_type``   ``auto`` (default: int8 on CPU, float16 on GPU), or ``int8``, ``int8_float32``,
                   ``int8_float16``, ``int8_bfloat16``, ``int16``, ``float16``, ``bfloat16``, ``float32``.
``threads``        CPU threads in all (default: the cores this process may use, or OMP_NUM_THREADS).
``parallel_batches`` batches decoded at once (CTranslate2's ``inter_threads``; they share one copy of
                   the weights), each with ``threads // parallel_batches`` threads. Default on CPU:
                   ``threads`` (one thread per batch: the most paragraphs/s once there are as many
                   batches as threads; measured in bench/bench_translate.py); on GPU: 1.
``converted_dir``  where converted models are kept (default ``$EVALKIT_CT2_DIR``, else a ``ct2/``
                   folder beside the translation cache).

At float32 with greedy decoding each family gives exactly hf-seq2seq's hypotheses (tested); int8
and float16 differ by quantisation only. Two transformers-5 changes that CTranslate2 4.8.5's
converter predates are bridged at conversion (M2M100's language tokens missing from
``get_vocab``; mBART configs without ``normalize_before``/``tokenizer_class``).

GPU: the CTranslate2 4.x wheels are built against CUDA 12. On a CUDA 13 image the GPU path
fails with "Library libcublas.so.12 is not found"; this backend turns that into a BackendError
that says so and points to ``hf-seq2seq`` (or ``device: cpu``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evalkit.config import SystemConfig
from evalkit.errors import BackendError, ConfigError
from evalkit.systems.base import checked_options, Segment, Translation, Translator
from evalkit.systems.chunking import CHUNKING_POLICY
from evalkit.systems.hf_common import ChunkPlan, ModelSource, input_limit, is_oom, resolve_model, run_batches
from evalkit.systems.hf_seq2seq import DEFAULTS, Seq2SeqTranslator, detect_family

OPTIONS = {"model", "revision", "tokenizer", "family", "src_lang", "tgt_lang", "prefix", "batch_size",
           "max_input_tokens", "generation", "device", "compute_type", "threads", "parallel_batches",
           "converted_dir"}
COMPUTE_TYPES = ("int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16", "bfloat16", "float32")
# CTranslate2 model types its TransformersConverter handles for translation (config class names).
CONVERTIBLE = {"marian": "MarianConfig", "m2m_100": "M2M100Config", "mbart": "MBartConfig"}

# generate() names -> translate_batch() names; CTranslate2's own names pass through unchanged.
GENERATION_NAMES = {"num_beams": "beam_size", "max_new_tokens": "max_decoding_length",
                    "min_new_tokens": "min_decoding_length", "length_penalty": "length_penalty",
                    "repetition_penalty": "repetition_penalty", "no_repeat_ngram_size": "no_repeat_ngram_size"}
NATIVE_GENERATION = {"beam_size", "max_decoding_length", "min_decoding_length", "length_penalty", "patience",
                     "repetition_penalty", "no_repeat_ngram_size", "coverage_penalty", "disable_unk",
                     "sampling_topk", "sampling_topp", "sampling_temperature"}

_MISSING_CUDA_LIB = re.compile(r"(lib(cublas|cublasLt|cudnn|cudart)[\w.]*\.so[\w.]*)", re.IGNORECASE)


def gpu_library_error(name: str, exc: BaseException) -> BackendError | None:
    """The clear error for CTranslate2's missing-CUDA-library failure, or None for any other error."""
    text = str(exc)
    found = _MISSING_CUDA_LIB.search(text)
    if not found or not ("not found" in text or "cannot be loaded" in text or "cannot open" in text):
        return None
    import ctranslate2

    return BackendError(
        f"system {name!r} (ct2): CTranslate2 {ctranslate2.__version__} cannot use the GPU: {text.strip()}. "
        f"Its wheels are built for CUDA 12 and need {found.group(1)}, which this machine's CUDA runtime does "
        "not provide (a known problem on CUDA 13 images). Use backend: hf-seq2seq for GPU runs, "
        "or set device: cpu to run ct2 on the CPU.")


def _positive(value: Any, default: int, option: str, name: str) -> int:
    """``value`` as a whole number ≥ 1 (``default`` when not given); anything else is a ConfigError."""
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or str(number) != str(value).strip():
        raise ConfigError(f"system {name!r} (ct2): {option} must be a positive whole number, got {value!r}")
    return number


def default_threads() -> int:
    # Ray sets OMP_NUM_THREADS to an actor's CPU share; elsewhere use the cores we may run on.
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def converted_root(configured: str | None) -> Path:
    if configured:
        return Path(configured).expanduser()
    if os.environ.get("EVALKIT_CT2_DIR"):
        return Path(os.environ["EVALKIT_CT2_DIR"]).expanduser()
    from evalkit.systems.cache import cache_path

    return cache_path(None).parent / "ct2"


@contextmanager
def _hub_offline(enabled: bool):
    # The converter calls from_pretrained without local_files_only; when resolve_model decided the
    # Hub must not be touched, say so through the environment instead of stalling in retries.
    if not enabled:
        yield
        return
    saved = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _TokenizerForConversion:
    """A tokenizer as CTranslate2 4.8.5's converter expects it from transformers 4.

    transformers 5's M2M100Tokenizer leaves its language tokens (``__en__``…) out of
    ``get_vocab()`` and ``special_tokens_map``, so the converter builds a vocabulary 100 entries
    short and refuses the model; here they are put back at their ids. A tokenizer that does not
    name its BOS token gets the model config's ``bos_token_id`` (a null token breaks loading).
    """

    def __init__(self, tokenizer: Any, model_config: Any):
        self._tokenizer = tokenizer
        self._model_config = model_config

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)

    @property
    def bos_token(self) -> str | None:
        token = self._tokenizer.bos_token
        bos_id = getattr(self._model_config, "bos_token_id", None)
        if token is None and isinstance(bos_id, int):
            token = self._tokenizer.convert_ids_to_tokens(bos_id)
        return token

    def get_vocab(self) -> dict[str, int]:
        vocab = dict(self._tokenizer.get_vocab())
        for token_id in (getattr(self._tokenizer, "lang_code_to_id", None) or {}).values():
            vocab.setdefault(self._tokenizer.convert_ids_to_tokens(int(token_id)), int(token_id))
        return vocab


def _converter(ref: str, revision: str | None) -> Any:
    from ctranslate2.converters import TransformersConverter

    class Converter(TransformersConverter):
        def load_model(self, model_class: Any, model_name_or_path: str, **kwargs: Any) -> Any:
            model = super().load_model(model_class, model_name_or_path, **kwargs)
            if model.config.model_type == "mbart" and not hasattr(model.config, "normalize_before"):
                # transformers 5 dropped this attribute, which the converter reads; mBART is pre-norm.
                model.config.normalize_before = True
            self._model = model
            return model

        def load_tokenizer(self, tokenizer_class: Any, model_name_or_path: str, **kwargs: Any) -> Any:
            tokenizer = super().load_tokenizer(tokenizer_class, model_name_or_path, **kwargs)
            config = self._model.config
            if config.model_type == "mbart" and getattr(config, "tokenizer_class", None) is None \
                    and type(tokenizer).__name__.startswith("MBart50"):
                # The converter tells mBART-25 from mBART-50 by the config's tokenizer_class; a
                # config without one would get mBART-25's decoder start (none) and fail to load.
                config.tokenizer_class = "MBart50Tokenizer"
            return _TokenizerForConversion(tokenizer, config)

    return Converter(ref, revision=revision, low_cpu_mem_usage=True)


def convert_once(source: ModelSource, quantization: str, root: Path, name: str = "") -> Path:
    """The converted model folder for ``source`` at ``quantization``; converted now if not on disk yet.

    Safe when several processes convert the same model at once: each converts into a private
    temporary folder and renames it into place; the first rename wins, the others are discarded.
    """
    import ctranslate2

    key = {"model": source.identity(), "quantization": quantization, "ctranslate2": ctranslate2.__version__}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(source.ref).name if source.is_local else source.ref)[-60:]
    final = root / f"{stem}-{quantization}-{digest}"
    if (final / "model.bin").exists():
        return final
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
    try:
        out = work / "model"
        converter = _converter(source.ref, None if source.is_local else source.revision)
        with _hub_offline(source.local_only):
            try:
                converter.convert(str(out), quantization=quantization, force=True)
            except (ValueError, OSError, KeyError, AttributeError) as exc:
                raise BackendError(f"system {name!r} (ct2): CTranslate2 cannot convert {source.ref}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
        (out / "evalkit-conversion.json").write_text(json.dumps(key, sort_keys=True, indent=1) + "\n", encoding="utf-8")
        try:
            os.rename(out, final)
        except OSError:
            if not (final / "model.bin").exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


class CT2Translator(Seq2SeqTranslator):
    """``hf-seq2seq``'s chunking, batching and language handling, with CTranslate2 doing the decoding."""

    backend = "ct2"

    def __init__(self, config: SystemConfig):
        Translator.__init__(self, config)  # hf-seq2seq's option check would reject ct2's own options
        options = checked_options(config, OPTIONS)
        family = options.get("family", "auto")
        if family not in ("auto", "marian", "nllb", "m2m100", "mbart50"):
            raise ConfigError(f"system {self.name!r} (ct2): family must be auto, marian, nllb, m2m100 or mbart50 "
                              f"(the model types CTranslate2 converts for translation), got {family!r}")
        generation = options.get("generation") or {}
        if not isinstance(generation, dict):
            raise ConfigError(f"system {self.name!r} (ct2): 'generation' must be a mapping")
        bad = set(generation) - set(GENERATION_NAMES) - NATIVE_GENERATION
        if bad:
            raise ConfigError(f"system {self.name!r} (ct2): generation option(s) {', '.join(sorted(bad))} are not "
                              f"supported; use {', '.join(sorted(GENERATION_NAMES))} or CTranslate2's "
                              f"{', '.join(sorted(NATIVE_GENERATION))}")
        compute = options.get("compute_type", "auto")
        if compute != "auto" and compute not in COMPUTE_TYPES:
            raise ConfigError(f"system {self.name!r} (ct2): compute_type must be auto or one of "
                              f"{', '.join(COMPUTE_TYPES)}, got {compute!r}")
        self.options = options
        self.source = resolve_model(options.get("model", ""), options.get("revision"), self.name)
        tok = options.get("tokenizer")
        self.tokenizer_source = resolve_model(tok, None, self.name) if tok else self.source
        self.batch_size = int(options.get("batch_size", 16))
        self.threads = _positive(options.get("threads"), default_threads(), "threads", self.name)
        self._loaded = False
        self.device, self.compute_type = self._device_and_compute()
        default_parallel = self.threads if self.device == "cpu" else 1
        self.parallel_batches = _positive(options.get("parallel_batches"), default_parallel, "parallel_batches",
                                          self.name)
        self.concurrent_batches = self.parallel_batches  # the runner hands this many batches per call

    def _device_and_compute(self) -> tuple[str, str]:
        try:
            import ctranslate2
        except ImportError:
            raise BackendError(f"system {self.name!r}: backend ct2 needs CTranslate2, which is not installed; "
                               "install it with: pip install 'evalkit[scale]'") from None
        requested = str(self.options.get("device", "auto"))
        gpus = ctranslate2.get_cuda_device_count()
        if requested == "auto":
            device = "cuda" if gpus > 0 else "cpu"
        elif requested.startswith("cuda"):
            if gpus == 0:
                raise BackendError(f"system {self.name!r} (ct2): device {requested!r} requested but CTranslate2 "
                                   "sees no CUDA device; use device: cpu, or backend: hf-seq2seq")
            device = requested
        elif requested == "cpu":
            device = "cpu"
        else:
            raise ConfigError(f"system {self.name!r} (ct2): device must be auto, cpu, cuda or cuda:N, got {requested!r}")
        compute = str(self.options.get("compute_type", "auto"))
        if compute == "auto":
            compute = "float16" if device.startswith("cuda") else "int8"
        return device, compute

    def settings(self) -> dict[str, Any]:
        import ctranslate2
        import transformers

        explicit = {k: v for k, v in self.options.items()
                    if k not in {"model", "revision", "tokenizer", "batch_size", "device", "threads", "parallel_batches",
                                 "converted_dir", "compute_type"}}
        # The device kind and the resolved precision both change the numbers: int8 on CPU and
        # float16 on GPU are different systems for the cache.
        return {"model": self.source.identity(), "tokenizer": self.tokenizer_source.identity(), **explicit,
                "compute_type": self.compute_type, "device": self.device.split(":")[0],
                "ctranslate2": ctranslate2.__version__, "chunking": CHUNKING_POLICY,
                "transformers": transformers.__version__.split(".")[0]}

    # -- loading ---------------------------------------------------------------------------
    def _load(self) -> None:
        if self._loaded:
            return
        import ctranslate2
        from transformers import AutoConfig, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.tokenizer_source.ref, **self.tokenizer_source.load_kwargs())
            model_config = AutoConfig.from_pretrained(self.source.ref, **self.source.load_kwargs())
        except (OSError, ValueError) as exc:
            raise BackendError(f"system {self.name!r}: cannot load {self.source.ref}: {str(exc).splitlines()[0]}") from exc
        if model_config.model_type not in CONVERTIBLE:
            raise BackendError(f"system {self.name!r} (ct2): model type {model_config.model_type!r} is not one "
                               "CTranslate2 converts for translation here (marian, m2m_100/NLLB, mbart); "
                               "use backend: hf-seq2seq")
        family = self.options.get("family", "auto")
        if family == "auto":
            family = detect_family(model_config.model_type, type(self.tokenizer).__name__, self.source.ref)
        self.family = family
        defaults = DEFAULTS[family]
        self.prefix = str(self.options.get("prefix", defaults.prefix))
        self.src_lang = self.options.get("src_lang", defaults.src_lang)
        self.tgt_lang = self.options.get("tgt_lang", defaults.tgt_lang)
        if self.src_lang and hasattr(self.tokenizer, "src_lang"):
            self.tokenizer.src_lang = self.src_lang
        # generate() is told the target language with forced_bos_token_id; CTranslate2 with a
        # one-token target prefix, which it then returns as the hypothesis's first token.
        self.target_prefix: list[str] | None = None
        if self.tgt_lang:
            self.target_prefix = [self.tokenizer.convert_ids_to_tokens(self._token_id(self.tgt_lang))]
        self.limit = input_limit(self.options.get("max_input_tokens"), model_config, self.tokenizer)
        self.forced_eos = self._forces_eos(model_config)
        self.decoding = self._decoding_options()

        path = convert_once(self.source, self.compute_type, converted_root(self.options.get("converted_dir")), self.name)
        device, _, index = self.device.partition(":")
        torch = sys.modules.get("torch")  # imported only if another part of this process uses it
        torch_threads = torch.get_num_threads() if torch is not None else None
        try:
            self.translator = ctranslate2.Translator(
                str(path), device=device, device_index=int(index or 0), compute_type=self.compute_type,
                inter_threads=self.parallel_batches, intra_threads=max(1, self.threads // self.parallel_batches))
        except (RuntimeError, OSError, ValueError) as exc:
            raise gpu_library_error(self.name, exc) or BackendError(
                f"system {self.name!r} (ct2): cannot load the converted model {path} on {self.device} "
                f"with compute_type {self.compute_type}: {exc}") from exc
        if torch is not None and torch.get_num_threads() != torch_threads:
            # CTranslate2 sets the calling thread's OpenMP thread count to intra_threads, which torch
            # shares: an hf-seq2seq system in the same run would drop to one thread. Its own
            # workers keep theirs.
            torch.set_num_threads(torch_threads)
        self._loaded = True

    def _forces_eos(self, model_config: Any) -> bool:
        """Whether ``generate`` ends a capped output with EOS (Marian, mBART: ``forced_eos_token_id``)."""
        from transformers import GenerationConfig

        try:
            generation = GenerationConfig.from_pretrained(self.source.ref, **self.source.load_kwargs())
        except (OSError, ValueError):
            generation = model_config
        return getattr(generation, "forced_eos_token_id", None) is not None

    def _decoding_options(self) -> dict[str, Any]:
        given = dict(self.options.get("generation") or {})
        options: dict[str, Any] = {GENERATION_NAMES.get(k, k): v for k, v in given.items()}
        options.setdefault("beam_size", 4)
        if "max_decoding_length" not in options:
            options["max_decoding_length"] = max(16, self.limit * 3 // 2)
        if "max_decoding_length" not in given and self.forced_eos:
            # generate()'s max_new_tokens counts the EOS it forces at the cap; CTranslate2 counts
            # tokens without EOS. One less keeps a capped output the same as hf-seq2seq's.
            options["max_decoding_length"] = max(1, int(options["max_decoding_length"]) - 1)
        if "min_decoding_length" in options:
            options["min_decoding_length"] = min(int(options["min_decoding_length"]), int(options["max_decoding_length"]))
        # Inputs are chunked to the limit; CTranslate2 must never cut them (its default cuts at 1024).
        options["max_input_length"] = 0
        return options

    # -- translating -----------------------------------------------------------------------
    def translate(self, segments: Sequence[Segment]) -> list[Translation]:
        return self.translate_batches([segments])[0]

    def translate_batches(self, batches: Sequence[Sequence[Segment]]) -> list[list[Translation]]:
        """hf-seq2seq's ``translate`` of each batch (chunked, length-sorted, cut into
        ``batch_size`` pieces), every resulting model batch queued at once and decoded
        ``parallel_batches`` at a time: each model batch holds the same pieces as one call per
        batch would give it, so the translations are the same."""
        self._load()
        plans = [ChunkPlan.of([seg.zh for seg in batch], self.count_tokens, self.limit, self._token_lengths)
                 for batch in batches]
        model_batches = [[pieces[i:i + self.batch_size] for i in range(0, len(pieces), self.batch_size)]
                         for pieces in (plan.sorted_pieces() for plan in plans)]
        outputs = iter(self._decode([b for per_plan in model_batches for b in per_plan]))
        return [plan.join([text for _ in per_plan for text in next(outputs)])
                for plan, per_plan in zip(plans, model_batches, strict=True)]

    def _decode(self, batches: list[list[str]]) -> list[list[str]]:
        """Each batch's outputs, in order; all queued at once (``asynchronous``), decoded by
        CTranslate2's ``parallel_batches`` workers. A batch that runs out of GPU memory is
        decoded again in halves, as ``run_batches`` does for hf-seq2seq."""
        pending = [self._submit(batch) for batch in batches]
        out = []
        for batch, results in zip(batches, pending, strict=True):
            try:
                out.append(self._collect(results))
            except RuntimeError as exc:
                if not is_oom(exc):
                    raise
                # Halved down to one (run_batches' clear error if even one does not fit).
                out.append(run_batches(batch, max(1, len(batch) // 2), self._generate))
        return out

    def _generate(self, texts: Sequence[str]) -> list[str]:
        """One batch, decoded now."""
        return self._collect(self._submit(texts))

    def _collect(self, results: Sequence[Any]) -> list[str]:
        """The texts of one queued batch, once CTranslate2 has decoded it."""
        with self._gpu_errors():
            return self._texts([r.result() for r in results])

    @contextmanager
    def _gpu_errors(self) -> Iterator[None]:
        """CTranslate2's missing-CUDA-library failure as the clear BackendError; others unchanged."""
        try:
            yield
        except RuntimeError as exc:
            error = gpu_library_error(self.name, exc)
            if error is not None:
                raise error from exc
            raise

    def _submit(self, texts: Sequence[str]) -> list[Any]:
        """Queue one batch: CTranslate2's asynchronous results, one per text."""
        encoded = self.tokenizer([self.prefix + t for t in texts])["input_ids"]
        longest = max((len(ids) for ids in encoded), default=0)
        if longest > self.limit:  # the chunker guarantees this; never cut silently
            raise RuntimeError(f"{self.name}: input of {longest} tokens exceeds the limit {self.limit}")
        source = [self.tokenizer.convert_ids_to_tokens(ids) for ids in encoded]
        prefix = [list(self.target_prefix) for _ in texts] if self.target_prefix else None
        with self._gpu_errors():
            return self.translator.translate_batch(source, target_prefix=prefix, asynchronous=True, **self.decoding)

    def _texts(self, results: Sequence[Any]) -> list[str]:
        out = []
        for result in results:
            tokens = result.hypotheses[0]
            if self.target_prefix and tokens[:1] == self.target_prefix:
                tokens = tokens[1:]
            ids = self.tokenizer.convert_tokens_to_ids(tokens)
            out.append(self._clean(self.tokenizer.decode(ids, skip_special_tokens=True)))
        return out

    def close(self) -> None:
        if self._loaded:
            del self.translator
            self._loaded = False
