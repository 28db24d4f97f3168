from engine.audio.segmenter import SpeechPaused, SpeechResumed, SpeechSegmenter, SpeechStarted

FRAME = b"\x01\x00" * 160


def feed(seg, pattern):
    events = []
    for voiced in pattern:
        events.extend(seg.feed(FRAME, voiced))
    return events


def test_speech_needs_several_voiced_frames_to_start():
    seg = SpeechSegmenter(start_frames=3, start_window=5)
    assert feed(seg, [True, False, True, False, False]) == []
    events = feed(seg, [True, True, True])
    assert [type(e) for e in events] == [SpeechStarted]


def test_pause_then_resume_then_pause():
    seg = SpeechSegmenter(pause_s=0.2)
    events = feed(seg, [True] * 10 + [False] * 10)
    assert [type(e) for e in events] == [SpeechStarted, SpeechPaused]
    paused = events[-1]
    assert isinstance(paused, SpeechPaused)
    assert paused.voiced_s >= 0.2
    assert len(paused.audio) >= 20 * len(FRAME)  # pre-roll plus the utterance
    events = feed(seg, [True] * 4 + [False] * 10)
    assert [type(e) for e in events] == [SpeechResumed, SpeechPaused]


def test_reset_forgets_the_utterance():
    seg = SpeechSegmenter()
    feed(seg, [True] * 10 + [False] * 10)
    seg.reset()
    assert not seg.has_utterance
    assert [type(e) for e in feed(seg, [True] * 5)] == [SpeechStarted]


def test_silence_is_counted_from_the_last_voiced_frame():
    seg = SpeechSegmenter()
    feed(seg, [True] * 10 + [False] * 7)
    assert abs(seg.silence_s - 0.14) < 1e-9
