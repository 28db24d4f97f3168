"""The per-call pipeline, built from pipecat frame processors that each do one thing:

    LegSource -> LeadListener -> TurnManager -> Speaker -> Playout

``LegSource`` turns the media leg's events into frames, ``LeadListener`` finds the lead's turns (VAD, Smart-Turn,
speculative speech-to-text), ``TurnManager`` asks the dialogue policy what to say and keeps the
call record, ``Speaker`` synthesizes speech, and ``Playout`` paces it onto the leg in real time and reports what the
lead actually heard.
"""
