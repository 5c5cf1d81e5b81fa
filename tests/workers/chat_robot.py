"""A stand-in for a WeCom / DingTalk group robot: a real HTTP server on 127.0.0.1."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ChatRobot:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    # What the robot answers: errcode 0 accepts the message.
    answer: dict[str, Any] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})


def start_chat_robot() -> tuple[ChatRobot, ThreadingHTTPServer]:
    robot = ChatRobot(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", "0"))
            robot.received.append(json.loads(self.rfile.read(length)))
            body = json.dumps(robot.answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    robot.url = f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=test"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return robot, server
