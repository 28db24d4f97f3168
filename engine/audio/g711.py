"""G.711 mu-law and A-law codecs (ITU-T G.711) on 16-bit little-endian PCM, by table lookup.

Encoding uses a 65,536-entry table indexed by the sample itself, so a 20 ms frame costs one numpy gather.
"""

from __future__ import annotations

import numpy as np

_BIAS = 0x84


_SEG_UEND = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)


def _ulaw_encode_sample(sample: int) -> int:
    # The 14-bit formulation of the ITU reference (and of CPython's audioop), so output matches it bit for bit.
    value = sample >> 2
    mask = 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, 8159) + (_BIAS >> 2)
    seg = next((i for i, end in enumerate(_SEG_UEND) if value <= end), 8)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((value >> (seg + 1)) & 0x0F)) ^ mask


def _ulaw_decode_byte(byte: int) -> int:
    byte = ~byte & 0xFF
    sign = byte & 0x80
    exponent = (byte >> 4) & 0x07
    mantissa = byte & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return -magnitude if sign else magnitude


def _alaw_encode_sample(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(abs(sample) if sample >= 0 else -sample - 1, 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = min(magnitude.bit_length() - 5, 7)
        mantissa = (magnitude >> exponent) & 0x0F
        code = (exponent << 4) | mantissa
    return (sign | code) ^ 0x55


def _alaw_decode_byte(byte: int) -> int:
    byte ^= 0x55
    sign = byte & 0x80
    exponent = (byte >> 4) & 0x07
    mantissa = byte & 0x0F
    magnitude = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if sign else -magnitude


_SAMPLES = np.arange(-32768, 32768, dtype=np.int32)
_ULAW_ENC = np.array([_ulaw_encode_sample(int(s)) for s in _SAMPLES], dtype=np.uint8)
_ALAW_ENC = np.array([_alaw_encode_sample(int(s)) for s in _SAMPLES], dtype=np.uint8)
_ULAW_DEC = np.array([_ulaw_decode_byte(b) for b in range(256)], dtype=np.int16)
_ALAW_DEC = np.array([_alaw_decode_byte(b) for b in range(256)], dtype=np.int16)


def ulaw_encode(pcm16: bytes) -> bytes:
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.int32) + 32768
    return _ULAW_ENC[samples].tobytes()


def ulaw_decode(data: bytes) -> bytes:
    return _ULAW_DEC[np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


def alaw_encode(pcm16: bytes) -> bytes:
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.int32) + 32768
    return _ALAW_ENC[samples].tobytes()


def alaw_decode(data: bytes) -> bytes:
    return _ALAW_DEC[np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()
