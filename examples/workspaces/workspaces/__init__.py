"""txstore's reference application: organizations, users, workspaces, OAuth2 apps, API keys.

Built only from txstore's public API, like any other application: ``db`` is its
generated module (``txstore gen``), ``policies`` its authorization model,
``auditing`` its audit configuration, ``stack`` how it connects, ``demo`` a walk
through every layer.
"""
