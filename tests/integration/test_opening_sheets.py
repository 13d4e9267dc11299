"""Opening a round: every invitation carries the personal sheet openpyxl built before the round's skeleton
(the demo region opened twice with the same secret, once each way; the attachments compared byte for byte)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import zipfile
from pathlib import Path

from pydantic import SecretStr
from sqlmodel import select

from core.workbook_skeleton import SheetBuilder
from storage.database import session_scope
from storage.models import OutboundMessage
from usecases.context import AppContext
from usecases.cycle import open_cycle
from usecases.settings import Settings
from usecases.setup import init_database
from usecases.sheets import Builder, WholeByOpenpyxl, sheet_builder


def invitation_sheets(data_dir: Path, whole_by_openpyxl: bool) -> tuple[dict[str, dict[str, bytes]], Builder]:
    """Institution's sheet file name → its members, for every invitation of the demo's round 2026; the builder."""
    settings = Settings(data_dir=data_dir, base_url="https://fko.example.org",
                        secret_key=SecretStr("the same signatures both times"))
    ctx = AppContext.from_settings(settings)
    try:
        init_database(ctx, demo=True)
        builder: Builder = WholeByOpenpyxl(ctx.spec(), ctx.catalogs()) if whole_by_openpyxl else sheet_builder(ctx)
        opened = open_cycle(ctx, year=2026, deadline=dt.date(2026, 10, 15), today=dt.date(2026, 9, 1),
                            now=dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC), builder=builder)
        assert opened.invitations_queued > 15
        sheets: dict[str, dict[str, bytes]] = {}
        with session_scope(ctx.engine) as session:
            for message in session.exec(select(OutboundMessage).where(OutboundMessage.kind == "invitation")).all():
                parsed = email.message_from_bytes(ctx.files.get(message.body_sha256 or "", kind="mail"),
                                                  policy=email.policy.default)
                (attachment,) = parsed.iter_attachments()  # type: ignore[attr-defined]
                with zipfile.ZipFile(io.BytesIO(attachment.get_content())) as archive:
                    sheets[attachment.get_filename()] = {i.filename: archive.read(i) for i in archive.infolist()}
        return sheets, builder
    finally:
        ctx.close()


def test_every_invitation_carries_the_sheet_openpyxl_built(tmp_path: Path) -> None:
    before, _ = invitation_sheets(tmp_path / "openpyxl", whole_by_openpyxl=True)
    now, builder = invitation_sheets(tmp_path / "skeleton", whole_by_openpyxl=False)
    assert sorted(now) == sorted(before) and len(now) > 15
    assert isinstance(builder, SheetBuilder)
    # Built whole only where a new shape of sheet came up (with or without dates); the rest from skeletons.
    assert builder.built_by_openpyxl <= 3
    for name, members in now.items():
        assert list(members) == list(before[name])
        different = [m for m in members if members[m] != before[name][m] and m != "docProps/core.xml"]
        assert different == [], name
