"""Rules and the test-only entity of the `sample_transfer` workflow (tests/engine/fixtures)."""
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage import Base
from workflow import Outcome, create_entity, effect, register_entity, update_entity


class SampleNote(Base):
    __tablename__ = "sample_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_org: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    secret: Mapped[str | None] = mapped_column(String(16))  # not a field effects may set
    version: Mapped[int] = mapped_column(Integer, default=0)


# the table is the tests' own: the schema the migrations make does not have it (each test creates it)
Base.metadata.remove(SampleNote.__table__)

register_entity("sample_note", SampleNote, key="id", fields=("case_org", "text", "status"), version="version")


@effect("sample_note_create")
def note_create(ctx):
    return Outcome(data={"note_made": True},
                   entities=[create_entity("sample_note", case_org=ctx.org.code, text=ctx.data.get("text", ""))])


@effect("sample_note_accept")
def note_accept(ctx):
    mode = ctx.data.get("mode", "fine")
    key = ctx.data["note"]
    if mode == "undeclared_entity":
        return Outcome(entities=[create_entity("other_thing", text="x")])
    if mode == "undeclared_field":
        return Outcome(entities=[update_entity("sample_note", key, secret="x")])
    return Outcome(entities=[update_entity("sample_note", key, status="accepted",
                                           text=f"accepted by {ctx.parties['receiving'].code}")])
