"""The one place a DSN is read: parsed once, shown and used without its password.

Both forms libpq accepts are read: URLs (``postgresql://`` or ``postgres://``,
several ``host:port`` pairs, percent-encoded parts, parameters after ``?``,
the password in the user info or as ``?password=``) and keyword strings
(``host=db port=5432 password='a b\\'c'``). What comes out is a :class:`Dsn`
whose password is kept apart: the driver gets a URL without it plus the
password as an argument, ``pg_dump`` gets it in its environment, and every
message shows :meth:`Dsn.redacted` or :meth:`Dsn.target`.

A raw ``@`` or ``:`` in a URL's password is read as the password (the user
info ends at the last ``@`` of the authority). A raw ``/``, ``?`` or ``#``
there cannot be told apart from the path or the parameters, so such a URL is
refused, with a message that shows the DSN as it was most likely meant, its
password masked.

This module lives in the lowest framework package, so that both the store and
the migrations runner (which must not import the store) read DSNs through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode

from migrations.errors import MalformedDsn

__all__ = ["MASK", "Dsn", "redact"]

MASK = "***"
_SCHEMES = ("postgresql://", "postgres://")
#: Parameters whose values are secrets wherever they appear.
_SECRET_KEYS = frozenset({"password", "sslpassword"})
_FORMS = "postgresql://user:password@host:port/dbname or host=... port=... dbname=... keywords"


@dataclass(frozen=True)
class Dsn:
    """A parsed DSN. ``password`` is the only field that is a secret.

    ``params`` are the remaining parameters in order (``sslmode``,
    ``application_name``, ...), secret ones (``sslpassword``) included, since
    the driver needs them; :meth:`redacted` masks those too.
    """

    hosts: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    user: str | None = None
    password: str | None = None
    database: str | None = None
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Dsn:
        """Read a URL or keyword DSN.

        Raises:
            MalformedDsn: the text is neither; the message says why and shows
                the DSN with its password masked, never the password.
        """
        stripped = text.strip()
        if not stripped:
            raise MalformedDsn("(empty)", "the DSN is empty")
        if "://" in stripped.split("=", 1)[0] or stripped.lower().startswith(_SCHEMES):
            return _parse_url(stripped)
        return _parse_keywords(stripped)

    # -- what may be shown ------------------------------------------------------------
    def target(self) -> str:
        """``host:port/dbname`` (each host of a list), with no user name or password."""
        hosts = ",".join(self._hostspecs(quoted=False)) or "localhost"
        return f"{hosts}/{self.database}" if self.database else hosts

    def redacted(self) -> str:
        """The DSN as a URL, its password and any other secret parameter masked."""
        return self._url(MASK if self.password is not None else None, mask=True)

    def secrets(self) -> tuple[str, ...]:
        """Every secret this DSN holds, in the spellings a message could use."""
        values = [self.password] if self.password else []
        values += [v for k, v in self.params if k in _SECRET_KEYS and v]
        spelled: set[str] = set()
        for value in values:
            spelled |= {value, quote(value, safe=""), quote(value), repr(value)[1:-1]}
        return tuple(sorted((s for s in spelled if s), key=len, reverse=True))

    def redact(self, text: str) -> str:
        """``text`` with every spelling of this DSN's secrets replaced by ``***``."""
        for secret in self.secrets():
            text = text.replace(secret, MASK)
        return text

    # -- what the driver and tools get ----------------------------------------------------
    def without_password(self) -> str:
        """A URL with every part but the password: give the password separately."""
        return self._url(None, mask=False)

    def url(self) -> str:
        """The whole DSN as a URL, password included: to hand on, never to show."""
        return self._url(self.password, mask=False)

    def _sockets(self) -> bool:
        return any(h.startswith("/") for h in self.hosts)  # Unix-domain socket directories

    def _hostspecs(self, *, quoted: bool = True) -> list[str]:
        hosts = [
            f"[{h}]" if ":" in h and not h.startswith("/") else quote(h, safe="") if quoted else h
            for h in self.hosts
        ]
        ports = list(self.ports)
        if len(ports) == 1 and len(hosts) > 1:
            ports *= len(hosts)
        if len(ports) == len(hosts):
            return [f"{h}:{p}" for h, p in zip(hosts, ports, strict=True)]
        return hosts

    def _url(self, password: str | None, *, mask: bool) -> str:
        auth = quote(self.user, safe="") if self.user else ""
        if password is not None:
            auth += ":" + (password if password == MASK else quote(password, safe=""))
        # Socket directories go in ``?host=``, where a URL can hold a '/'.
        netloc = "" if self._sockets() else ",".join(self._hostspecs())
        if auth:
            netloc = f"{auth}@{netloc}"
        params = [(k, MASK if mask and k in _SECRET_KEYS else v) for k, v in self.params]
        if self.ports and (self._sockets() or not self.hosts):
            params.insert(0, ("port", ",".join(str(p) for p in self.ports)))
        if self._sockets():
            params.insert(0, ("host", ",".join(self.hosts)))
        path = "/" + quote(self.database, safe="") if self.database else ""
        query = "?" + urlencode(params, safe="*" if mask else "") if params else ""
        return f"postgresql://{netloc}{path}{query}"


