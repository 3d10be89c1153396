import pytest

from tta.utils import validators
from tta.utils.validators import ValidationError


def test_player_name_collapses_spaces():
    assert validators.player_name("  Sir   Rowan ") == "Sir Rowan"
    for bad in ("R", "9lives", "x" * 30, "Bad<name>"):
        with pytest.raises(ValidationError):
            validators.player_name(bad)


def test_email():
    assert validators.email(" Ada@Example.ORG ") == "ada@example.org"
    with pytest.raises(ValidationError):
        validators.email("not-an-address")


def test_choice_returns_canonical_spelling():
    assert validators.choice(" north ", ["North", "South"]) == "North"
    with pytest.raises(ValidationError, match="North, South"):
        validators.choice("up", ["North", "South"])


def test_bounded_int():
    assert validators.bounded_int(" 7 ", 1, 10) == 7
    assert validators.bounded_int(3, 1, 10) == 3
    with pytest.raises(ValidationError, match="whole number"):
        validators.bounded_int("seven", 1, 10)
    with pytest.raises(ValidationError, match="between"):
        validators.bounded_int(11, 1, 10)


def test_free_text():
    assert validators.free_text("  caf\u0065\u0301\x07 ") == "caf\u00e9"
    with pytest.raises(ValidationError, match="type something"):
        validators.free_text("\x00 ")
    with pytest.raises(ValidationError, match="under 5"):
        validators.free_text("too long", max_length=5)
