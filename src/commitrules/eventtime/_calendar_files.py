"""Calendar files: a jurisdiction's working-day calendar as data a pack owns.

A pack keeps one file per jurisdiction in its ``calendars/`` folder, named by the
jurisdiction's code (``calendars/CN.yaml``, ``calendars/GB-ENG.yaml``). Each lists years,
each with its status (``official`` with the notice it was published in, ``provisional``
with how it was derived), its days off and its make-up working days. The models here
validate a file; :func:`calendar_data` checks it across keys and turns it into
:class:`~commitrules.eventtime.CalendarData`, every problem with its place;
:func:`seed_year` drafts a new year from a calendar package for a person to correct.

>>> model = CalendarFileModel.model_validate({
...     "jurisdiction": "CN",
...     "years": [{"year": 2027, "status": "provisional", "derived": {"method": "statutory"},
...                "days_off": [{"date": "2027-01-01", "name": "New Year"}]}]})
>>> problems = []
>>> data = calendar_data(model, "CN", lambda keys: str(keys), problems)
>>> data.jurisdiction, data.years[0].describe(), problems
('CN', '2027 provisional (statutory)', [])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._calendars import CalendarData, CalendarYear, Derivation, OfficialSource

__all__ = [
    "WEEKDAYS",
    "CalendarDayModel",
    "CalendarFileModel",
    "CalendarYearModel",
    "calendar_data",
    "seed_year",
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Bilingual(_Spec):
    zh: Annotated[str, Field(min_length=1, max_length=4000)]
    en: Annotated[str, Field(min_length=1, max_length=4000)]


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


class CalendarDayModel(_Spec):
    """A listed day of a calendar year: ``{date: …}`` or a range ``{from: …, to: …}``."""

    date: dt.date | None = None
    from_: dt.date | None = Field(default=None, alias="from")
    to: dt.date | None = None
    name: Annotated[str, Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _one_day_or_a_range(self) -> CalendarDayModel:
        if self.date is not None:
            if self.from_ is not None or self.to is not None:
                msg = "a listed day has either 'date' or 'from' and 'to', not both"
                raise ValueError(msg)
        elif self.from_ is None or self.to is None:
            msg = "a listed day needs 'date', or 'from' and 'to'"
            raise ValueError(msg)
        elif self.to < self.from_ or (self.to - self.from_).days > 366:
            msg = "'to' must be on or after 'from', within a year"
            raise ValueError(msg)
        return self

    def days(self) -> list[dt.date]:
        """Every date this entry names."""
        if self.date is not None:
            return [self.date]
        assert self.from_ is not None
        assert self.to is not None
        count = (self.to - self.from_).days + 1
        return [self.from_ + dt.timedelta(days=n) for n in range(count)]


class CalendarSourceModel(_Spec):
    """Where an official year was published: issuer, document number, date and link."""

    issuer: Annotated[str, Field(min_length=2, max_length=300)]
    document: Annotated[str, Field(min_length=1, max_length=300)]
    date: dt.date
    link: Annotated[str, Field(min_length=4, max_length=2000)]
    title: Annotated[str, Field(max_length=500)] | None = None


class CalendarDerivationModel(_Spec):
    """How a provisional year was derived."""

    method: Literal["statutory", "package", "weekends_only", "other"]
    package: Annotated[str, Field(max_length=100)] | None = None
    package_version: Annotated[str, Field(max_length=50)] | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


class CalendarYearModel(_Spec):
    """One year of a calendar file."""

    year: int = Field(ge=1900, le=2200)
    status: Literal["official", "provisional"]
    source: CalendarSourceModel | None = None
    derived: CalendarDerivationModel | None = None
    days_off: list[CalendarDayModel] = Field(default_factory=list)
    working_days: list[CalendarDayModel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _status_has_its_source(self) -> CalendarYearModel:
        if self.status == "official" and self.source is None:
            msg = "an official year needs 'source' (issuer, document, date, link)"
            raise ValueError(msg)
        if self.status == "provisional" and self.derived is None:
            msg = "a provisional year needs 'derived' (method: statutory, package, ...)"
            raise ValueError(msg)
        return self


class CalendarFileModel(_Spec):
    """``calendars/<JURISDICTION>.yaml``: a jurisdiction's working-day calendar, year by year."""

    jurisdiction: Annotated[str, Field(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]
    name: _Bilingual | str | None = None
    weekend: list[Weekday] = Field(default_factory=lambda: list[Weekday](["saturday", "sunday"]))
    years: list[CalendarYearModel] = Field(default_factory=list)


Locate = Callable[[Sequence[str | int]], Any]


def calendar_data(
    model: CalendarFileModel,
    stem: str,
    locate: Locate,
    problems: list[Any],
    problem: Callable[[Any, str], Any] = lambda where, reason: (where, reason),
) -> CalendarData | None:
    """Check a validated calendar file across its keys; its data, or None.

    ``stem`` is the file's name without ``.yaml`` (it must be the jurisdiction);
    ``locate`` turns a key path into a place and ``problem`` a place and a reason into
    what is appended to ``problems``.
    """
    before = len(problems)
    if stem != model.jurisdiction:
        problems.append(
            problem(
                locate(("jurisdiction",)),
                f"the file is named {stem}.yaml but holds jurisdiction {model.jurisdiction!r}; "
                f"name it calendars/{model.jurisdiction}.yaml",
            )
        )
    if len(set(model.weekend)) == len(WEEKDAYS):
        problems.append(problem(locate(("weekend",)), "no day would ever be a working day"))
    years: list[CalendarYear] = []
    seen: set[int] = set()
    previous = 0
    for index, item in enumerate(model.years):
        where = ("years", index)
        if item.year in seen:
            problems.append(problem(locate((*where, "year")), f"year {item.year} twice"))
            continue
        if item.year < previous:
            problems.append(
                problem(locate((*where, "year")), "years must be listed in ascending order")
            )
        seen.add(item.year)
        previous = item.year
        listed: dict[str, dict[dt.date, str]] = {"days_off": {}, "working_days": {}}
        for key in ("days_off", "working_days"):
            for number, entry in enumerate(getattr(item, key)):
                for day in entry.days():
                    if day.year != item.year:
                        problems.append(
                            problem(
                                locate((*where, key, number)),
                                f"{day} is not in {item.year}",
                            )
                        )
                        continue
                    listed[key][day] = entry.name or ""
        both = sorted(listed["days_off"].keys() & listed["working_days"].keys())
        if both:
            problems.append(
                problem(
                    locate((*where, "working_days")),
                    f"{both[0]} is listed both as a day off and as a working day",
                )
            )
        source = item.source
        derived = item.derived
        names = {**listed["days_off"], **listed["working_days"]}
        years.append(
            CalendarYear(
                item.year,
                item.status,
                days_off=frozenset(day for day in listed["days_off"] if day not in both),
                working_days=frozenset(day for day in listed["working_days"] if day not in both),
                source=OfficialSource(
                    issuer=source.issuer,
                    document=source.document,
                    date=source.date,
                    link=source.link,
                    title=source.title,
                )
                if source is not None
                else None,
                derived=Derivation(
                    method=derived.method,
                    package=derived.package,
                    package_version=derived.package_version,
                    note=derived.note,
                )
                if derived is not None
                else None,
                names=tuple(sorted((day, name) for day, name in names.items() if name)),
            )
        )
    if len(problems) > before:
        return None
    name = model.name if isinstance(model.name, str) or model.name is None else model.name.en
    return CalendarData(
        jurisdiction=model.jurisdiction,
        years=tuple(sorted(years, key=lambda year: year.year)),
        weekend=frozenset(WEEKDAYS.index(day) for day in model.weekend),
        name=name,
    )


def seed_year(country: str, year: int, *, subdivision: str | None = None) -> str:
    """A draft year for a calendar file, from a calendar package, for a person to correct.

    Uses ``chinese_calendar`` for mainland China when it is installed and knows the year
    (it carries the State Council's make-up working days), otherwise the ``holidays``
    package (for years nobody has announced, its statutory projection, without make-up
    days). The draft is always ``provisional``: a person checks it against the official
    notice and only then marks it ``official`` with the notice as its source.

    >>> print(seed_year("CN", 2026).splitlines()[0])
      - year: 2026
    """
    import holidays  # noqa: PLC0415 - a dependency; imported where it is used

    from ._calendars import holidays_version  # noqa: PLC0415

    days_off: dict[dt.date, str] = {}
    working: dict[dt.date, str] = {}
    package, version = "holidays", str(holidays_version)
    drafted = False
    if country == "CN" and subdivision is None:
        drafted = _seed_from_chinese_calendar(year, days_off, working)
        if drafted:
            import chinese_calendar  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415

            package, version = "chinese-calendar", str(chinese_calendar.__version__)
    if not drafted:
        data = holidays.country_holidays(country, subdiv=subdivision, years=year)
        for day, name in sorted(data.items()):
            if day.year == year:
                days_off[day] = str(name)
        for day in sorted(getattr(data, "weekend_workdays", ())):
            if day.year == year and day not in days_off:
                working[day] = "make-up working day"
    lines = [
        f"  - year: {year}",
        "    status: provisional   # check every day against the official notice first",
        "    derived:",
        "      method: package",
        f"      package: {package}",
        f'      package_version: "{version}"',
        "      note: drafted by 'commitrules calendar seed'; not yet checked",
        "    days_off:" + ("" if days_off else " []"),
    ]
    lines += [
        f"      - {{date: {day.isoformat()}, name: {_quoted(n)}}}" for day, n in days_off.items()
    ]
    lines.append("    working_days:" + ("" if working else " []"))
    lines += [
        f"      - {{date: {day.isoformat()}, name: {_quoted(n)}}}" for day, n in working.items()
    ]
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _seed_from_chinese_calendar(
    year: int, days_off: dict[dt.date, str], working: dict[dt.date, str]
) -> bool:
    try:
        import chinese_calendar  # noqa: PLC0415 - optional, only for seeding
    except ImportError:
        return False
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    try:
        holidays_ = chinese_calendar.get_holiday_detail  # raises for a year it does not know
        day = first
        while day <= last:
            is_holiday, name = holidays_(day)
            if is_holiday and name is not None:
                days_off[day] = str(name)
            elif not is_holiday and day.weekday() >= 5:
                working[day] = str(name or "make-up working day")
            day += dt.timedelta(days=1)
    except (NotImplementedError, ValueError, KeyError):
        days_off.clear()
        working.clear()
        return False
    return True
