"""`funnelsim app`: a local what-if page over a scenario (needs the `app` extra: pip install ".[app]").

`levers` builds `--set` overrides from the page's controls and needs nothing beyond funnelsim;
`server` imports Starlette and uvicorn, and only when the app is started.
"""
