// A throwaway IMAP server for tests/integration/test_mail_in_imap.py: hoodiecrow-imap (an
// in-memory IMAP4rev1 server, nothing written to disk) with one user and an INBOX holding the
// test's messages. Usage: node imap_server.js <config.json>, where the file holds
// {"host", "port", "user", "password", "messages": [base64 of each raw message]}.
// It prints "listening <port>" once the port answers, and runs until it is killed.
"use strict";

const fs = require("fs");
const hoodiecrow = require("hoodiecrow-imap");

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const server = hoodiecrow({
  users: { [config.user]: { password: config.password } },
  storage: {
    INBOX: {
      // hoodiecrow keeps a message as a binary string (one char per byte) and writes it back
      // byte for byte, so non-ASCII bytes survive.
      messages: config.messages.map((b64) => ({
        raw: Buffer.from(b64, "base64").toString("binary"),
        flags: [],
      })),
    },
    "": {},
  },
});

server.listen(config.port, config.host, () => {
  process.stdout.write(`listening ${config.port}\n`);
});