def redact(dsn: str | Dsn, text: str) -> str:
    """``text`` without any secret of ``dsn``, even when ``dsn`` cannot be parsed.

    For an unparseable DSN every password-like part found by a lenient reading
    is masked: the user info's password in each way a URL could be read, and
    the value of each ``password``/``sslpassword`` keyword or parameter.
    """
    if isinstance(dsn, Dsn):
        return dsn.redact(text)
    try:
        return Dsn.parse(dsn).redact(text)
    except MalformedDsn:
        pass
    for secret in sorted(_lenient_secrets(dsn), key=len, reverse=True):
        for spelled in (secret, unquote(secret)):
            if spelled:
                text = text.replace(spelled, MASK)
    return text


# -- URLs ---------------------------------------------------------------------------------


def _split_authority(rest: str) -> tuple[str | None, str, str]:
    """(user info, host list, everything after it) by the standard reading."""
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:
        userinfo, _, hostspec = authority.rpartition("@")
        return userinfo, hostspec, tail
    return None, authority, tail


def _misplaced_at(tail: str) -> bool:
    """An ``@`` after the authority where no valid URL has one: a raw ``/?#`` came before."""
    rest, _, fragment = tail.partition("#")
    path, _, query = rest.partition("?")
    if "@" in path or "@" in fragment:
        return True
    return any("@" in field.partition("=")[0] for field in query.split("&"))


def _lenient_userinfo(rest: str) -> tuple[str | None, str]:
    """(user info, the rest) reading a raw ``/?#`` in the user info as part of it."""
    at = len(rest)
    while (at := rest.rfind("@", 0, at)) >= 0:
        hostspec_and_tail = rest[at + 1 :]
        userinfo, _, tail = _split_authority(hostspec_and_tail)
        if userinfo is None and not _misplaced_at(tail):
            return rest[:at], hostspec_and_tail
    return None, rest


def _parse_url(text: str) -> Dsn:
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in ("postgresql", "postgres"):
        shown = _shown_url(text)
        raise MalformedDsn(shown, f"the scheme must be postgresql:// or postgres://; {_FORMS}")
    userinfo, hostspec, tail = _split_authority(rest)
    if _misplaced_at(tail):
        raise MalformedDsn(
            _shown_url(text),
            "a '/', '?' or '#' in the user name or password must be percent-encoded "
            "(%2F, %3F, %23)",
        )
    shown = _shown_url(text)
    user = password = None
    if userinfo is not None:
        raw_user, colon, raw_password = userinfo.partition(":")
        user = unquote(raw_user) or None
        password = unquote(raw_password) if colon else None
    path_and_query, _, _fragment = tail.partition("#")
    path, _, query = path_and_query.partition("?")
    database = unquote(path[1:]) if path.startswith("/") and len(path) > 1 else None
    hosts, ports = _hostlist(hostspec, shown)
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True) if query else []
    except ValueError:
        raise MalformedDsn(shown, "the parameters after '?' are not name=value pairs") from None
    return _assemble(shown, hosts, ports, user, password, database, pairs)


def _hostlist(hostspec: str, shown: str) -> tuple[list[str], list[int]]:
    hosts: list[str] = []
    ports: list[int] = []
    if not hostspec:
        return hosts, ports
    for spec in hostspec.split(","):
        if spec.startswith("["):
            found = re.fullmatch(r"\[([^\]]+)\](?::(.*))?", spec)
            if found is None:
                raise MalformedDsn(shown, "an IPv6 address must be written [address]:port")
            host, port = found.group(1), found.group(2) or ""
        else:
            host, _, port = spec.partition(":")
        if not host:
            raise MalformedDsn(shown, "a host in the host list is empty")
        hosts.append(unquote(host))
        if port:
            ports.append(_port(port, shown))
    if ports and len(ports) != len(hosts):
        raise MalformedDsn(shown, "give a port for every host of the list, or for none")
    return hosts, ports


