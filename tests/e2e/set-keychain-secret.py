#!/usr/bin/env python3
"""Overwrites a secret the app keeps in the keychain (the Secret Service on this D-Bus
session), as a token revoked in Zendesk's admin would leave it: still there, no longer
accepted. Usage: set-keychain-secret.py SERVICE USERNAME NEW_SECRET (the secret on stdin
if NEW_SECRET is "-"). Prints how many entries it changed."""
import sys

import dbus

service, username, secret = sys.argv[1:4]
if secret == "-":
    secret = sys.stdin.read()
bus = dbus.SessionBus()
secrets = dbus.Interface(bus.get_object("org.freedesktop.secrets", "/org/freedesktop/secrets"), "org.freedesktop.Secret.Service")
_, session = secrets.OpenSession("plain", dbus.String("", variant_level=1))
unlocked, locked = secrets.SearchItems({"service": service, "username": username})
if locked:
    sys.exit(f"{len(locked)} matching entries are locked")
for path in unlocked:
    item = dbus.Interface(bus.get_object("org.freedesktop.secrets", path), "org.freedesktop.Secret.Item")
    item.SetSecret(dbus.Struct((session, dbus.ByteArray(b""), dbus.ByteArray(secret.encode()), "text/plain"), signature="oayays"))
print(len(unlocked))
