"""audio: decoding files into mono waveforms (decode.py) and log-mel features (features.py).
Imports no other room: everything below rests on it."""
