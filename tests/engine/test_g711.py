import warnings

import numpy as np
import pytest

from engine.audio import g711

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the reference implementation, still in Python 3.11

ALL_SAMPLES = np.arange(-32768, 32768, dtype="<i2").tobytes()
ALL_BYTES = bytes(range(256))


@pytest.mark.parametrize(
    ("encode", "reference"),
    [(g711.ulaw_encode, audioop.lin2ulaw), (g711.alaw_encode, audioop.lin2alaw)],
)
def test_encoders_match_the_reference_for_every_sample(encode, reference):
    assert encode(ALL_SAMPLES) == reference(ALL_SAMPLES, 2)


@pytest.mark.parametrize(
    ("decode", "reference"),
    [(g711.ulaw_decode, audioop.ulaw2lin), (g711.alaw_decode, audioop.alaw2lin)],
)
def test_decoders_match_the_reference_for_every_code(decode, reference):
    assert decode(ALL_BYTES) == reference(ALL_BYTES, 2)


def test_round_trip_error_is_small_for_speech_levels():
    rng = np.random.default_rng(7)
    pcm = rng.normal(0, 4000, 8000).clip(-32768, 32767).astype("<i2")
    back = np.frombuffer(g711.ulaw_decode(g711.ulaw_encode(pcm.tobytes())), dtype="<i2")
    error = np.abs(back.astype(int) - pcm.astype(int))
    # mu-law's step grows with amplitude: the error stays within about 5% of the sample (16 near zero).
    assert np.all(error <= np.maximum(16, np.abs(pcm.astype(int)) * 0.051))
    assert len(g711.ulaw_encode(pcm.tobytes())) == 8000
