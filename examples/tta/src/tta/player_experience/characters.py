"""Character sheets: stats, experience and levels, and a weight-limited inventory."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The stats every character has.
STAT_NAMES = ("strength", "wisdom", "empathy", "resilience")
#: Inclusive bounds of a single stat.
STAT_MIN, STAT_MAX = 1, 20
#: Points spread across the stats of a new character.
STARTING_POINTS = 40
#: The highest level a character can reach.
MAX_LEVEL = 10


class CharacterError(ValueError):
    """A character sheet change breaks the rules."""


def xp_for_level(level: int) -> int:
    """Total experience needed to reach ``level`` (level 1 needs none; each level costs 100 more)."""
    if not 1 <= level <= MAX_LEVEL:
        raise CharacterError(f"level must be between 1 and {MAX_LEVEL}")
    return 50 * level * (level - 1)


def validate_stats(stats: dict[str, int], *, budget: int = STARTING_POINTS) -> None:
    """Check that ``stats`` names every stat once, within bounds, spending at most ``budget``."""
    missing = [name for name in STAT_NAMES if name not in stats]
    unknown = sorted(set(stats) - set(STAT_NAMES))
    if missing or unknown:
        raise CharacterError(f"missing stats {missing}, unknown stats {unknown}")
    for name, value in stats.items():
        if not STAT_MIN <= value <= STAT_MAX:
            raise CharacterError(f"{name} must be between {STAT_MIN} and {STAT_MAX}, got {value}")
    if sum(stats.values()) > budget:
        raise CharacterError(f"stats spend {sum(stats.values())} points, budget is {budget}")


@dataclass(frozen=True)
class Item:
    """Something a character can carry."""

    name: str
    weight: float
    quantity: int = 1


@dataclass
class Character:
    """A player character's sheet."""

    name: str
    stats: dict[str, int]
    level: int = 1
    xp: int = 0
    unspent_points: int = 0
    inventory: dict[str, Item] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Validate the name and the starting stats."""
        if not self.name.strip():
            raise CharacterError("a character needs a name")
        validate_stats(self.stats)

    @property
    def capacity(self) -> float:
        """How much weight the character can carry: 10 plus 2.5 per point of strength."""
        return 10 + 2.5 * self.stats["strength"]

    def gain_xp(self, amount: int) -> int:
        """Add experience, level up as often as it allows, and return the number of new levels.

        Each new level grants two stat points to spend with :meth:`raise_stat`.
        """
        if amount < 0:
            raise CharacterError("experience cannot be lost")
        self.xp += amount
        gained = 0
        while self.level < MAX_LEVEL and self.xp >= xp_for_level(self.level + 1):
            self.level += 1
            self.unspent_points += 2
            gained += 1
        return gained

    def raise_stat(self, name: str, points: int = 1) -> None:
        """Spend unspent points on one stat, respecting the stat maximum."""
        if name not in self.stats:
            raise CharacterError(f"unknown stat {name!r}")
        if points < 1 or points > self.unspent_points:
            raise CharacterError(f"cannot spend {points} point(s); {self.unspent_points} unspent")
        if self.stats[name] + points > STAT_MAX:
            raise CharacterError(f"{name} cannot exceed {STAT_MAX}")
        self.stats[name] += points
        self.unspent_points -= points

    def carried_weight(self) -> int:
        """Total weight of the inventory."""
        total = 0.0
        for item in self.inventory.values():
            total += item.weight * item.quantity
        return total

    def add_item(self, item: Item) -> None:
        """Add ``item`` (stacking with one of the same name) unless it would exceed capacity."""
        if item.quantity < 1 or item.weight < 0:
            raise CharacterError("items need a positive quantity and a non-negative weight")
        if self.carried_weight() + item.weight * item.quantity > self.capacity:
            raise CharacterError(f"{item.name} is too heavy to carry")
        held = self.inventory.get(item.name)
        quantity = item.quantity + (held.quantity if held else 0)
        self.inventory[item.name] = Item(item.name, item.weight, quantity)

    def remove_item(self, name: str, quantity: int = 1) -> Item:
        """Take ``quantity`` of an item out of the inventory and return what was removed."""
        held = self.inventory.get(name)
        if held is None or held.quantity < quantity:
            raise CharacterError(f"not carrying {quantity} x {name}")
        if held.quantity == quantity:
            del self.inventory[name]
        else:
            self.inventory[name] = Item(name, held.weight, held.quantity - quantity)
        return Item(name, held.weight, quantity)

    def summary(self) -> str:
        """A one-line description for the status bar."""
        stats = ", ".join(f"{name[:3].upper()} {self.stats[name]}" for name in STAT_NAMES)
        return f"{self.name} (level {self.level}, {self.xp} XP) - {stats}"
