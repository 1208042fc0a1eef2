"""An HTTP service over txstore's reference application (``examples/workspaces``).

``app`` is the Starlette application (API-key middleware, workspace handlers),
``keys`` issues and verifies API keys, ``seed`` creates a first user and key.
"""
