"""Splitting scripts into statements without breaking quoted or nested semicolons."""

from __future__ import annotations

from migrations._split import line_at, split_statements, transaction_control


def texts(script: str) -> list[str]:
    return [s.text for s in split_statements(script)]


def test_statements_keep_their_line_and_offset() -> None:
    script = "-- header\nCREATE TABLE a (x int);\n\n  INSERT INTO a\n  VALUES (1);\n"
    first, second = split_statements(script)
    assert (first.text, first.line) == ("CREATE TABLE a (x int)", 2)
    assert (second.text, second.line) == ("INSERT INTO a\n  VALUES (1)", 4)
    assert script[second.start : second.end] == second.text


def test_comments_and_empty_pieces_are_dropped() -> None:
    assert texts("-- only a comment\n/* block; */ ;;\n") == []
    assert texts("SELECT 1 /* a; /* nested; */ b; */;") == ["SELECT 1 /* a; /* nested; */ b; */"]


def test_quotes_hide_semicolons() -> None:
    assert texts("SELECT 'a;''b'; SELECT \"odd;name\"; SELECT E'x\\';y';") == [
        "SELECT 'a;''b'",
        'SELECT "odd;name"',
        "SELECT E'x\\';y'",
    ]


def test_a_word_ending_in_e_does_not_start_an_escape_string() -> None:
    assert texts("SELECT CASE WHEN true THEN 'a' ELSE'\\' END; SELECT 2;") == [
        "SELECT CASE WHEN true THEN 'a' ELSE'\\' END",
        "SELECT 2",
    ]


def test_dollar_quotes_hide_semicolons() -> None:
    script = (
        "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\nSELECT $$;$$;"
    )
    assert texts(script) == [
        "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
        "SELECT $$;$$",
    ]


def test_positional_parameters_are_not_dollar_quotes() -> None:
    assert texts("PREPARE p AS SELECT $1; SELECT 2;") == ["PREPARE p AS SELECT $1", "SELECT 2"]


def test_begin_atomic_bodies_stay_whole() -> None:
    script = (
        "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n  SELECT 2;\nEND;\n"
        "BEGIN; COMMIT;"
    )
    statements = texts(script)
    assert len(statements) == 3
    assert statements[0].endswith("SELECT 2;\nEND")
    assert statements[1:] == ["BEGIN", "COMMIT"]


def test_rule_actions_in_parentheses_stay_whole() -> None:
    script = "CREATE RULE r AS ON INSERT TO a DO ALSO (INSERT INTO b VALUES (1); NOTIFY c);"
    assert len(texts(script)) == 1


def test_line_at() -> None:
    assert line_at("a\nb\nc", 0) == 1
    assert line_at("a\nb\nc", 2) == 2
    assert line_at("a\nb\nc", 4) == 3


def control(script: str) -> str | None:
    found = transaction_control(split_statements(script))
    return found.text if found else None


def test_transaction_control_is_found_whatever_its_spelling() -> None:
    for statement in [
        "BEGIN",
        "begin isolation level serializable",
        "START TRANSACTION",
        "COMMIT",
        "commit work",
        "COMMIT AND CHAIN",
        "END",
        "END TRANSACTION",
        "ROLLBACK",
        "ABORT",
        "ROLLBACK AND CHAIN",
        "ROLLBACK TO SAVEPOINT s",
        "SAVEPOINT s",
        "RELEASE SAVEPOINT s",
        "release s",
        "PREPARE TRANSACTION 'x'",
        "COMMIT PREPARED 'x'",
        "ROLLBACK PREPARED 'x'",
        "/* why */ -- not\n  Commit",
    ]:
        found = control(f"CREATE TABLE t (x int);\n{statement};\nSELECT 1;")
        assert found is not None
        assert statement.endswith(found)  # leading comments are not part of a statement


def test_transaction_words_inside_other_statements_are_not_control() -> None:
    script = """
        CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$
        BEGIN
            COMMIT;
            RETURN 1;
        END $$;
        DO $$ BEGIN ROLLBACK; END $$;
        CREATE FUNCTION g(x int) RETURNS int LANGUAGE sql
        BEGIN ATOMIC
            SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;
            SELECT 2;
        END;
        SELECT 'COMMIT; END;' AS "begin";
        PREPARE transaction_ids AS SELECT 1;
        CREATE TABLE savepoint_log (commit text, "end" text);
        SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
        -- COMMIT;
        /* ROLLBACK; */
    """
    assert control(script) is None


def test_legacy_strings_read_backslash_as_an_escape() -> None:
    script = "SELECT 'a\\''; COMMIT; SELECT 'b';"
    # Standard strings: the doubled quote keeps the string open up to 'b.
    assert texts(script) == [script]
    legacy = split_statements(script, standard_strings=False)
    assert [s.text for s in legacy] == ["SELECT 'a\\''", "COMMIT", "SELECT 'b'"]