def _port(text: str, shown: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise MalformedDsn(shown, "a port must be a number from 1 to 65535")
    return int(text)


def _assemble(
    shown: str,
    hosts: list[str],
    ports: list[int],
    user: str | None,
    password: str | None,
    database: str | None,
    pairs: list[tuple[str, str]],
) -> Dsn:
    """A :class:`Dsn` from parts, parameters naming a part filling it if still unset."""
    params: list[tuple[str, str]] = []
    for key, value in pairs:
        if key == "password":
            password = value if password is None else password
        elif key in ("host", "hostaddr"):
            if not hosts:
                hosts = [h for h in value.split(",") if h]
        elif key == "port":
            if not ports and value:
                ports = [_port(p, shown) for p in value.split(",")]
        elif key in ("dbname", "database"):
            database = database or value or None
        elif key == "user":
            user = user or value or None
        else:
            params.append((key, value))
    if ports and hosts and len(ports) not in (1, len(hosts)):
        raise MalformedDsn(shown, "give a port for every host of the list, or one for all")
    return Dsn(
        hosts=tuple(hosts),
        ports=tuple(ports),
        user=user,
        password=password,
        database=database,
        params=tuple(params),
    )


def _shown_url(text: str) -> str:
    """The URL as written, its password (however the URL is read) and secret parameters masked."""
    scheme, _, rest = text.partition("://")
    userinfo, _, tail = _split_authority(rest)
    if _misplaced_at(tail):
        userinfo, after = _lenient_userinfo(rest)
        if userinfo is None:  # no reading makes sense: show no part that could be a secret
            return f"{scheme}://{MASK}"
    else:
        after = rest[len(userinfo) + 1 :] if userinfo is not None else rest
    if userinfo is not None:
        user, colon, _ = userinfo.partition(":")
        after = f"{user}{':' + MASK if colon else ''}@{after}"
    head, question, query = after.partition("?")
    if question:
        fields = []
        for field in query.split("&"):
            key, equals, _value = field.partition("=")
            fields.append(f"{key}={MASK}" if equals and unquote(key) in _SECRET_KEYS else field)
        head += "?" + "&".join(fields)
    return f"{scheme}://{head}"


# -- keyword strings ------------------------------------------------------------------------

_KEY = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*")


def _parse_keywords(text: str) -> Dsn:
    pairs: list[tuple[str, str]] = []
    at = 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        key = _KEY.match(text, at)
        if key is None:
            raise MalformedDsn(
                _shown_keywords(pairs, truncated=True),
                f"expected name=value at character {at + 1}; {_FORMS}",
            )
        name, at = key.group(1), key.end()
        value, at = _keyword_value(text, at, name, pairs)
        pairs.append((name, value))
    shown = _shown_keywords(pairs, truncated=False)
    return _assemble(shown, [], [], None, None, None, pairs)


def _keyword_value(text: str, at: int, name: str, pairs: list[tuple[str, str]]) -> tuple[str, int]:
    """One value: bare up to white space, or single-quoted; a backslash escapes one character."""
    quoted = at < len(text) and text[at] == "'"
    at += quoted
    chars: list[str] = []
    while at < len(text):
        char = text[at]
        if char == "\\" and at + 1 < len(text):
            chars.append(text[at + 1])
            at += 2
            continue
        if (quoted and char == "'") or (not quoted and char.isspace()):
            return "".join(chars), at + 1
        chars.append(char)
        at += 1
    if quoted:
        raise MalformedDsn(
            _shown_keywords(pairs, truncated=True), f"the quoted value of {name} is not closed"
        )
    return "".join(chars), at


def _shown_keywords(pairs: list[tuple[str, str]], *, truncated: bool) -> str:
    def show(value: str) -> str:
        return (
            "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
            if (not value or any(c.isspace() or c in "'\\" for c in value))
            else value
        )

    shown = " ".join(f"{k}={MASK if k in _SECRET_KEYS else show(v)}" for k, v in pairs)
    return f"{shown} ..." if truncated else shown


# -- lenient reading, for redacting what cannot be parsed -----------------------------------


def _lenient_secrets(text: str) -> set[str]:
    found: set[str] = set()
    for match in re.finditer(r"(?:^|[\s?&])(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'?|\S+)", text):
        value = match.group(1)
        found |= {value, value.strip("'"), value.split("&", 1)[0]}
        found.add(re.sub(r"\\(.)", r"\1", value.strip("'")))  # as the escapes mean it
    if "://" in text:
        rest = text.partition("://")[2]
        for userinfo in (_split_authority(rest)[0], _lenient_userinfo(rest)[0]):
            if userinfo and ":" in userinfo:
                password = userinfo.partition(":")[2]
                found.add(password)
                # a raw '/', '?' or '#' splits it for other readers: mask each piece too
                found.update(p for p in re.split(r"[/?#@]", password) if len(p) >= 3)
    return {s for s in found if s}
