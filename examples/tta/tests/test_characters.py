import pytest

from tta.player_experience.characters import (
    Character,
    CharacterError,
    Item,
    validate_stats,
    xp_for_level,
)

STATS = {"strength": 10, "wisdom": 10, "empathy": 10, "resilience": 10}


def make_character(**stats):
    return Character("Rowan", {**STATS, **stats})


def test_xp_curve():
    assert [xp_for_level(n) for n in (1, 2, 3, 10)] == [0, 100, 300, 4500]
    with pytest.raises(CharacterError):
        xp_for_level(11)


@pytest.mark.parametrize(
    ("stats", "problem"),
    [
        ({"strength": 10}, "missing"),
        ({**STATS, "luck": 3}, "unknown"),
        ({**STATS, "wisdom": 0}, "between"),
        ({**STATS, "strength": 11}, "budget"),
    ],
)
def test_invalid_stats(stats, problem):
    with pytest.raises(CharacterError, match=problem):
        validate_stats(stats)


def test_character_needs_a_name():
    with pytest.raises(CharacterError, match="name"):
        Character("  ", dict(STATS))


def test_gain_xp_levels_up_and_grants_points():
    hero = make_character()
    assert hero.gain_xp(50) == 0
    assert hero.gain_xp(300) == 2  # 350 XP: level 3
    assert (hero.level, hero.unspent_points) == (3, 4)
    with pytest.raises(CharacterError):
        hero.gain_xp(-1)


def test_raise_stat_spends_points_within_limits():
    hero = make_character()
    hero.gain_xp(100)
    hero.raise_stat("wisdom", 2)
    assert hero.stats["wisdom"] == 12
    assert hero.unspent_points == 0
    with pytest.raises(CharacterError, match="unspent"):
        hero.raise_stat("wisdom")
    with pytest.raises(CharacterError, match="unknown stat"):
        hero.raise_stat("luck")


def test_stat_cannot_exceed_maximum():
    hero = Character("Rowan", {"strength": 19, "wisdom": 7, "empathy": 7, "resilience": 7})
    hero.gain_xp(100)
    with pytest.raises(CharacterError, match="exceed"):
        hero.raise_stat("strength", 2)


def test_inventory_stacks_and_respects_capacity():
    hero = make_character()  # capacity 35
    hero.add_item(Item("rope", 5.0))
    hero.add_item(Item("rope", 5.0, quantity=2))
    assert hero.inventory["rope"].quantity == 3
    assert hero.carried_weight() == 15.0
    with pytest.raises(CharacterError, match="too heavy"):
        hero.add_item(Item("anvil", 30.0))
    with pytest.raises(CharacterError, match="positive quantity"):
        hero.add_item(Item("ghost", 1.0, quantity=0))


def test_remove_item():
    hero = make_character()
    hero.add_item(Item("apple", 0.5, quantity=3))
    assert hero.remove_item("apple", 2) == Item("apple", 0.5, 2)
    assert hero.inventory["apple"].quantity == 1
    hero.remove_item("apple")
    assert "apple" not in hero.inventory
    with pytest.raises(CharacterError, match="not carrying"):
        hero.remove_item("apple")


def test_summary():
    assert make_character().summary() == "Rowan (level 1, 0 XP) - STR 10, WIS 10, EMP 10, RES 10"
