"""Academies, schools and school years: the frame every euro of credit lives in."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model


class Academy(Model):
    """A rectorat, by the ministry's code ("01" Paris … "70" Normandie)."""

    __tablename__ = "academy"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    email_domain: Mapped[str] = mapped_column(String(100))

    schools: Mapped[list[School]] = relationship(back_populates="academy")

    def __str__(self) -> str:
        elided = self.name[0] in "AEIOUÉ"
        return f"Académie d'{self.name}" if elided else f"Académie de {self.name}"


class School(Model):
    """A school (école, collège, lycée…) identified by its UAI."""

    __tablename__ = "school"

    id: Mapped[int] = mapped_column(primary_key=True)
    uai: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(100))
    academy_code: Mapped[str] = mapped_column(ForeignKey("academy.code"), index=True)

    academy: Mapped[Academy] = relationship(back_populates="schools")

    __table_args__ = (CheckConstraint("length(uai) = 8", name="uai_length"),)

    def __str__(self) -> str:
        return f"{self.name} ({self.uai})"


class SchoolYear(Model):
    """A school year, "2026-2027", from 1 September to 31 August. Credit belongs to one."""

    __tablename__ = "school_year"

    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("starts_on < ends_on", name="starts_before_end"),)

    def __str__(self) -> str:
        return self.code
