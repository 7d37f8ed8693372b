"""Start llama-cpp-python's OpenAI-compatible server for benchmarks/real_llm.py.

    python benchmarks/llama_server.py MODEL.gguf [--port 8080] [--chat-format gemma]
                                      [--no-extra-bufts] [--threads 2] [--n-ctx 4096]

The same as `python -m llama_cpp.server --model MODEL.gguf ...`, plus --no-extra-bufts: on CPUs
that report AMX, llama.cpp's extra CPU buffer types crashed the server on its first request
(invalid opcode on `tilezero`); building the model with `use_extra_bufts=False` avoids it.
Run it with the llama-cpp-python environment's Python, not the assistant's.
"""

from __future__ import annotations

import argparse
import functools
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--chat-format", default="gemma")
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-extra-bufts", action="store_true",
                        help="build the model with use_extra_bufts=False (AMX CPUs)")
    args = parser.parse_args()

    import llama_cpp
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    if args.no_extra_bufts:  # a field of llama_model_params, not a Llama() argument in 0.3.36
        low = llama_cpp.llama_cpp
        defaults = low.llama_model_default_params

        @functools.wraps(defaults)
        def params() -> Any:
            p = defaults()
            p.use_extra_bufts = False
            return p

        low.llama_model_default_params = params
    model = ModelSettings(model=args.model, chat_format=args.chat_format, n_ctx=args.n_ctx,
                          n_threads=args.threads, verbose=False)
    app = create_app(server_settings=ServerSettings(host=args.host, port=args.port),
                     model_settings=[model])
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
