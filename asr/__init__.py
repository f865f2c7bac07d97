"""Streaming speech recognition: 20 ms call audio in, speech events and text out (offline, CPU).

pool = InferencePool(WhisperTranscriber(load_model("tiny.en"), "en"))   # one per process, shared by calls
rec = StreamingRecognizer(pool)                                          # one per call, on the event loop
"""

from asr.events import Dropped, Final, Partial, RecognizerEvent, SpeechStarted
from asr.models import ModelIntegrityError, WhisperTranscriber, load_model, model_for_language
from asr.pool import InferencePool, PoolFull, Priority
from asr.recognizer import RecognizerConfig, StreamingRecognizer
from asr.transcriber import Transcriber, Transcript, Utterance
from asr.vad import EndpointConfig, Endpointer, SileroScorer

__all__ = [
    "Dropped",
    "EndpointConfig",
    "Endpointer",
    "Final",
    "InferencePool",
    "ModelIntegrityError",
    "Partial",
    "PoolFull",
    "Priority",
    "RecognizerConfig",
    "RecognizerEvent",
    "SileroScorer",
    "SpeechStarted",
    "StreamingRecognizer",
    "Transcriber",
    "Transcript",
    "Utterance",
    "WhisperTranscriber",
    "load_model",
    "model_for_language",
]
