"""``fitted_attribute``: how the user's classes (``GRUForecaster``, ``OnnxForecaster``)
show the fields of their fitted state as scikit-learn's trailing-underscore attributes,
absent (``AttributeError``, so ``check_is_fitted`` works) until there is a state."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from ._state import FittedState

__all__ = ["absent_if_none", "fitted_attribute"]


Value = TypeVar("Value")


class fitted_attribute(Generic[Value]):  # lower case: used like `property`
    """A fitted attribute (``window_``, ``scaler_``, ...) read from the owner's state.

    ``fitted_attribute(get)`` on a class whose instances keep their ``FittedState`` in
    ``state_`` (``GRUForecaster``) or ``state`` (``OnnxForecaster``): reading it before
    fit raises ``AttributeError``, as for any attribute that is not there, so
    ``hasattr`` and scikit-learn's checks behave as with plain attributes. A getter
    that returns ``_ABSENT`` makes the attribute absent for that state.
    """

    def __init__(self, get: Callable[[FittedState], Value], doc: str | None = None) -> None:
        self.get = get
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Value:
        if instance is None:
            return self  # type: ignore[return-value]
        state = instance.__dict__.get("state_") or instance.__dict__.get("state")
        if state is None:
            raise AttributeError(
                f"{type(instance).__name__!r} object has no attribute {self.name!r} "
                "(it is set by fit)"
            )
        value = self.get(state)
        if value is _ABSENT:
            raise AttributeError(
                f"{type(instance).__name__!r} object has no attribute {self.name!r}"
            )
        return value


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()


def absent_if_none(value: Any) -> Any:
    """For a :class:`fitted_attribute` that does not exist when its value is None."""
    return _ABSENT if value is None else value
