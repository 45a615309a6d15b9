"""Uploaded CSV files read as Excel writes them (RFC 4180), whatever the delimiter."""

from __future__ import annotations

import csv
import io

import pytest

from portal.csv_upload import dialect_of


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), dialect_of(text)))


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_doubled_quotes_are_one_quote_for_every_delimiter(delimiter):
    header = delimiter.join(["company", "note", "country"])
    line = delimiter.join(["Acme", '"He said ""hi"""', "DE"])
    assert rows(f"{header}\r\n{line}\r\n") == [
        ["company", "note", "country"],
        ["Acme", 'He said "hi"', "DE"],
    ]


def test_a_quoted_field_holding_doubled_quotes_and_the_delimiter_stays_one_field():
    text = 'company,note,country\nAcme,"a "" and, a comma",DE\nBeta,"""",FR\n'
    assert rows(text)[1:] == [["Acme", 'a " and, a comma', "DE"], ["Beta", '"', "FR"]]


def test_a_quoted_header_keeps_its_delimiter():
    text = '"company";"note"\n"Acme";"x;y"\n'
    assert rows(text) == [["company", "note"], ["Acme", "x;y"]]


def test_a_single_column_file_is_read_as_commas():
    assert rows("company\nAcme\n") == [["company"], ["Acme"]]
