"""Frozen, validated configuration dataclasses.

Every config in the package derives from ``ConfigBase``: values are checked in
``__post_init__`` (a ``ValueError`` names the field and the allowed range) and
``from_dict`` rejects unknown keys, listing the valid ones.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional, Type, TypeVar

T = TypeVar("T", bound="ConfigBase")


def check_range(name: str, value: float, low: Optional[float] = None, high: Optional[float] = None,
                low_inclusive: bool = True, high_inclusive: bool = True) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``low <= value <= high`` (bounds optional)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    ok = True
    if low is not None:
        ok &= value >= low if low_inclusive else value > low
    if high is not None:
        ok &= value <= high if high_inclusive else value < high
    if not ok or value != value:  # NaN fails every comparison
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        brackets = ("[" if low_inclusive else "(") + lo + ", " + hi + ("]" if high_inclusive else ")")
        raise ValueError(f"{name} must be in {brackets}, got {value!r}")


def check_int(name: str, value: Any, low: Optional[int] = None, high: Optional[int] = None) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is an integer (not a bool) in
    ``[low, high]`` (bounds optional)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    check_range(name, value, low, high)


def check_known_keys(cls, values: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` for keys that are not fields of dataclass ``cls``, listing the
    valid ones."""
    if not isinstance(values, Mapping):
        raise ValueError(f"{cls.__name__} expects a mapping, got {type(values).__name__}")
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(str(k) for k in set(values) - set(valid))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} key(s) {unknown}; valid keys: {sorted(valid)}")


def construct(cls, kwargs: Mapping[str, Any]):
    """``cls(**kwargs)``, turning a value of the wrong type (TypeError, OverflowError raised
    while validating it) into a ``ValueError`` naming the config class."""
    try:
        return cls(**kwargs)
    except (TypeError, OverflowError) as exc:
        raise ValueError(f"{cls.__name__}: a value has the wrong type or size ({exc}); "
                         f"fields: {sorted(f.name for f in dataclasses.fields(cls))}") from None


def _default_of(field: dataclasses.Field) -> Any:
    """A dataclass field's default value (built by its factory when it has one)."""
    factory = field.default_factory  # type: ignore[misc]
    return factory() if factory is not dataclasses.MISSING else field.default


@dataclasses.dataclass(frozen=True)
class ConfigBase:
    """Base for frozen configs; subclasses validate in ``__post_init__``."""

    @classmethod
    def field_names(cls) -> list:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def nested_config_fields(cls) -> list:
        """The fields that hold a nested config (set by dotted keys in ``with_overrides``)."""
        return [f.name for f in dataclasses.fields(cls) if isinstance(_default_of(f), ConfigBase)]

    @classmethod
    def from_dict(cls: Type[T], values: Mapping[str, Any]) -> T:
        """Build from a mapping; nested configs may be given as mappings too.

        Raises ``ValueError`` for an unknown key, listing the valid keys."""
        if not isinstance(values, Mapping):
            raise ValueError(f"{cls.__name__} expects a mapping, got {type(values).__name__}")
        valid = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(valid))
        if unknown:
            raise ValueError(f"unknown {cls.__name__} key(s) {unknown}; valid keys: {sorted(valid)}")
        kwargs = {}
        for key, value in values.items():
            sample = _default_of(valid[key])
            if isinstance(sample, ConfigBase) and isinstance(value, Mapping):
                value = type(sample).from_dict(value)
            kwargs[key] = value
        return construct(cls, kwargs)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self: T, **changes: Any) -> T:
        unknown = sorted(set(changes) - set(self.field_names()))
        if unknown:
            raise ValueError(f"unknown {type(self).__name__} key(s) {unknown}; "
                             f"valid keys: {sorted(self.field_names())}")
        return dataclasses.replace(self, **changes)

    def with_overrides(self: T, overrides: Mapping[str, Any]) -> T:
        """A copy with ``overrides`` applied; a dotted key sets a field of a nested config::

            TrackerConfig().with_overrides({"lost_horizon_s": 6, "motion.measurement_noise": 0.1})

        Raises ``ValueError`` naming the key for an unknown key (listing the valid ones, the
        nested configs as ``group.<field>``) and for a bad value."""
        if not isinstance(overrides, Mapping):
            raise ValueError(f"overrides must be a mapping of setting -> value, got {type(overrides).__name__}")
        nested_fields = self.nested_config_fields()
        plain: dict = {}
        nested: dict = {}
        for key, value in overrides.items():
            if not isinstance(key, str):
                raise ValueError(f"override keys must be text, got {key!r}")
            group, dot, rest = key.partition(".")
            if dot:
                if group not in nested_fields:
                    valid = [n for n in self.field_names() if n not in nested_fields]
                    raise ValueError(f"unknown {type(self).__name__} setting {key!r}; valid: {', '.join(valid)}, "
                                     + ", ".join(f"{n}.<field>" for n in nested_fields))
                nested.setdefault(group, {})[rest] = value
            else:
                plain[key] = value
        try:
            changed = self.replace(**plain) if plain else self
            for group, fields in nested.items():
                changed = dataclasses.replace(changed, **{group: getattr(changed, group).with_overrides(fields)})
        except (TypeError, OverflowError) as exc:
            raise ValueError(f"{type(self).__name__}: a value has the wrong type or size ({exc})") from None
        return changed
