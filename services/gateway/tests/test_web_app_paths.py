"""Paths the web app's file lookup must refuse calmly: a null byte is a miss, never a server error."""

from __future__ import annotations

from pathlib import Path

from gateway_support import StartGateway


async def test_a_null_byte_in_a_path_is_a_missing_file_not_a_server_error(
    start_gateway: StartGateway, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>App</title>")
    async with start_gateway(web_dir=dist) as gw:
        asset = await gw.client.get("/assets/a%00.js")
        assert asset.status_code == 404
        route = await gw.client.get("/x%00y")
        assert route.status_code == 200
        assert "<title>App</title>" in route.text
