#!/usr/bin/python3
"""Parses one raw RFC 5322 message from stdin with Python's `email` package (the way a mail
client would) and prints what the tests check, as JSON."""
import email
import email.policy
import json
import re
import sys

raw = sys.stdin.buffer.read()
message = email.message_from_bytes(raw, policy=email.policy.default)
parts = []
for part in message.walk():
    if part.is_multipart():
        continue
    parts.append({
        "content_type": part.get_content_type(),
        "charset": part.get_content_charset(),
        "transfer_encoding": part.get("Content-Transfer-Encoding", ""),
        "body": part.get_content(),
    })
lines = raw.split(b"\r\n")
print(json.dumps({
    "headers": [[name, str(value)] for name, value in message.items()],
    "content_type": message.get_content_type(),
    "parts": parts,
    "longest_line": max(len(line) for line in lines),
    "bare_line_feeds": len(re.findall(rb"(?<!\r)\n", raw)),
    "defects": [type(defect).__name__ for part in message.walk() for defect in part.defects],
}))
